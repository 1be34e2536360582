"""The (RE)ML criterion of a linear mixed model, evaluated as lme4 does.

For a given θ the penalised least-squares problem

    min over (β, u) of ‖y − Xβ − ZΛu‖² + ‖u‖²

is solved through the sparse symmetric positive-definite matrix
``A = Λ'Z'ZΛ + I`` and the Schur complement ``S = X'X − X'ZΛ A⁻¹ Λ'Z'X``
(``S = R_X'R_X`` in lme4's notation, and ``σ² S⁻¹ = (X'V⁻¹X)⁻¹``). With the
penalised residual sum of squares ``r²``, the deviances profiled over σ are

    ML:   log|A| + n (1 + log(2π r² / n))
    REML: log|A| + log|S| + (n − p)(1 + log(2π r² / (n − p)))

(Bates et al. 2015, eqs. 34 and 41). :meth:`Criterion.deviance_varpar`
evaluates the unprofiled deviance at ``(θ, σ)``, the function whose Hessian
lmerTest uses for Satterthwaite's degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from trialanalysis.models.design import ModelData


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
        Z = model.Z
        self._ztz = (Z.T @ Z).tocsc()
        self._ztx = np.asarray(Z.T @ model.X)
        self._zty = np.asarray(Z.T @ model.y).ravel()
        self._xtx = model.X.T @ model.X
        self._xty = model.X.T @ model.y
        self._identity = sp.identity(Z.shape[1], format="csc")
        self._cache: tuple[bytes, Evaluation] | None = None
        # Fast path when every term is scalar (random intercepts or single
        # slopes): Λ is diagonal, so Λ'Z'ZΛ + I only rescales a fixed pattern.
        self._diagonal = all(block.q == 1 for block in model.blocks)
        if self._diagonal:
            pattern = (self._ztz + self._identity).tocsc()
            pattern.sort_indices()
            cols = np.repeat(np.arange(pattern.shape[1]), np.diff(pattern.indptr))
            is_diag = (pattern.indices == cols).astype(float)
            self._pattern = pattern
            self._pattern_rows, self._pattern_cols = pattern.indices, cols
            self._pattern_base, self._pattern_diag = pattern.data - is_diag, is_diag
            self._theta_of_column = np.concatenate(
                [np.full(b.n_levels, b.theta_offset) for b in model.blocks]
            )

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
        if self._diagonal:
            scale = theta[self._theta_of_column]
            data = (
                self._pattern_base * scale[self._pattern_rows] * scale[self._pattern_cols]
                + self._pattern_diag
            )
            a_matrix = sp.csc_matrix(
                (data, self._pattern.indices, self._pattern.indptr), shape=self._pattern.shape
            )
            cx, cy = scale[:, None] * self._ztx, scale * self._zty
        else:
            lam = self.model.make_lambda(theta)
            a_matrix = (lam.T @ self._ztz @ lam + self._identity).tocsc()
            cx, cy = np.asarray(lam.T @ self._ztx), lam.T @ self._zty
        lu = splu(
            a_matrix,
            permc_spec="MMD_AT_PLUS_A",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )
        diag_u = lu.U.diagonal()
        if np.any(diag_u <= 0) or not np.all(np.isfinite(diag_u)):
            raise np.linalg.LinAlgError("Λ'Z'ZΛ + I is not positive definite")
        logdet_a = float(np.sum(np.log(diag_u)))
        solved = lu.solve(np.column_stack([cy, cx]))
        a_y, a_x = solved[:, 0], solved[:, 1:]
        s_matrix = self._xtx - cx.T @ a_x
        s_matrix = (s_matrix + s_matrix.T) / 2
        chol = scipy.linalg.cho_factor(s_matrix, lower=True)
        logdet_s = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
        beta = scipy.linalg.cho_solve(chol, self._xty - cx.T @ a_y)
        u = a_y - a_x @ beta
        b = scale * u if self._diagonal else lam @ u
        resid = self.model.y - self.model.X @ beta - self.model.Z @ b
        pwrss = float(resid @ resid + u @ u)
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
        value = ev.logdet_a + df * (1.0 + np.log(2.0 * np.pi * ev.pwrss / df))
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
        value = ev.logdet_a + ev.pwrss / sigma2 + self.n * np.log(2.0 * np.pi * sigma2)
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
