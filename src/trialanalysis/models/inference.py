"""t and F inference for fixed effects with a chosen degrees-of-freedom method.

Methods (``df_method``):

``satterthwaite``
    lmerTest's Satterthwaite approximation (default).
``kenward-roger``
    pbkrtest's Kenward–Roger approximation, with the adjusted covariance
    matrix used for standard errors, t and F statistics.
``between-within``
    nlme's inner–outer rule (Pinheiro & Bates 2000, §2.4.2), the multi-level
    form of SAS ``DDFM=BETWITHIN``: a coefficient is estimated in the
    innermost stratum within which its column varies; nested grouping
    factors only. For a contrast of several coefficients the smallest of
    their df is used.
``residual``
    ``n − rank(X)`` (SAS ``DDFM=RESIDUAL``).
``z``
    Asymptotic normal reference (infinite df): anti-conservative with few
    clusters; labelled as such in every table.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import patsy
import scipy.stats

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.design import combined_labels
from trialanalysis.models.formula import is_nested
from trialanalysis.models.formula_syntax import SAFE_ENV

DF_METHODS = ("satterthwaite", "kenward-roger", "between-within", "residual", "z")


def check_df_method(df_method: str) -> str:
    """Validate a df method name; return it in canonical form."""
    canonical = str(df_method).lower().replace("_", "-").replace(" ", "-")
    canonical = {"kr": "kenward-roger", "asymptotic": "z", "bw": "between-within"}.get(
        canonical, canonical
    )
    if canonical not in DF_METHODS:
        raise ModelSpecificationError(
            f"df_method {df_method!r} is not one of {', '.join(DF_METHODS)}"
        )
    return canonical


def t_table(
    labels: list[str],
    estimates: np.ndarray,
    std_errors: np.ndarray,
    dfs: np.ndarray,
    df_method: str,
    level: float = 0.95,
    label_column: str = "term",
) -> pd.DataFrame:
    """Tidy table of Wald t (or z) statistics with p-values and confidence intervals."""
    estimates, std_errors, dfs = (np.asarray(a, dtype=float) for a in (estimates, std_errors, dfs))
    statistic = estimates / std_errors
    if df_method == "z":
        p_value = 2 * scipy.stats.norm.sf(np.abs(statistic))
        crit = scipy.stats.norm.ppf(0.5 + level / 2) * np.ones_like(estimates)
    else:
        p_value = 2 * scipy.stats.t.sf(np.abs(statistic), dfs)
        crit = scipy.stats.t.ppf(0.5 + level / 2, dfs)
    return pd.DataFrame(
        {
            label_column: labels,
            "estimate": estimates,
            "std_error": std_errors,
            "df": dfs,
            "statistic": statistic,
            "p_value": p_value,
            "conf_low": estimates - crit * std_errors,
            "conf_high": estimates + crit * std_errors,
            "df_method": "z (asymptotic)" if df_method == "z" else df_method,
        }
    )


def between_within_df(model) -> tuple[np.ndarray, dict[str, float]]:
    """Nlme's denominator df for each fixed-effect column and each term.

    Returns
    -------
    column_df : array
        One value per column of X.
    term_df : dict
        Denominator df per model term (patsy term name).
    """
    groups = list(dict.fromkeys(block.term.group for block in model.blocks))
    levels = {g: combined_labels(model.frame, list(g)) for g in groups}
    groups.sort(key=lambda g: levels[g].nunique())
    for outer, inner in itertools.pairwise(groups):
        if not is_nested(model.frame, inner, outer):
            raise ModelSpecificationError(
                "between-within df need nested grouping factors, but "
                f"{':'.join(inner)!r} is not nested in {':'.join(outer)!r}; "
                "use df_method='satterthwaite' or 'kenward-roger'"
            )
    X, n = model.X, model.X.shape[0]
    counts = [levels[g].nunique() for g in groups]
    strata_df = np.array([*counts, n], dtype=float) - np.array([0, *counts], dtype=float)
    is_constant = np.array([np.all(X[:, j] == X[0, j]) for j in range(X.shape[1])])
    stratum = np.zeros(X.shape[1], dtype=int)
    for j in np.flatnonzero(~is_constant):
        column = pd.Series(X[:, j])
        stratum[j] = 0
        for k, g in enumerate(groups):
            varies = column.groupby(levels[g].to_numpy()).nunique() > 1
            if varies.any():
                stratum[j] = k + 1
    column_strata = strata_df.copy()
    term_strata = strata_df.copy()
    for j in np.flatnonzero(~is_constant):
        column_strata[stratum[j]] -= 1
    term_stratum = {}
    for name, cols in model.term_columns.items():
        if all(is_constant[c] for c in cols):
            continue
        term_stratum[name] = max(stratum[c] for c in cols if not is_constant[c])
        term_strata[term_stratum[name]] -= len(cols)
    if is_constant.any():
        column_strata[0] -= 1
        term_strata[0] -= 1
    else:
        column_strata[1:] += 1
        term_strata[1:] += 1
    column_df = np.where(is_constant, column_strata.max(), column_strata[stratum])
    term_df = {
        name: float(term_strata[term_stratum[name]]) if name in term_stratum else term_strata.max()
        for name in model.term_columns
    }
    return column_df.astype(float), term_df


def type3_hypotheses(model) -> dict[str, np.ndarray]:
    """Type III hypothesis matrices per model term, as ``lmerTest::anova``.

    For a term not contained in another term this is the joint test of its
    coefficients. A term contained in a higher-order term (e.g. ``arm`` in
    ``arm:time``) gets lmerTest's contrasts for treatment coding: the
    regression of the full dummy coding of each term on X, with the columns
    of contained terms orthogonalised against those of the terms containing
    them. The intercept is not tested.
    """
    design = model.fixed_design
    terms = {t.name(): t for t in design.terms}
    tested = [name for name in model.term_columns if name != "Intercept"]
    p = model.X.shape[1]
    marginal = {name: np.eye(p)[model.term_columns[name]] for name in tested}
    contained = {name: _containing_terms(name, terms, design) for name in tested}
    if len(tested) <= 1 or not any(contained.values()):
        return marginal
    full, rows = _full_dummy_coding(model, tested, terms)
    L = (np.linalg.pinv(model.X) @ full).T
    L[np.abs(L) < 1e-10] = 0.0
    for name in sorted(tested, key=lambda n: -len(terms[n].factors)):
        if contained[name]:
            cols = model.term_columns[name]
            others = [c for t in contained[name] for c in model.term_columns[t]]
            basis = L[:, others]
            coef, *_ = np.linalg.lstsq(basis, L[:, cols], rcond=None)
            L[:, cols] = L[:, cols] - basis @ coef
            L[np.abs(L) < 1e-10] = 0.0
    position = {row: i for i, row in enumerate(rows)}
    keys = ["Intercept" if n == "Intercept" else n.replace("[T.", "[") for n in model.fixed_names]
    if not all(k in position for k in keys):
        return marginal
    square = L[[position[k] for k in keys]]
    hypotheses = {}
    for name in tested:
        h = square[:, model.term_columns[name]].T
        hypotheses[name] = h[np.abs(h).sum(axis=1) > 1e-8]
    return hypotheses


def _containing_terms(name: str, terms: dict, design: patsy.DesignInfo) -> list[str]:
    """Terms whose variables strictly include those of ``name`` with the same numerics."""
    factors = set(terms[name].factors)

    def numeric(fs):
        return {f for f in fs if design.factor_infos[f].type == "numerical"}

    return [
        other
        for other, term in terms.items()
        if other != name
        and factors < set(term.factors)
        and numeric(factors) == numeric(set(term.factors))
    ]


def _full_dummy_coding(model, tested: list[str], terms: dict) -> tuple[np.ndarray, list[str]]:
    blocks, names = [np.ones((model.X.shape[0], 1))], ["Intercept"]
    for name in tested:
        frame = patsy.dmatrix(
            f"0 + {name}", model.frame, return_type="dataframe", eval_env=SAFE_ENV
        )
        blocks.append(np.asarray(frame, dtype=float))
        names.extend(str(c) for c in frame.columns)
    return np.column_stack(blocks), names


def cluster_level_df(model, cluster: str, cell: Sequence[str] = ()) -> tuple[float, int, int]:
    """Cluster-level df ``K − p_c`` of a cluster design.

    ``K`` is the number of clusters (levels of ``cluster`` among the rows
    used) and ``p_c`` the number of fixed-effect columns that are constant
    within every cluster-``cell`` combination (for a stepped design with
    ``cell=("period",)``: the intercept, the period effects and the
    treatment, but not individual-level covariates such as a baseline
    value). This is the df of a cluster-level (two-stage) analysis and of a
    GEE with t on ``K − p`` (Donner & Klar 2000; Leyrat et al. 2018), applied
    to a mixed model's treatment effect.

    Parameters
    ----------
    model : ModelData
        The fitted model's data (``fit.model``).
    cluster : str
        Column of the clusters.
    cell : sequence of str
        Further columns that, with ``cluster``, define the cells within which
        cluster-level columns are constant.

    Returns
    -------
    (df, K, p_c)

    Raises
    ------
    ModelSpecificationError
        When ``K − p_c < 1``.
    """
    frame = model.frame
    keys = combined_labels(frame, [cluster, *cell]).to_numpy()
    X = pd.DataFrame(model.X)
    constant = X.groupby(keys).nunique().le(1).all(axis=0)
    n_clusters = int(frame[cluster].nunique())
    p_cluster = int(constant.sum())
    df = n_clusters - p_cluster
    if df < 1:
        raise ModelSpecificationError(
            f"cluster-level df K - p = {n_clusters} - {p_cluster} < 1: too few {cluster} "
            "levels for the cluster-level terms of the model"
        )
    return float(df), n_clusters, p_cluster


def cluster_level_t(fit, term: str, cluster: str, cell: Sequence[str] = ()) -> dict:
    """Test a fixed effect of a mixed model on cluster-level df ``K − p_c``.

    The estimate and its unadjusted (model-based) standard error with t on
    :func:`cluster_level_df` df, as a GEE with t on ``K − p`` or a two-stage
    cluster-level analysis would use.

    Returns
    -------
    dict
        ``estimate, std_error, df, statistic, p_value, conf_low, conf_high,
        df_method`` (``"cluster-level"``), ``n_clusters``, ``p_cluster``.
    """
    df, n_clusters, p_cluster = cluster_level_df(fit.model, cluster, cell)
    row = fit.coefficients_for("satterthwaite").set_index("term").loc[term]
    table = t_table(
        [term], [row["estimate"]], [row["std_error"]], [df], "cluster-level", fit.level
    )
    result = table.iloc[0].drop("term").to_dict()
    result.update({"n_clusters": n_clusters, "p_cluster": p_cluster})
    return result
