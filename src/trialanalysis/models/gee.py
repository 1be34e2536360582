"""Marginal models for binary cluster-correlated outcomes (GEE).

With few clusters the usual sandwich variance is biased downwards and Wald z
tests are anti-conservative. Following Mancl & DeRouen (2001) and Li &
Redden (2015), :func:`fit_gee` uses the bias-reduced sandwich and t
reference distributions with K - p degrees of freedom (K clusters, p
regression parameters).

References
----------
Mancl LA, DeRouen TA. A covariance estimator for GEE with improved
small-sample properties. Biometrics 2001;57(1):126-34.
Li P, Redden DT. Small sample performance of bias-corrected sandwich
estimators for cluster-randomized trials with binary outcomes. Stat Med
2015;34(2):281-96.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from scipy import stats

from trialanalysis.errors import ModelFitError, ModelSpecificationError
from trialanalysis.models.formula_syntax import design_matrices

COV_TYPES = {"bias_reduced", "robust", "naive"}
CORRELATIONS = {
    "exchangeable": sm.cov_struct.Exchangeable,
    "independence": sm.cov_struct.Independence,
}
COLUMNS = ["term", "estimate", "std_error", "df", "statistic", "p_value", "conf_low", "conf_high"]


def t_interval(estimate, std_error, df, level: float = 0.95) -> dict[str, np.ndarray]:
    """Return t statistics, two-sided p-values and confidence limits."""
    estimate, std_error = np.asarray(estimate, float), np.asarray(std_error, float)
    statistic = estimate / std_error
    if np.isinf(df):
        quantile, p_value = stats.norm.ppf(0.5 + level / 2), 2 * stats.norm.sf(np.abs(statistic))
    else:
        quantile, p_value = stats.t.ppf(0.5 + level / 2, df), 2 * stats.t.sf(np.abs(statistic), df)
    return {
        "statistic": statistic,
        "p_value": p_value,
        "conf_low": estimate - quantile * std_error,
        "conf_high": estimate + quantile * std_error,
    }


@dataclass
class GEEResult:
    """A fitted binary GEE with small-sample inference.

    Attributes
    ----------
    coefficients : DataFrame
        Log odds ratios: ``term, estimate, std_error, df, statistic,
        p_value, conf_low, conf_high``.
    diagnostics : dict
        Clusters, observations, dropped rows, working correlation, covariance
        type, convergence and every warning raised during the fit.
    """

    coefficients: pd.DataFrame
    diagnostics: dict
    covariance: pd.DataFrame
    df: float
    _design_info: patsy.DesignInfo = field(repr=False)
    _data: pd.DataFrame = field(repr=False)

    def odds_ratios(self, level: float = 0.95) -> pd.DataFrame:
        """Return exponentiated coefficients (odds ratios) with CIs, intercept excluded."""
        table = self.coefficients[self.coefficients["term"] != "Intercept"].copy()
        table["conf_low"] = np.exp(table["conf_low"])
        table["conf_high"] = np.exp(table["conf_high"])
        table["estimate"] = np.exp(table["estimate"])
        table = table.drop(columns=["std_error", "statistic"])
        return table.rename(columns={"estimate": "odds_ratio"}).reset_index(drop=True)

    def risk_difference(self, term: str, level: float = 0.95) -> pd.DataFrame:
        """Marginal risk difference for a 0/1 term by standardisation.

        Every row of the analysed data is predicted with ``term`` set to 1 and
        to 0; the difference of the average predicted risks is the risk
        difference, with a delta-method standard error from the model's
        covariance and a t interval on the model's degrees of freedom.

        Parameters
        ----------
        term : str
            A numeric 0/1 column of the model (e.g. ``"treatment"``).

        Returns
        -------
        DataFrame
            One row: ``term, risk_treated, risk_untreated, estimate,
            std_error, df, statistic, p_value, conf_low, conf_high``.
        """
        if term not in self.coefficients["term"].to_list():
            raise ModelSpecificationError(f"{term!r} is not a numeric term of the model")
        beta = self.covariance.index.map(
            self.coefficients.set_index("term")["estimate"]
        ).to_numpy()
        design = {
            value: self._design_matrix(self._data.assign(**{term: value})) for value in (1, 0)
        }
        risks, gradients = {}, {}
        for value, x in design.items():
            p = 1.0 / (1.0 + np.exp(-(x @ beta)))
            risks[value] = p.mean()
            gradients[value] = (p * (1 - p)) @ x / len(p)
        estimate = risks[1] - risks[0]
        gradient = gradients[1] - gradients[0]
        std_error = float(np.sqrt(gradient @ self.covariance.to_numpy() @ gradient))
        row = {
            "term": term,
            "risk_treated": risks[1],
            "risk_untreated": risks[0],
            "estimate": estimate,
            "std_error": std_error,
            "df": self.df,
        }
        row.update(
            {k: float(v) for k, v in t_interval(estimate, std_error, self.df, level).items()}
        )
        return pd.DataFrame([row])

    def _design_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(patsy.build_design_matrices([self._design_info], frame)[0])


def fit_gee(
    data: pd.DataFrame,
    formula: str,
    groups: str,
    *,
    correlation: str = "exchangeable",
    cov_type: str = "bias_reduced",
    df: str | float = "clusters_minus_parameters",
    level: float = 0.95,
) -> GEEResult:
    """Fit a logistic GEE with small-sample inference.

    Parameters
    ----------
    data : DataFrame
        Long-format data, one row per individual (or observation).
    formula : str
        Patsy formula with a 0/1 outcome, e.g. ``"referral ~ C(period) + treatment"``.
    groups : str
        Column identifying clusters (e.g. ``"clinic_id"``).
    correlation : {"exchangeable", "independence"}
        Working correlation.
    cov_type : {"bias_reduced", "robust", "naive"}
        ``bias_reduced`` is the Mancl-DeRouen sandwich (default).
    df : "clusters_minus_parameters", "z" or float
        Degrees of freedom of the t reference: K - p (default), infinite
        (``"z"``, asymptotic), or a number.
    level : float
        Confidence level.

    Returns
    -------
    GEEResult
    """
    if correlation not in CORRELATIONS:
        raise ModelSpecificationError(
            f"correlation must be one of {sorted(CORRELATIONS)}, not {correlation!r}"
        )
    if cov_type not in COV_TYPES:
        raise ModelSpecificationError(f"cov_type must be one of {sorted(COV_TYPES)}")
    if groups not in data.columns:
        raise ModelSpecificationError(f"grouping column {groups!r} is not in the data")
    used = data[data[groups].notna()]
    y, x = design_matrices(formula, used)
    outcome = y.columns[0]
    used = used.loc[y.index].reset_index(drop=True)
    if not set(np.unique(y.iloc[:, 0])) <= {0.0, 1.0}:
        raise ModelSpecificationError(f"outcome {outcome!r} must be coded 0/1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.GEE(
            y.to_numpy()[:, 0],
            x,
            groups=used[groups].to_numpy(),
            family=sm.families.Binomial(),
            cov_struct=CORRELATIONS[correlation](),
        )
        try:
            fitted = model.fit(cov_type=cov_type, maxiter=200)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelFitError(f"GEE for {outcome!r} failed: {exc}") from exc
    names = list(fitted.params.index)
    n_clusters = int(used[groups].nunique())
    if df == "clusters_minus_parameters":
        dof = float(n_clusters - len(names))
    elif df == "z":
        dof = np.inf
    else:
        dof = float(df)
    if dof <= 0:
        raise ModelSpecificationError(
            f"{n_clusters} clusters leave no degrees of freedom for {len(names)} parameters"
        )
    estimate, std_error = fitted.params.to_numpy(), fitted.bse.to_numpy()
    table = pd.DataFrame({"term": names, "estimate": estimate, "std_error": std_error, "df": dof})
    table = table.assign(**t_interval(estimate, std_error, dof, level))[COLUMNS]
    converged = bool(getattr(fitted, "converged", True))
    diagnostics = {
        "outcome": outcome,
        "n_obs": len(used),
        "n_dropped": len(data) - len(used),
        "n_clusters": n_clusters,
        "n_parameters": len(names),
        "df": dof,
        "correlation": correlation,
        "working_correlation": float(np.atleast_1d(model.cov_struct.dep_params)[0])
        if correlation == "exchangeable"
        else 0.0,
        "cov_type": cov_type,
        "converged": converged,
        "warnings": sorted({str(w.message) for w in caught}),
    }
    covariance = pd.DataFrame(fitted.cov_params(), index=names, columns=names)
    return GEEResult(table, diagnostics, covariance, dof, x.design_info, used)
