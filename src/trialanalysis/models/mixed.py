"""Fit a linear mixed model and report it: :func:`fit_mixed` and its result."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.stats

from trialanalysis.errors import ModelFitError, ModelSpecificationError
from trialanalysis.models import inference
from trialanalysis.models.covariance import split_covariance_term
from trialanalysis.models.criterion import Criterion, single_threaded
from trialanalysis.models.design import ModelData, build_model_data
from trialanalysis.models.fitting import BOUNDARY_TOL, optimise
from trialanalysis.models.formula import parse_formula
from trialanalysis.models.kenward_roger import KenwardRoger, f_p_value
from trialanalysis.models.satterthwaite import Satterthwaite
from trialanalysis.models.variance import check_variance_ci


class MixedModelConvergenceWarning(UserWarning):
    """The optimiser did not meet the convergence criteria (see diagnostics)."""


def fit_mixed(
    data: pd.DataFrame,
    formula: str,
    df_method: str = "satterthwaite",
    reml: bool = True,
    level: float = 0.95,
    variance_ci: str = "profile",
    protected: tuple[str, ...] = ("treatment",),
    weights: str | None = None,
) -> MixedModelResult:
    """Fit a linear mixed model written in lme4 syntax.

    Parameters
    ----------
    data : DataFrame
        Long-format data. Rows missing any variable of the model are dropped
        and counted in ``diagnostics``.
    formula : str
        lme4 formula, e.g. ``"odi_total ~ period + treatment + odi_baseline +
        (1 | clinic_id) + (1 | clinic_id:patient_id)"``. String columns are
        factors (treatment coding, first level in sorted order as reference);
        ``C(x)`` or ``factor(x)`` makes a numeric column a factor. Coefficients
        are named as patsy names them: ``Intercept``, ``treatment``,
        ``period[T.p2]``, ``C(period)[T.2]``. A residual covariance term
        written as R's mmrm writes it, ``us(visit | id)`` (or ``cs``, ``csh``,
        ``ar1``, ``ar1h``, ``toep``, ``toeph``), in place of random-effect
        terms makes the model an MMRM (:mod:`.mmrm`).
    df_method : {"satterthwaite", "kenward-roger", "between-within", "residual", "z"}
        Degrees of freedom for t and F tests and confidence intervals.
    reml : bool
        REML (default) or maximum likelihood.
    level : float
        Confidence level of intervals.
    variance_ci : {"profile", "wald", "none"}
        Intervals of :attr:`MixedModelResult.variance_components`: REML (or,
        for ML fits, ML) profile-likelihood intervals (default), Wald
        intervals, or none. They are computed on first use only.
    protected : tuple of str
        Variables whose fixed-effect columns must not be dropped for
        collinearity (default the ``treatment`` column): the model is
        refused instead. Other collinear columns are dropped, as lme4 does,
        and named in ``diagnostics["dropped_columns"]`` and its notes.
    weights : str, optional
        Column of prior weights: observation ``i`` has residual variance
        ``σ²/w_i``, as ``lme4::lmer(weights = )``. Kenward–Roger is not
        available with weights.

    Returns
    -------
    MixedModelResult

    Raises
    ------
    ModelSpecificationError
        If the formula or data cannot give an identifiable model.
    ModelFitError
        If no optimiser could evaluate the likelihood.

    Notes
    -----
    The criterion, fixed effects and their covariance ``(X'V⁻¹X)⁻¹`` are
    computed as in lme4 (Bates et al. 2015); see :mod:`.criterion` and
    :mod:`.fitting`. Results agree with lme4/lmerTest/pbkrtest/emmeans to
    about 1e-6 on the designs in ``tests/models/golden``.

    Examples
    --------
    >>> fit = fit_mixed(df, "y ~ treatment + (1 | clinic_id)")  # doctest: +SKIP
    >>> fit.coefficients  # doctest: +SKIP
    """
    df_method = inference.check_df_method(df_method)
    check_variance_ci(variance_ci)
    if not 0 < level < 1:
        raise ModelSpecificationError(f"level must be between 0 and 1, got {level}")
    if df_method == "kenward-roger" and weights is not None:
        raise ModelSpecificationError(
            "Kenward-Roger is not available with prior weights; use satterthwaite"
        )
    if df_method == "kenward-roger" and not reml:
        raise ModelSpecificationError(
            "Kenward-Roger is defined for REML fits; use reml=True or another df_method"
        )
    fixed_formula, covariance = split_covariance_term(formula)
    if covariance is not None:
        from trialanalysis.models.mmrm import check_mmrm_df_method, fit_mmrm

        method = check_mmrm_df_method(df_method)
        return fit_mmrm(data, fixed_formula, covariance, method, reml, level)
    parsed = parse_formula(formula)
    model = build_model_data(parsed, data, tuple(protected), weights)
    criterion = Criterion(model, reml=reml)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = single_threaded(optimise)(criterion)
    if not np.isfinite(record.deviance):
        raise ModelFitError(
            f"no optimiser could evaluate the likelihood of {formula!r}; check the data "
            "(e.g. constant response, extreme values) and simplify the random part"
        )
    result = MixedModelResult(model, criterion, record, df_method, level, len(data))
    result.variance_ci = variance_ci
    result.diagnostics["warnings"].extend(str(w.message) for w in caught)
    if not record.converged:
        warnings.warn(
            f"mixed model {formula!r} did not meet the convergence criteria; "
            "see .diagnostics before using the estimates",
            MixedModelConvergenceWarning,
            stacklevel=2,
        )
    return result


class MixedModelResult:
    """A fitted linear mixed model.

    Attributes
    ----------
    coefficients : DataFrame
        ``term, estimate, std_error, df, statistic, p_value, conf_low,
        conf_high, df_method`` for every fixed effect.
    diagnostics : dict
        Convergence, optimiser, boundary/singular fit, rows used and dropped,
        group counts, captured warnings and notes.
    """

    variance_ci = "profile"

    def __init__(self, model: ModelData, criterion: Criterion, record, df_method, level, n_rows):
        self.model = model
        self.criterion = criterion
        self.theta = record.theta
        self.reml = criterion.reml
        self.df_method = df_method
        self.level = level
        self.deviance = record.deviance
        self.sigma = criterion.sigma(self.theta)
        evaluation = criterion.evaluate(self.theta)
        self.beta = evaluation.beta
        self.vcov = criterion.vcov_beta(np.r_[self.theta, self.sigma])
        self.fixed_names = list(model.fixed_names)
        self.diagnostics = self._diagnostics(record, n_rows)

    # ------------------------------------------------------------ diagnostics
    def _diagnostics(self, record, n_rows: int) -> dict:
        boundary_terms, singular_terms, zero_terms, dependent_terms = [], [], [], []
        for block in self.model.blocks:
            for k, (r, c) in enumerate(block.lower_triangle()):
                value = self.theta[block.theta_offset + k]
                if r == c and value < BOUNDARY_TOL:
                    name = f"{block.column_names[r]} | {block.term.group_label}"
                    singular_terms.append(name)
                    # A zero diagonal entry of the Cholesky factor below its
                    # first row is a rank-deficient covariance, not a zero variance.
                    if value == 0.0:
                        boundary_terms.append(name)
                        (dependent_terms if r > 0 else zero_terms).append(name)
        notes = []
        if self.model.dropped_columns:
            notes.append(
                "fixed-effect model matrix is rank deficient: dropped "
                + ", ".join(self.model.dropped_columns)
                + " (linear combinations of earlier columns), as lme4 does"
            )
        if zero_terms:
            notes.append(
                "variance of " + ", ".join(zero_terms) + " estimated at the boundary (0): "
                "the fixed effects equal those of the model without that random effect, "
                "as in lme4's singular fits"
            )
        if dependent_terms:
            notes.append(
                "the random-effect covariance is singular for "
                + ", ".join(dependent_terms)
                + ": that effect is a linear combination of the terms before it in its group "
                "(a correlation of ±1 between two terms), as in lme4's singular fits"
            )
        return {
            "converged": bool(record.converged),
            "optimizer": record.optimizer,
            "optimizer_attempts": record.attempts,
            "reml": self.reml,
            "deviance": float(record.deviance),
            "scaled_gradient": float(record.scaled_gradient),
            "boundary": bool(boundary_terms),
            "singular": bool(singular_terms),
            "boundary_terms": boundary_terms,
            "dropped_columns": list(self.model.dropped_columns),
            "n_rows": int(n_rows),
            "n_used": len(self.model.y),
            "n_dropped": int(self.model.n_dropped),
            "missing_by_column": dict(self.model.missing_by_column),
            "groups": {b.term.group_label: b.n_levels for b in self.model.blocks},
            "warnings": list(record.messages),
            "notes": notes,
        }

    def diagnostics_table(self) -> pd.DataFrame:
        """Diagnostics as a two-column table (``item, value``) for writing to CSV."""
        rows = []
        for key, value in self.diagnostics.items():
            if key == "optimizer_attempts":
                value = "; ".join(
                    f"{a['optimizer']}: deviance {a['deviance']:.10g}, converged {a['converged']}"
                    for a in value
                )
            elif isinstance(value, Mapping):
                value = "; ".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, list):
                value = " | ".join(map(str, value))
            rows.append({"item": key, "value": str(value)})
        return pd.DataFrame(rows)

    # -------------------------------------------------------------- inference
    @cached_property
    def _satterthwaite(self) -> Satterthwaite:
        engine = single_threaded(Satterthwaite)(self.criterion, self.theta, self.sigma)
        self.diagnostics["warnings"].extend(engine.warnings)
        return engine

    @cached_property
    def _kenward_roger(self) -> KenwardRoger:
        if self.model.weights is not None:
            raise ModelSpecificationError(
                "Kenward-Roger is not available with prior weights; use satterthwaite"
            )
        return single_threaded(KenwardRoger)(self.criterion, self.theta, self.sigma)

    @cached_property
    def _between_within(self) -> tuple[np.ndarray, dict]:
        return inference.between_within_df(self.model)

    def vcov_for(self, df_method: str | None = None) -> np.ndarray:
        """Covariance matrix of β̂ used by a df method (KR: the adjusted one)."""
        method = inference.check_df_method(df_method or self.df_method)
        return self._kenward_roger.vcov_adjusted if method == "kenward-roger" else self.vcov

    def _df(self, rows: np.ndarray, method: str) -> np.ndarray:
        if method == "satterthwaite":
            return np.array([self._satterthwaite.df(r) for r in rows])
        if method == "kenward-roger":
            return np.array([self._kenward_roger.df(r) for r in rows])
        if method == "between-within":
            column_df = self._between_within[0]
            return np.array([column_df[np.abs(r) > 0].min() for r in rows])
        if method == "residual":
            return np.full(len(rows), float(self.model.X.shape[0] - self.model.X.shape[1]))
        return np.full(len(rows), np.inf)

    def _contrast_rows(self, L) -> tuple[list[str], np.ndarray]:
        p = len(self.beta)
        if isinstance(L, Mapping):
            labels, rows = [], []
            for label, weights in L.items():
                labels.append(str(label))
                rows.append(self._weights(weights, str(label)))
            return labels, np.array(rows)
        if isinstance(L, pd.DataFrame):
            unknown = set(L.columns) - set(self.fixed_names)
            if unknown:
                raise ModelSpecificationError(f"unknown coefficient(s) {sorted(unknown)}")
            matrix = L.reindex(columns=self.fixed_names, fill_value=0.0).to_numpy(float)
            return [str(i) for i in L.index], matrix
        matrix = np.atleast_2d(np.asarray(L, dtype=float))
        if matrix.ndim != 2 or matrix.shape[1] != p:
            raise ModelSpecificationError(
                f"a contrast needs {p} weights, one per coefficient "
                f"({', '.join(self.fixed_names)})"
            )
        return [f"contrast_{i + 1}" for i in range(len(matrix))], matrix

    def _weights(self, weights, label: str) -> np.ndarray:
        if isinstance(weights, Mapping):
            unknown = set(weights) - set(self.fixed_names)
            if unknown:
                raise ModelSpecificationError(
                    f"contrast {label!r} names unknown coefficient(s) {sorted(unknown)}; "
                    f"coefficients are {', '.join(self.fixed_names)}"
                )
            return np.array([float(weights.get(name, 0.0)) for name in self.fixed_names])
        row = np.asarray(weights, dtype=float)
        if row.shape != (len(self.beta),):
            raise ModelSpecificationError(
                f"contrast {label!r} needs {len(self.beta)} weights "
                f"({', '.join(self.fixed_names)})"
            )
        return row

    def contrast(self, L, df_method: str | None = None, level: float | None = None):
        """T tests and confidence intervals for linear contrasts ``L β``.

        Parameters
        ----------
        L : array, DataFrame or dict
            One row of weights per contrast (length = number of
            coefficients), a DataFrame whose columns are coefficient names,
            or ``{label: weights}`` where weights is an array or
            ``{coefficient name: weight}``.
        df_method : str, optional
            Defaults to the method chosen at fit time.
        level : float, optional
            Confidence level (default: the fit's).

        Returns
        -------
        DataFrame
            ``contrast, estimate, std_error, df, statistic, p_value,
            conf_low, conf_high, df_method``.
        """
        method = inference.check_df_method(df_method or self.df_method)
        labels, rows = self._contrast_rows(L)
        vcov = self.vcov_for(method)
        estimates = rows @ self.beta
        std_errors = np.sqrt(np.einsum("ij,jk,ik->i", rows, vcov, rows))
        dfs = self._df(rows, method)
        return inference.t_table(
            labels, estimates, std_errors, dfs, method, level or self.level, "contrast"
        )

    def f_test(self, L, df_method: str | None = None) -> dict:
        """Joint F test of ``L β = 0``; returns statistic, num_df, den_df and p_value."""
        method = inference.check_df_method(df_method or self.df_method)
        _, rows = self._contrast_rows(L)
        return self._f_test(rows, method)

    def _f_test(self, rows: np.ndarray, method: str, term: str | None = None) -> dict:
        if method == "satterthwaite":
            statistic, num_df, den_df = self._satterthwaite.f_test(rows, self.beta)
        elif method == "kenward-roger":
            statistic, num_df, den_df = self._kenward_roger.f_test(rows, self.beta)
        else:
            num_df = int(np.linalg.matrix_rank(rows))
            estimate = rows @ self.beta
            wald = estimate @ np.linalg.pinv(rows @ self.vcov @ rows.T) @ estimate
            statistic = float(wald / num_df)
            if method == "between-within" and term is not None:
                den_df = self._between_within[1][term]
            else:
                den_df = float(self._df(rows, method).min())
        p_value = (
            float(scipy.stats.chi2.sf(statistic * num_df, num_df))
            if method == "z"
            else f_p_value(statistic, num_df, den_df)
        )
        return {
            "statistic": statistic,
            "num_df": num_df,
            "den_df": den_df,
            "p_value": p_value,
            "df_method": "z (asymptotic)" if method == "z" else method,
        }

    def anova(self, df_method: str | None = None) -> pd.DataFrame:
        """Type III F tests of each fixed-effect term, as ``lmerTest::anova``.

        Returns
        -------
        DataFrame
            ``term, num_df, den_df, statistic, p_value, df_method``. Under
            ``z`` the statistic is a Wald F with a chi-square p-value.
        """
        method = inference.check_df_method(df_method or self.df_method)
        rows = []
        for term, hypothesis in inference.type3_hypotheses(self.model).items():
            rows.append({"term": term, **self._f_test(hypothesis, method, term)})
        columns = ["term", "num_df", "den_df", "statistic", "p_value", "df_method"]
        return pd.DataFrame(rows, columns=columns)

    def coefficients_for(self, df_method: str, level: float | None = None) -> pd.DataFrame:
        """Coefficient table under another df method (no refit)."""
        method = inference.check_df_method(df_method)
        table = self.contrast(np.eye(len(self.beta)), method, level)
        return table.rename(columns={"contrast": "term"}).assign(term=self.fixed_names)

    @cached_property
    def coefficients(self) -> pd.DataFrame:
        """Fixed-effect table with the df method chosen at fit time."""
        return self.coefficients_for(self.df_method)

    def emmeans(self, specs, by=None, at=None, df_method=None, level=None):
        """Estimated marginal means (emmeans-style), e.g. per arm at each time point.

        Parameters
        ----------
        specs : str or list of str
            Factor(s) whose level combinations get a mean.
        by : str or list of str, optional
            Factor(s) defining groups within which contrasts are made.
        at : dict, optional
            Values for reference-grid variables (numeric covariates default
            to their mean over the rows used; factors to all their levels).
        df_method : str, optional
            Defaults to the fit's method.
        level : float, optional
            Confidence level.

        Returns
        -------
        EstimatedMarginalMeans
            ``.table`` with the EMMs; ``.contrast(...)`` for pairwise,
            treatment-vs-control (e.g. change from baseline) or interaction
            contrasts.
        """
        from trialanalysis.models.emmeans import EstimatedMarginalMeans

        return EstimatedMarginalMeans(self, specs, by, at, df_method, level)

    def random_effects(self) -> pd.DataFrame:
        """Conditional modes (BLUPs) of the random effects with conditional SDs.

        As ``lme4::ranef(fit, condVar = TRUE)``: the conditional variance of
        ``b`` given the data at the estimated θ, σ and β,
        ``σ² Λ (Λ'Z'ZΛ + I)⁻¹ Λ'`` (it ignores the uncertainty of β̂, θ̂).

        Returns
        -------
        DataFrame
            ``group, level, term, estimate, cond_sd``, one row per level and
            random-effect column, in the model's order.
        """
        lam = self.model.make_lambda(self.theta)
        _, solve = single_threaded(self.criterion._solver.factor)(self.theta, lam)
        b = self.criterion.random_effects(self.theta)
        width = lam.shape[0]
        rows = []
        for block in self.model.blocks:
            q, start = block.q, block.z_offset
            variances = np.empty(q * block.n_levels)
            for first in range(0, block.n_levels, 256):  # chunks bound the memory used
                levels = np.arange(first, min(first + 256, block.n_levels))
                columns = (start + levels[:, None] * q + np.arange(q)).ravel()
                unit = np.zeros((width, len(columns)))
                unit[columns, np.arange(len(columns))] = 1.0
                a_inv = solve(unit)[columns]
                lam_block = lam[columns][:, columns].toarray()
                for i in range(len(levels)):
                    part = slice(i * q, (i + 1) * q)
                    cov = lam_block[part, part] @ a_inv[part, part] @ lam_block[part, part].T
                    variances[columns[part] - start] = self.sigma**2 * np.diag(cov)
            for level_index, level in enumerate(block.levels):
                for j, name in enumerate(block.column_names):
                    k = level_index * q + j
                    rows.append(
                        {
                            "group": block.term.group_label,
                            "level": level,
                            "term": name,
                            "estimate": float(b[start + k]),
                            "cond_sd": float(np.sqrt(max(variances[k], 0.0))),
                        }
                    )
        return pd.DataFrame(rows, columns=["group", "level", "term", "estimate", "cond_sd"])

    # ------------------------------------------------------ variance components
    @cached_property
    def variance_components(self) -> pd.DataFrame:
        """Variance components with the intervals chosen at fit time (computed on first use).

        Columns ``group, term, parameter, estimate, std_dev, conf_low,
        conf_high, ci_method``; by default (``variance_ci="profile"``)
        intervals profile the fit's own criterion (REML for REML fits). See
        :meth:`variance_components_table` for lme4's ML-profile intervals.
        """
        return self.variance_components_table(method=self.variance_ci)

    def variance_components_table(
        self,
        level: float | None = None,
        criterion: str | None = None,
        intervals: bool = True,
        method: str = "profile",
    ) -> pd.DataFrame:
        """Variance components with a chosen interval method and profiled criterion.

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the fit's).
        criterion : {"REML", "ML"}, optional
            Criterion profiled (default: the fit's).
        intervals : bool
            False is ``method="none"``.
        method : {"profile", "wald", "none"}
            Interval method; see :func:`~trialanalysis.models.variance.variance_components`.
        """
        from trialanalysis.models.variance import variance_components

        return single_threaded(variance_components)(
            self, level or self.level, criterion, intervals, method
        )

    def icc(self, level: float | None = None) -> pd.DataFrame:
        """ICC of each random-intercept term with a profile-likelihood interval."""
        from trialanalysis.models.variance import icc_table

        return single_threaded(icc_table)(self, level or self.level)

    def _group_columns(self, group: str | None) -> list[str]:
        labels = {b.term.group_label: list(b.term.group) for b in self.model.blocks}
        if group is None:
            fewest = min(self.model.blocks, key=lambda b: b.n_levels)
            return list(fewest.term.group)
        if group not in labels:
            raise ModelSpecificationError(
                f"group {group!r} is not a grouping factor of the model ({', '.join(labels)})"
            )
        return labels[group]

    def cluster_sizes(self, group: str | None = None, unit: str | None = None) -> pd.Series:
        """Rows (or distinct ``unit`` values) per level of ``group`` in the data used.

        ``group`` defaults to the grouping factor with the fewest levels.
        """
        from trialanalysis.models.variance import cluster_sizes

        columns = self._group_columns(group)
        if unit is not None and unit not in self.model.frame.columns:
            raise ModelSpecificationError(f"unit column {unit!r} is not in the data used")
        return cluster_sizes(self.model.frame, columns, None if unit is None else [unit])

    def design_effect(
        self, group: str | None = None, unit: str | None = None, icc: float | None = None
    ) -> pd.DataFrame:
        """Design effect for unequal cluster sizes (Eldridge et al. 2006) with a size summary.

        Parameters
        ----------
        group : str, optional
            Clustering factor (default: the one with the fewest levels).
        unit : str, optional
            Count distinct values of this column per cluster (e.g.
            ``patient_id``) instead of rows.
        icc : float, optional
            ICC to use; default the estimated ICC of ``group``, whose
            profile-likelihood interval then gives an interval for the
            design effect.

        Returns
        -------
        DataFrame
            One row: cluster-size summary (``n_clusters, total, mean_size,
            sd_size, cv_size, min_size, median_size, max_size``), ``icc``,
            ``design_effect`` and, for an estimated ICC, ``conf_low`` and
            ``conf_high``.
        """
        from trialanalysis.models.variance import cluster_summary, design_effect

        columns = self._group_columns(group)
        sizes = self.cluster_sizes(":".join(columns) if group else None, unit)
        row = {"group": ":".join(columns), "unit": unit or "observation"}
        row.update(cluster_summary(sizes))
        low = high = np.nan
        if icc is None:
            table = self.icc()
            match = table[table["group"] == ":".join(columns)].iloc[0]
            icc, low, high = match["icc"], match["conf_low"], match["conf_high"]
            low, high = design_effect(sizes, low), design_effect(sizes, high)
        row.update({"icc": float(icc), "design_effect": design_effect(sizes, icc)})
        row.update({"conf_low": low, "conf_high": high})
        return pd.DataFrame([row])
