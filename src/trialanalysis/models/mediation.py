"""Mediation analysis with bias-corrected bootstrap confidence intervals.

Regression-based (product of coefficients) mediation with parallel
mediators, as in Hayes' PROCESS model 4, optionally with the exposure ->
mediator paths moderated by a variable W (model 7):

- mediator k:  M_k = i_k + a_k X (+ a3_k X W + a2_k W) + covariates
- outcome:     Y = i_y + c' X + sum_k b_k M_k + covariates
- indirect effect through M_k: a_k b_k (at W = w: (a_k + a3_k w) b_k)
- total effect: c' + sum_k a_k b_k (equal to the coefficient of X in the
  regression of Y on X and the covariates, in the same sample).

Confidence intervals come from a nonparametric bootstrap of individuals
(seeded) with bias correction (Efron 1982). The causal reading assumes no
unmeasured exposure-mediator, exposure-outcome or mediator-outcome
confounding and no mediator-outcome confounder affected by the exposure;
randomisation guarantees only the first two.

References
----------
Hayes AF. Introduction to Mediation, Moderation, and Conditional Process
Analysis. 3rd ed. Guilford; 2022.
Efron B. The Jackknife, the Bootstrap and Other Resampling Plans. SIAM; 1982.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from trialanalysis.errors import ModelSpecificationError

ASSUMPTIONS = (
    "Indirect effects are causal only if there is no unmeasured confounding of the "
    "mediator-outcome relation (randomisation protects only the exposure paths) and no "
    "mediator-outcome confounder is itself affected by the exposure; mediator and outcome "
    "changes measured over the same interval cannot establish temporal order."
)


@dataclass
class MediationResult:
    """Effects and paths of a mediation analysis.

    Attributes
    ----------
    effects : DataFrame
        ``effect, mediator, moderator_value, estimate, boot_se, conf_low,
        conf_high, n`` for the total, direct, indirect (per mediator and
        summed) and, with a moderator, conditional indirect effects and the
        index of moderated mediation.
    paths : DataFrame
        The regression coefficients of every equation (``equation, term,
        estimate, std_error, df, statistic, p_value, conf_low, conf_high``),
        with ordinary least-squares inference.
    n_boot : int
        Bootstrap resamples used.
    assumptions : str
        The identifying assumptions, for the report.
    """

    effects: pd.DataFrame
    paths: pd.DataFrame
    n_boot: int
    assumptions: str = ASSUMPTIONS


def _ols(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


@dataclass
class _Arrays:
    """The variables of a mediation model as arrays (rows = individuals)."""

    x: np.ndarray  # (n, 1) exposure
    m: np.ndarray  # (n, k) mediators
    y: np.ndarray  # (n,) outcome
    c: np.ndarray  # (n, q) covariates
    w: np.ndarray | None  # (n, 1) moderator

    def take(self, rows: np.ndarray) -> _Arrays:
        w = None if self.w is None else self.w[rows]
        return _Arrays(self.x[rows], self.m[rows], self.y[rows], self.c[rows], w)

    def designs(self) -> tuple[np.ndarray, np.ndarray]:
        ones = np.ones_like(self.x)
        if self.w is None:
            mediator = np.hstack([ones, self.x, self.c])
        else:
            mediator = np.hstack([ones, self.x, self.w, self.x * self.w, self.c])
        return mediator, np.hstack([ones, self.x, self.m, self.c])


def _point(arrays: _Arrays, values: Sequence[float]) -> np.ndarray:
    """Return the effects of one (re)sample as a flat vector (order of ``_labels``)."""
    mediator_design, outcome_design = arrays.designs()
    a = _ols(arrays.m, mediator_design)  # (p, k)
    beta = _ols(arrays.y, outcome_design)
    k = arrays.m.shape[1]
    direct, b = beta[1], beta[2 : 2 + k]
    if arrays.w is None:
        indirect = a[1] * b
        return np.concatenate([[direct + indirect.sum(), direct], indirect, [indirect.sum()]])
    out = [direct]
    for w in values:
        conditional = (a[1] + a[3] * w) * b
        out += [*conditional, conditional.sum()]
    return np.concatenate([out, a[3] * b])


def _labels(mediators, moderator, values):
    if moderator is None:
        rows = [("total", "", np.nan), ("direct", "", np.nan)]
        rows += [("indirect", m, np.nan) for m in mediators] + [("indirect", "(sum)", np.nan)]
        return rows
    rows = [("direct", "", np.nan)]
    for w in values:
        rows += [("conditional_indirect", m, w) for m in mediators]
        rows.append(("conditional_indirect", "(sum)", w))
    return rows + [("index_of_moderated_mediation", m, np.nan) for m in mediators]


def bias_corrected_interval(estimate: float, draws: np.ndarray, level: float = 0.95):
    """Bias-corrected percentile bootstrap interval.

    Parameters
    ----------
    estimate : float
        The estimate from the original sample.
    draws : ndarray
        Bootstrap replicates.
    level : float
        Confidence level.

    Returns
    -------
    (float, float)
        Lower and upper limits: the quantiles ``Phi(2 z0 -+ z)`` of the
        replicates, where ``z0 = Phi^-1(share of replicates below the
        estimate)`` (ties count half).
    """
    draws = np.asarray(draws, float)
    draws = draws[np.isfinite(draws)]
    share = (np.sum(draws < estimate) + 0.5 * np.sum(draws == estimate)) / len(draws)
    share = np.clip(share, 1 / (2 * len(draws)), 1 - 1 / (2 * len(draws)))
    z0 = stats.norm.ppf(share)
    z = stats.norm.ppf(0.5 + level / 2)
    lower, upper = stats.norm.cdf(2 * z0 - z), stats.norm.cdf(2 * z0 + z)
    return float(np.quantile(draws, lower)), float(np.quantile(draws, upper))


def _path_table(arrays: _Arrays, names: dict, level: float) -> pd.DataFrame:
    import statsmodels.api as sm

    mediator_design, outcome_design = arrays.designs()
    moderated = [names["moderator"], f"{names['exposure']}:{names['moderator']}"]
    mediator_terms = ["Intercept", names["exposure"]]
    mediator_terms += (moderated if arrays.w is not None else []) + names["covariates"]
    outcome_terms = ["Intercept", names["exposure"], *names["mediators"], *names["covariates"]]
    equations = [
        (m, arrays.m[:, j], mediator_design, mediator_terms)
        for j, m in enumerate(names["mediators"])
    ]
    equations.append((names["outcome"], arrays.y, outcome_design, outcome_terms))
    tables = []
    for equation, y, x, terms in equations:
        fit = sm.OLS(y, x).fit()
        ci = fit.conf_int(1 - level)
        tables.append(
            pd.DataFrame(
                {
                    "equation": equation,
                    "term": terms,
                    "estimate": fit.params,
                    "std_error": fit.bse,
                    "df": fit.df_resid,
                    "statistic": fit.tvalues,
                    "p_value": fit.pvalues,
                    "conf_low": ci[:, 0],
                    "conf_high": ci[:, 1],
                }
            )
        )
    return pd.concat(tables, ignore_index=True)


def mediation_analysis(
    data: pd.DataFrame,
    exposure: str,
    mediators: Sequence[str],
    outcome: str,
    *,
    covariates: Sequence[str] = (),
    moderator: str | None = None,
    moderator_values: Sequence[float] | None = None,
    n_boot: int = 5000,
    seed: int = 0,
    level: float = 0.95,
) -> MediationResult:
    """Estimate direct and indirect effects with bias-corrected bootstrap CIs.

    Parameters
    ----------
    data : DataFrame
        One row per individual; rows with a missing value in any variable
        used are dropped (complete cases; the count is in ``effects.n``).
    exposure : str
        Numeric 0/1 (or continuous) exposure, e.g. randomised arm.
    mediators : sequence of str
        One or more parallel mediators (e.g. change in self-efficacy).
    outcome : str
        The outcome (e.g. change in ODI).
    covariates : sequence of str
        Numeric covariates in every equation (e.g. baseline values).
    moderator : str, optional
        Moderator W of the exposure -> mediator paths (PROCESS model 7).
    moderator_values : sequence of float, optional
        Values of W at which conditional indirect effects are given
        (default: mean - SD, mean, mean + SD).
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap.
    level : float
        Confidence level.

    Returns
    -------
    MediationResult
    """
    mediators = list(mediators)
    variables = [exposure, *mediators, outcome, *covariates] + ([moderator] if moderator else [])
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise ModelSpecificationError(f"mediation: columns not in the data: {missing}")
    if not mediators:
        raise ModelSpecificationError("mediation: give at least one mediator")
    if n_boot < 100:
        raise ModelSpecificationError("mediation: use at least 100 bootstrap resamples")
    frame = data[variables].apply(pd.to_numeric, errors="coerce").dropna().reset_index(drop=True)
    if len(frame) < len(variables) + 3:
        raise ModelSpecificationError(f"mediation: only {len(frame)} complete cases")
    values: list[float] = []
    if moderator is not None:
        if moderator_values is None:
            mean, sd = frame[moderator].mean(), frame[moderator].std()
            values = [mean - sd, mean, mean + sd]
        else:
            values = [float(v) for v in moderator_values]
    arrays = _Arrays(
        x=frame[[exposure]].to_numpy(float),
        m=frame[mediators].to_numpy(float),
        y=frame[outcome].to_numpy(float),
        c=frame[list(covariates)].to_numpy(float).reshape(len(frame), len(covariates)),
        w=None if moderator is None else frame[[moderator]].to_numpy(float),
    )
    estimate = _point(arrays, values)
    rng = np.random.default_rng(seed)
    n = len(frame)
    draws = np.empty((n_boot, len(estimate)))
    for r in range(n_boot):
        draws[r] = _point(arrays.take(rng.integers(0, n, n)), values)
    rows = []
    for j, (effect, mediator, w) in enumerate(_labels(mediators, moderator, values)):
        low, high = bias_corrected_interval(estimate[j], draws[:, j], level)
        rows.append(
            {
                "effect": effect,
                "mediator": mediator,
                "moderator_value": w,
                "estimate": estimate[j],
                "boot_se": float(np.std(draws[:, j], ddof=1)),
                "conf_low": low,
                "conf_high": high,
                "n": n,
            }
        )
    names = {
        "exposure": exposure,
        "mediators": mediators,
        "outcome": outcome,
        "covariates": list(covariates),
        "moderator": moderator,
    }
    paths = _path_table(arrays, names, level)
    return MediationResult(pd.DataFrame(rows), paths, n_boot)
