"""Satterthwaite's degrees of freedom for linear contrasts of fixed effects.

Follows lmerTest (Kuznetsova, Brockhoff & Christensen 2017, *J Stat Softw*
82(13)): the covariance of the variance parameters ``φ = (θ, σ)`` is
``A = 2 H⁻¹`` with ``H`` the Hessian of the unprofiled deviance at the
estimate (a Moore–Penrose inverse over positive eigenvalues); for a contrast
``l'β`` with variance ``v = l'C(φ)l`` and gradient ``g_i = l'(∂C/∂φ_i)l``,
``df = 2v² / (g'Ag)``. Multi-row contrasts are decomposed into orthogonal
rows whose t statistics are combined as in lmerTest's ``contestMD``.
"""

from __future__ import annotations

import numpy as np

from trialanalysis.models import numderiv
from trialanalysis.models.criterion import Criterion

EIGEN_TOL = 1e-8


class Satterthwaite:
    """Satterthwaite degrees of freedom at the fitted variance parameters.

    Parameters
    ----------
    criterion : Criterion
    theta : array
        Fitted θ.
    sigma : float
        Fitted residual standard deviation.
    """

    def __init__(self, criterion: Criterion, theta: np.ndarray, sigma: float):
        varpar = np.r_[theta, sigma]
        self.vcov = criterion.vcov_beta(varpar)
        hess = numderiv.hessian(criterion.deviance_varpar, varpar)
        self.vcov_varpar, self.warnings = varpar_covariance(hess)
        jac = numderiv.jacobian(criterion.vcov_beta, varpar)
        self.jacobian = [jac[:, :, i] for i in range(jac.shape[2])]

    def df(self, contrast: np.ndarray) -> float:
        """Denominator df for one contrast row ``l``."""
        contrast = np.asarray(contrast, dtype=float)
        variance = contrast @ self.vcov @ contrast
        grad = np.array([contrast @ j @ contrast for j in self.jacobian])
        denominator = grad @ self.vcov_varpar @ grad
        if denominator <= 0:
            return np.inf
        return float(2.0 * variance**2 / denominator)

    def f_test(self, contrasts: np.ndarray, beta: np.ndarray) -> tuple[float, int, float]:
        """F statistic, numerator df and denominator df for ``L β = 0``."""
        contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
        var_lb = contrasts @ self.vcov @ contrasts.T
        values, vectors = np.linalg.eigh(var_lb)
        order = np.argsort(values)[::-1]
        values, vectors = values[order], vectors[:, order]
        tol = max(np.sqrt(np.finfo(float).eps) * values[0], 0.0)
        rank = int(np.sum(values > tol))
        rotated = (vectors.T @ contrasts)[:rank]
        t_squared = (rotated @ beta) ** 2 / values[:rank]
        f_value = float(np.sum(t_squared) / rank)
        nu = np.array([self.df(row) for row in rotated])
        return f_value, rank, combine_df(nu)


def varpar_covariance(hessian: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Return ``A = 2 H⁻¹`` (positive eigenvalues of the deviance Hessian) and warnings."""
    values, vectors = np.linalg.eigh(hessian)
    warnings = []
    if np.any(values < -EIGEN_TOL):
        warnings.append(
            "Satterthwaite: the Hessian of the deviance has negative eigenvalue(s) "
            f"{values[values < -EIGEN_TOL].round(6).tolist()}; the fit may not have converged"
        )
    positive = values > EIGEN_TOL
    inverse = (vectors[:, positive] / values[positive]) @ vectors[:, positive].T
    return 2.0 * inverse, warnings


def combine_df(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Denominator df of an F built from t statistics with ``nu`` df (lmerTest)."""
    nu = np.asarray(nu, dtype=float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    expected = np.sum(nu / (nu - 2))
    return float(2 * expected / (expected - len(nu)))
