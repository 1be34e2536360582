"""Multiple imputation by chained equations and Rubin's rules.

:func:`impute_chained` fills a wide table (one row per patient) by
predictive mean matching (PMM) with proper (posterior-drawn) regression
coefficients, variable by variable, for a number of iterations, seeded.
:func:`pool_rubin` combines estimates fitted on each completed data set with
Rubin's rules and the Barnard-Rubin small-sample degrees of freedom.

References
----------
van Buuren S. Flexible Imputation of Missing Data. 2nd ed. CRC; 2018.
Barnard J, Rubin DB. Small-sample degrees of freedom with multiple
imputation. Biometrika 1999;86(4):948-55.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from trialanalysis.errors import ModelSpecificationError


def _draw_coefficients(x: np.ndarray, y: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """OLS fit and one draw of the coefficients from their posterior (flat prior)."""
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    residual_df = max(len(y) - x.shape[1], 1)
    rss = float(np.sum((y - x @ beta) ** 2))
    sigma2 = rss / rng.chisquare(residual_df)
    chol = np.linalg.cholesky(xtx_inv * sigma2 + 1e-12 * np.eye(len(beta)))
    return beta, beta + chol @ rng.standard_normal(len(beta))


def impute_chained(
    data: pd.DataFrame,
    m: int = 20,
    *,
    seed: int = 0,
    iterations: int = 10,
    donors: int = 5,
    columns: Sequence[str] | None = None,
) -> list[pd.DataFrame]:
    """Create ``m`` completed copies of a table by chained PMM.

    Parameters
    ----------
    data : DataFrame
        Numeric columns (0/1 for binary variables; one-hot encode categories
        first). Every column is a predictor of the others.
    m : int
        Number of imputations.
    seed : int
        Seed; the same seed gives the same imputations.
    iterations : int
        Rounds of the chained equations per imputation.
    donors : int
        Number of closest observed cases from which a donor is drawn.
    columns : sequence of str, optional
        Columns to impute (default: every column with missing values).
        Other columns are used as complete predictors only.

    Returns
    -------
    list of DataFrame
        Completed copies; observed values are never changed, and every
        imputed value is a value observed in another row.
    """
    frame = data.apply(pd.to_numeric, errors="coerce").astype(float)
    non_numeric = [c for c in data.columns if data[c].notna().sum() > frame[c].notna().sum()]
    if non_numeric:
        raise ModelSpecificationError(
            f"imputation needs numeric columns; not numeric: {non_numeric}"
        )
    targets = [c for c in (columns or frame.columns) if frame[c].isna().any()]
    predictors_only = [c for c in frame.columns if c not in targets]
    if frame[predictors_only].isna().any().any():
        raise ModelSpecificationError("columns that are not imputed must be complete")
    for column in targets:
        if frame[column].notna().sum() < donors + 2:
            raise ModelSpecificationError(f"too few observed values of {column!r} to impute")
    targets.sort(key=lambda c: frame[c].isna().sum())
    missing = {c: frame[c].isna().to_numpy() for c in targets}
    rng = np.random.default_rng(seed)
    completed = []
    for _ in range(m):
        current = frame.copy()
        for column in targets:  # start from random observed values
            observed = frame[column].dropna().to_numpy()
            current.loc[missing[column], column] = rng.choice(observed, missing[column].sum())
        for _ in range(iterations):
            for column in targets:
                current[column] = _pmm_step(current, column, missing[column], donors, rng)
        completed.append(current)
    return completed


def _pmm_step(current: pd.DataFrame, column: str, missing: np.ndarray, donors: int, rng):
    others = current.drop(columns=column).to_numpy()
    x = np.column_stack([np.ones(len(current)), others])
    y = current[column].to_numpy()
    beta_hat, beta_star = _draw_coefficients(x[~missing], y[~missing], rng)
    predicted_observed = x[~missing] @ beta_hat
    predicted_missing = x[missing] @ beta_star
    observed_values = y[~missing]
    distance = np.abs(predicted_missing[:, None] - predicted_observed[None, :])
    k = min(donors, len(observed_values))
    nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
    chosen = nearest[np.arange(len(nearest)), rng.integers(0, k, len(nearest))]
    filled = y.copy()
    filled[missing] = observed_values[chosen]
    return filled


def pool_rubin(tables: Sequence[pd.DataFrame], level: float = 0.95) -> pd.DataFrame:
    """Pool estimates from multiply imputed data sets by Rubin's rules.

    Parameters
    ----------
    tables : sequence of DataFrame
        One table per imputation with columns ``term, estimate, std_error``
        and optionally ``df`` (complete-data degrees of freedom; infinite
        when absent).
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``term, estimate, std_error, df, statistic, p_value, conf_low,
        conf_high, within_variance, between_variance, riv, fmi, m``, where
        ``df`` is the Barnard-Rubin degrees of freedom, ``riv`` the
        relative increase in variance and ``fmi`` the fraction of missing
        information.
    """
    m = len(tables)
    if m < 2:
        raise ModelSpecificationError("pooling needs at least two imputed data sets")
    stacked = pd.concat([t.assign(_imputation=i) for i, t in enumerate(tables)])
    rows = []
    for term, group in stacked.groupby("term", sort=False):
        if len(group) != m:
            raise ModelSpecificationError(f"term {term!r} is missing from some imputations")
        q = group["estimate"].to_numpy(float)
        u = group["std_error"].to_numpy(float) ** 2
        df_complete = float(group["df"].mean()) if "df" in group else np.inf
        rows.append({"term": term, **_rubin(q, u, df_complete, level), "m": m})
    return pd.DataFrame(rows)


def _rubin(q: np.ndarray, u: np.ndarray, df_complete: float, level: float) -> dict:
    m = len(q)
    estimate, within = q.mean(), u.mean()
    between = q.var(ddof=1)
    total = within + (1 + 1 / m) * between
    riv = (1 + 1 / m) * between / within
    lam = (1 + 1 / m) * between / total
    df_old = (m - 1) / lam**2 if lam > 0 else np.inf
    if np.isinf(df_complete):
        df = df_old
    else:
        df_observed = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
        df = df_old * df_observed / (df_old + df_observed) if np.isfinite(df_old) else df_observed
    std_error = np.sqrt(total)
    statistic = estimate / std_error
    quantile = stats.t.ppf(0.5 + level / 2, df)
    return {
        "estimate": estimate,
        "std_error": std_error,
        "df": df,
        "statistic": statistic,
        "p_value": 2 * stats.t.sf(abs(statistic), df),
        "conf_low": estimate - quantile * std_error,
        "conf_high": estimate + quantile * std_error,
        "within_variance": within,
        "between_variance": between,
        "riv": riv,
        "fmi": (riv + 2 / (df + 3)) / (riv + 1),
    }
