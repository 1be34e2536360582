"""Two-stage least squares (instrumental variables) with classical or sandwich SEs.

Used for the complier-average causal effect (CACE) of a randomised trial:
randomisation is the instrument of treatment receipt. With one binary
instrument and one binary receipt indicator and no covariates the 2SLS
estimate is the Wald ratio (ITT effect on the outcome divided by the ITT
effect on receipt); covariates enter both stages.

The standard errors are those of ``AER::ivreg`` (``classical``:
``sigma^2 (X' P_Z X)^{-1}`` with ``sigma^2`` from the structural residuals on
``n - k`` df) or the heteroskedasticity-consistent sandwich of
``sandwich::vcovHC`` (``HC0``, or ``HC1`` scaled by ``n / (n - k)``), with
t intervals on ``n - k`` df as ``lmtest::coeftest`` gives them.

References
----------
Angrist JD, Imbens GW, Rubin DB. Identification of causal effects using
instrumental variables. JASA 1996;91:444-55.
Kleiber C, Zeileis A. Applied Econometrics with R. Springer; 2008 (AER).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from trialanalysis.errors import ModelSpecificationError

VCOV_TYPES = ("classical", "HC0", "HC1")


@dataclass(frozen=True)
class IVResult:
    """A 2SLS fit.

    Attributes
    ----------
    coefficients : DataFrame
        ``term, estimate, std_error, df, statistic, p_value, conf_low,
        conf_high`` (intercept first, then the exogenous terms, then the
        endogenous ones).
    first_stage : DataFrame
        Per endogenous variable: ``term, instrument_estimate, f_statistic,
        df1, df2`` (the instruments' partial F test in the first stage,
        classical).
    n : int
    vcov_type : str
    """

    coefficients: pd.DataFrame
    first_stage: pd.DataFrame
    n: int
    vcov_type: str


def _matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return frame[list(columns)].to_numpy(dtype=float).reshape(len(frame), len(columns))


def two_stage_least_squares(
    data: pd.DataFrame,
    outcome: str,
    endogenous: Sequence[str],
    instruments: Sequence[str],
    exogenous: Sequence[str] = (),
    vcov: str = "HC1",
    level: float = 0.95,
) -> IVResult:
    """Fit ``outcome ~ exogenous + endogenous | exogenous + instruments`` by 2SLS.

    Parameters
    ----------
    data : DataFrame
        Numeric columns; rows with a missing value in any of them are refused.
    outcome : str
    endogenous : sequence of str
        Regressors instrumented (e.g. treatment received).
    instruments : sequence of str
        Excluded instruments (e.g. randomised arm); at least as many as
        ``endogenous``.
    exogenous : sequence of str
        Covariates in both stages (an intercept is always added).
    vcov : {"HC1", "HC0", "classical"}
        Variance estimator.
    level : float
        Confidence level.

    Returns
    -------
    IVResult
    """
    if vcov not in VCOV_TYPES:
        raise ModelSpecificationError(f"vcov must be one of {VCOV_TYPES}, not {vcov!r}")
    if len(instruments) < len(endogenous) or not endogenous:
        raise ModelSpecificationError(
            "2SLS needs at least one endogenous regressor and as many instruments"
        )
    columns = list(dict.fromkeys([outcome, *exogenous, *endogenous, *instruments]))
    incomplete = [c for c in columns if data[c].isna().any()]
    if incomplete:
        raise ModelSpecificationError(f"2SLS needs complete data; missing values in {incomplete}")
    n = len(data)
    ones = np.ones((n, 1))
    x = np.hstack([ones, _matrix(data, exogenous), _matrix(data, endogenous)])
    z = np.hstack([ones, _matrix(data, exogenous), _matrix(data, instruments)])
    k = x.shape[1]
    if n <= k or np.linalg.matrix_rank(z) < z.shape[1] or np.linalg.matrix_rank(x) < k:
        raise ModelSpecificationError(
            "2SLS is not identified: collinear regressors or instruments, or too few rows"
        )
    y = data[outcome].to_numpy(dtype=float)
    x_hat = z @ np.linalg.lstsq(z, x, rcond=None)[0]  # first-stage fitted values
    bread = np.linalg.inv(x_hat.T @ x_hat)
    beta = bread @ x_hat.T @ y
    residuals = y - x @ beta
    df = n - k
    if vcov == "classical":
        covariance = bread * float(residuals @ residuals) / df
    else:
        meat = (x_hat * residuals[:, None] ** 2).T @ x_hat
        covariance = bread @ meat @ bread * (n / df if vcov == "HC1" else 1.0)
    terms = ["Intercept", *exogenous, *endogenous]
    se = np.sqrt(np.diag(covariance))
    statistic = beta / se
    quantile = stats.t.ppf(0.5 + level / 2, df)
    coefficients = pd.DataFrame(
        {
            "term": terms,
            "estimate": beta,
            "std_error": se,
            "df": float(df),
            "statistic": statistic,
            "p_value": 2 * stats.t.sf(np.abs(statistic), df),
            "conf_low": beta - quantile * se,
            "conf_high": beta + quantile * se,
        }
    )
    first = [_first_stage(data, d, instruments, exogenous, z) for d in endogenous]
    return IVResult(coefficients, pd.DataFrame(first), n, vcov)


def _first_stage(data, endogenous, instruments, exogenous, z) -> dict:
    """Partial F test of the excluded instruments in the first-stage regression."""
    d = data[endogenous].to_numpy(dtype=float)
    restricted = z[:, : 1 + len(exogenous)]
    rss_full = _rss(z, d)
    rss_restricted = _rss(restricted, d)
    df1, df2 = len(instruments), len(d) - z.shape[1]
    coef = np.linalg.lstsq(z, d, rcond=None)[0]
    f = ((rss_restricted - rss_full) / df1) / (rss_full / df2) if rss_full > 0 else np.inf
    return {
        "term": endogenous,
        "instrument_estimate": float(coef[1 + len(exogenous)]),
        "f_statistic": float(f),
        "df1": df1,
        "df2": df2,
    }


def _rss(x: np.ndarray, y: np.ndarray) -> float:
    residuals = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return float(residuals @ residuals)
