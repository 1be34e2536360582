"""The (RE)ML criterion of a linear mixed model, evaluated as lme4 does.

For a given θ the penalised least-squares problem

    min over (β, u) of ‖y − Xβ − ZΛu‖² + ‖u‖²

is solved through the symmetric positive-definite matrix ``A = Λ'Z'ZΛ + I``
(factorised by :mod:`.solver`) and the Schur complement ``S = X'X − X'ZΛ A⁻¹ Λ'Z'X``
(``S = R_X'R_X`` in lme4's notation, and ``σ² S⁻¹ = (X'V⁻¹X)⁻¹``). With the
penalised residual sum of squares ``r²``, the deviances profiled over σ are

    ML:   log|A| + n (1 + log(2π r² / n))
    REML: log|A| + log|S| + (n − p)(1 + log(2π r² / (n − p)))

(Bates et al. 2015, eqs. 34 and 41). :meth:`Criterion.deviance_varpar`
evaluates the unprofiled deviance at ``(θ, σ)``, the function whose Hessian
lmerTest uses for Satterthwaite's degrees of freedom.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from trialanalysis.models.design import ModelData
from trialanalysis.models.solver import make_solver

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - optional speed-up
    threadpool_limits = None


def single_threaded(func):
    """Run ``func`` with one BLAS thread.

    The criterion is evaluated hundreds of times on small matrices, where a
    multi-threaded BLAS spends more time synchronising than computing (and
    competes with other processes on a shared machine).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if threadpool_limits is None:
            return func(*args, **kwargs)
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


@dataclass
class Evaluation:
    """Quantities of the penalised least-squares solution at one θ."""

    theta: np.ndarray
    logdet_a: float
    logdet_s: float
    s_matrix: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    pwrss: float


class Criterion:
    """Deviance, fixed effects and their covariance as functions of θ.

    Parameters
    ----------
    model : ModelData
    reml : bool
        Restricted (True) or full maximum likelihood.
    """

    def __init__(self, model: ModelData, reml: bool = True):
        self.model = model
        self.reml = reml
        self.n, self.p = model.X.shape
        # Prior weights w (residual variance σ²/w) enter as W in the cross-products.
        w = np.ones(self.n) if model.weights is None else model.weights
        self._w = w
        self._log_weights = float(np.sum(np.log(w)))
        Z = model.Z
        wz = sp.diags(w) @ Z
        wx = model.X * w[:, None]
        self._ztz = (Z.T @ wz).tocsc()
        self._ztx = np.asarray(wz.T @ model.X)
        self._zty = np.asarray(wz.T @ model.y).ravel()
        self._xtx = model.X.T @ wx
        self._xty = wx.T @ model.y
        self._cache: tuple[bytes, Evaluation] | None = None
        self._solver = make_solver(model, self._ztz)

    @property
    def residual_df(self) -> int:
        """``n − p`` under REML, ``n`` under ML (the divisor of σ̂²)."""
        return self.n - self.p if self.reml else self.n

    def evaluate(self, theta: np.ndarray) -> Evaluation:
        """Solve the penalised least-squares problem at θ.

        Raises
        ------
        numpy.linalg.LinAlgError
            If a matrix that must be positive definite is not.
        """
        theta = np.asarray(theta, dtype=float)
        key = theta.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        lam = self.model.make_lambda(theta)
        logdet_a, solve = self._solver.factor(theta, lam)
        cx, cy = np.asarray(lam.T @ self._ztx), lam.T @ self._zty
        solved = solve(np.column_stack([cy, cx]))
        a_y, a_x = solved[:, 0], solved[:, 1:]
        s_matrix = self._xtx - cx.T @ a_x
        s_matrix = (s_matrix + s_matrix.T) / 2
        chol = scipy.linalg.cho_factor(s_matrix, lower=True)
        logdet_s = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
        beta = scipy.linalg.cho_solve(chol, self._xty - cx.T @ a_y)
        u = a_y - a_x @ beta
        b = lam @ u
        resid = self.model.y - self.model.X @ beta - self.model.Z @ b
        pwrss = float(resid @ (self._w * resid) + u @ u)
        result = Evaluation(theta.copy(), logdet_a, logdet_s, s_matrix, beta, u, pwrss)
        self._cache = (key, result)
        return result

    def deviance(self, theta: np.ndarray) -> float:
        """Deviance profiled over β and σ; ``inf`` where it cannot be evaluated."""
        try:
            ev = self.evaluate(theta)
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            return np.inf
        if not ev.pwrss > 0:
            return np.inf
        df = self.residual_df
        value = ev.logdet_a - self._log_weights + df * (1.0 + np.log(2.0 * np.pi * ev.pwrss / df))
        if self.reml:
            value += ev.logdet_s
        return float(value)

    def sigma(self, theta: np.ndarray) -> float:
        """Residual standard deviation σ̂ at θ."""
        return float(np.sqrt(self.evaluate(theta).pwrss / self.residual_df))

    def deviance_varpar(self, varpar: np.ndarray) -> float:
        """Unprofiled deviance at ``varpar = (θ, σ)`` (lmerTest's ``devfun_vp``)."""
        theta, sigma = np.asarray(varpar[:-1]), float(varpar[-1])
        ev = self.evaluate(theta)
        sigma2 = sigma * sigma
        value = (
            ev.logdet_a
            - self._log_weights
            + ev.pwrss / sigma2
            + self.n * np.log(2.0 * np.pi * sigma2)
        )
        if self.reml:
            value += ev.logdet_s - self.p * np.log(2.0 * np.pi * sigma2)
        return float(value)

    def vcov_beta(self, varpar: np.ndarray) -> np.ndarray:
        """``σ² S⁻¹ = (X'V⁻¹X)⁻¹`` at ``varpar = (θ, σ)``."""
        ev = self.evaluate(np.asarray(varpar[:-1]))
        inv = scipy.linalg.inv(ev.s_matrix)
        return float(varpar[-1]) ** 2 * (inv + inv.T) / 2

    def random_effects(self, theta: np.ndarray) -> np.ndarray:
        """Conditional modes ``b = Λu`` of the random effects."""
        ev = self.evaluate(theta)
        return np.asarray(self.model.make_lambda(theta) @ ev.u)
