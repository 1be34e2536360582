"""Reliability statistics of a set of items: Cronbach's alpha, McDonald's omega.

All functions take a 2-D float array (respondents x items, NaN = missing)
and use the complete cases (listwise deletion), as is usual for these
coefficients; the number of complete cases is returned or reported.

References
----------
Cronbach LJ. Coefficient alpha and the internal structure of tests.
Psychometrika 1951;16:297-334.
Feldt LS, Woodruff DJ, Salih FA. Statistical inference for coefficient alpha.
Appl Psychol Meas 1987;11:93-103.
McDonald RP. Test theory: a unified treatment. Erlbaum, 1999.
Jöreskog KG. Some contributions to maximum likelihood factor analysis.
Psychometrika 1967;32:443-82.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

#: Lower bound of uniquenesses in the ML fit (as R's factanal and psych::fa).
UNIQUENESS_LOWER = 0.005


@dataclass(frozen=True)
class Alpha:
    """Cronbach's alpha with its Feldt confidence interval."""

    alpha: float
    conf_low: float
    conf_high: float
    n: int


@dataclass(frozen=True)
class Omega:
    """McDonald's omega total from a one-factor ML model; NaN with a reason if not estimable."""

    omega: float
    loadings: np.ndarray
    uniquenesses: np.ndarray
    note: str = ""


def complete_cases(items: np.ndarray) -> np.ndarray:
    """Return the rows with every item answered."""
    items = np.asarray(items, dtype=float)
    return items[~np.isnan(items).any(axis=1)]


def cronbach_alpha(items: np.ndarray, confidence: float = 0.95) -> Alpha:
    """Cronbach's alpha with Feldt's F-based confidence interval.

    Parameters
    ----------
    items : array, shape (n, k)
        Keyed item scores; rows with a missing item are dropped.
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    Alpha
        NaN values when fewer than 2 items or 2 complete rows, or when the
        total score has no variance.

    Notes
    -----
    ``alpha = k / (k - 1) * (1 - sum(var_i) / var_total)`` with sample
    variances. With ``df1 = n - 1`` and ``df2 = (n - 1)(k - 1)`` the interval
    is ``1 - (1 - alpha) F_{1-g/2}(df1, df2)`` to
    ``1 - (1 - alpha) F_{g/2}(df1, df2)``, ``g = 1 - confidence`` (Feldt 1987).
    """
    data = complete_cases(items)
    n, k = data.shape
    nan = Alpha(np.nan, np.nan, np.nan, n)
    if k < 2 or n < 2:
        return nan
    total_var = data.sum(axis=1).var(ddof=1)
    if total_var <= 0:
        return nan
    alpha = k / (k - 1) * (1 - data.var(axis=0, ddof=1).sum() / total_var)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - confidence) / 2
    low = 1 - (1 - alpha) * stats.f.ppf(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(tail, df1, df2)
    return Alpha(float(alpha), float(low), float(high), n)


def _correlations(data: np.ndarray) -> np.ndarray:
    """Pearson correlations; NaN rows/columns for items without variance."""
    sd = data.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = (data - data.mean(axis=0)) / np.where(sd > 0, sd, np.nan)
        return centred.T @ centred / (len(data) - 1)


def mean_inter_item_correlation(items: np.ndarray) -> float:
    """Mean of the off-diagonal Pearson correlations (complete cases).

    Returns NaN when there are fewer than 2 items or 3 complete rows, or an
    item has no variance.
    """
    data = complete_cases(items)
    n, k = data.shape
    if k < 2 or n < 3:
        return np.nan
    corr = _correlations(data)
    return float(corr[~np.eye(k, dtype=bool)].mean())


def _rest_variances(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covariance of each item with the rest score, and the rest score's variance."""
    row_sums = cov.sum(axis=1)
    diagonal = np.diag(cov)
    return row_sums - diagonal, cov.sum() - 2 * row_sums + diagonal


def corrected_item_total(items: np.ndarray) -> np.ndarray:
    """Correlation of each item with the sum of the other items (complete cases).

    NaN for an item that, or whose rest score, has no variance.
    """
    data = complete_cases(items)
    n, k = data.shape
    if k < 2 or n < 3:
        return np.full(k, np.nan)
    cov = np.cov(data, rowvar=False)
    with_rest, rest_var = _rest_variances(cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = np.sqrt(np.diag(cov) * rest_var)
        return np.where(denominator > 0, with_rest / denominator, np.nan)


def alpha_if_deleted(items: np.ndarray) -> np.ndarray:
    """Cronbach's alpha of the other items when each item is left out (complete cases)."""
    data = complete_cases(items)
    n, k = data.shape
    if k < 3 or n < 2:
        return np.full(k, np.nan)
    cov = np.cov(data, rowvar=False)
    _, rest_var = _rest_variances(cov)
    rest_item_var = np.trace(cov) - np.diag(cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = (k - 1) / (k - 2) * (1 - rest_item_var / rest_var)
    return np.where(rest_var > 0, alpha, np.nan)


def _ml_discrepancy(psi: np.ndarray, corr: np.ndarray) -> float:
    scale = 1 / np.sqrt(psi)
    eigenvalues = np.linalg.eigvalsh(corr * np.outer(scale, scale))[:-1]
    return -(np.sum(np.log(eigenvalues) - eigenvalues) - 1 + len(psi))


def _ml_loadings(psi: np.ndarray, corr: np.ndarray) -> np.ndarray:
    scale = 1 / np.sqrt(psi)
    eigenvalues, vectors = np.linalg.eigh(corr * np.outer(scale, scale))
    return np.sqrt(psi) * vectors[:, -1] * np.sqrt(max(eigenvalues[-1] - 1, 0.0))


def _ml_gradient(psi: np.ndarray, corr: np.ndarray) -> np.ndarray:
    loadings = _ml_loadings(psi, corr)
    return (loadings**2 + psi - np.diag(corr)) / psi**2


def one_factor_ml(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Fit a one-factor model to a correlation matrix by maximum likelihood.

    The uniquenesses minimise the ML discrepancy with the loadings
    concentrated out (Jöreskog 1967), under bounds
    ``[UNIQUENESS_LOWER, 1]``, from the start values of R's ``factanal``.

    Parameters
    ----------
    corr : array, shape (k, k)
        A positive definite correlation matrix.

    Returns
    -------
    loadings : array
        Standardised loadings, signed so that their sum is positive.
    uniquenesses : array
    converged : bool
    """
    k = len(corr)
    start = np.clip((1 - 0.5 / k) / np.diag(np.linalg.inv(corr)), UNIQUENESS_LOWER, 1)
    fit = optimize.minimize(
        _ml_discrepancy,
        start,
        args=(corr,),
        jac=_ml_gradient,
        method="L-BFGS-B",
        bounds=[(UNIQUENESS_LOWER, 1.0)] * k,
        options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000},
    )
    loadings = _ml_loadings(fit.x, corr)
    if loadings.sum() < 0:
        loadings = -loadings
    # Judge convergence by the projected gradient: when the minimum is exact (a
    # just-identified model with 3 items) the line search can stop "abnormally"
    # at the optimum.
    gradient = _ml_gradient(fit.x, corr)
    at_lower = fit.x <= UNIQUENESS_LOWER * (1 + 1e-9)
    at_upper = fit.x >= 1 - 1e-9
    projected = np.where(at_lower, np.minimum(gradient, 0), gradient)
    projected = np.where(at_upper, np.maximum(projected, 0), projected)
    return loadings, fit.x, bool(np.abs(projected).max() < 1e-6)


def omega_total(items: np.ndarray) -> Omega:
    """McDonald's omega total from a one-factor ML factor analysis.

    Parameters
    ----------
    items : array, shape (n, k)
        Keyed item scores; complete cases are used.

    Returns
    -------
    Omega
        ``omega = (sum lambda)^2 / ((sum lambda)^2 + sum psi)`` from the
        standardised loadings ``lambda`` and uniquenesses ``psi`` of the
        Pearson correlation matrix (the model-implied total variance in the
        denominator). NaN with a reason when the model cannot be estimated
        soundly: fewer than 3 items (not identified), no more complete rows
        than items, an item without variance, a singular correlation matrix,
        no convergence, or a Heywood case (a uniqueness at its lower bound).
    """
    data = complete_cases(items)
    n, k = data.shape
    empty = np.full(k, np.nan)

    def fail(reason: str) -> Omega:
        return Omega(np.nan, empty, empty, f"omega not estimated: {reason}")

    if k < 3:
        return fail("a one-factor model needs at least 3 items")
    if n <= k:
        return fail(f"{n} complete responses for {k} items")
    if np.any(data.std(axis=0, ddof=1) == 0):
        return fail("an item has no variance")
    corr = _correlations(data)
    if np.linalg.eigvalsh(corr)[0] < 1e-8:
        return fail("the item correlation matrix is singular")
    loadings, psi, converged = one_factor_ml(corr)
    if not converged:
        return fail("the factor analysis did not converge")
    if np.any(psi <= UNIQUENESS_LOWER * (1 + 1e-6)):
        return fail("Heywood case (a uniqueness at its lower bound)")
    common = loadings.sum() ** 2
    note = ""
    negative = int((loadings < 0).sum())
    if negative:
        note = f"{negative} item(s) load negatively on the factor: check the reverse keys"
    return Omega(float(common / (common + psi.sum())), loadings, psi, note)
