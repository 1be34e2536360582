"""Kenward–Roger adjusted covariance matrix and degrees of freedom.

Kenward & Roger (1997, *Biometrics* 53:983–997), computed as pbkrtest does
(Halekoh & Højsgaard 2014, *J Stat Softw* 59(9)): ``V = Σ_r γ_r G_r`` is
linear in the variance–covariance parameters γ (each element of each random
term's covariance matrix, then the residual variance). With ``Φ = (X'V⁻¹X)⁻¹``,

    P_r = −X'V⁻¹G_rV⁻¹X,   Q_rs = X'V⁻¹G_rV⁻¹G_sV⁻¹X,
    W = 2 · I₂⁻¹,  I₂[r, s] = tr(V⁻¹G_rV⁻¹G_s) − 2 tr(ΦQ_rs) + tr(ΦP_rΦP_s),
    Φ_A = Φ + 2Φ {Σ_rs W_rs (Q_rs − P_rΦP_s)} Φ.

V is block diagonal over independent groups of observations (clusters of a
nested design), and every quantity is a sum over blocks, each handled as a
dense matrix. A block larger than ``MAX_BLOCK_ROWS`` (e.g. fully crossed
factors on large data) is refused, as dense n × n algebra would not finish.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.stats

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.criterion import Criterion

MAX_BLOCK_ROWS = 3000


class KenwardRoger:
    """Kenward–Roger quantities at a REML fit.

    Parameters
    ----------
    criterion : Criterion
        Must use REML.
    theta : array
        Fitted θ.
    sigma : float
        Fitted residual standard deviation.
    """

    def __init__(self, criterion: Criterion, theta: np.ndarray, sigma: float):
        if not criterion.reml:
            raise ModelSpecificationError(
                "Kenward-Roger needs a REML fit; refit with reml=True or use satterthwaite"
            )
        model = criterion.model
        labels = model.block_of_row
        sizes = np.bincount(labels)
        if sizes.max() > MAX_BLOCK_ROWS:
            raise ModelSpecificationError(
                f"Kenward-Roger needs dense algebra on the largest independent block of "
                f"{sizes.max()} observations (limit {MAX_BLOCK_ROWS}); use "
                "df_method='satterthwaite', which agrees closely for such sizes"
            )
        self.vcov = criterion.vcov_beta(np.r_[theta, sigma])
        gamma = _gamma(model, theta, sigma)
        m, p = len(gamma), model.X.shape[1]
        P = [np.zeros((p, p)) for _ in range(m)]
        Q = {(r, s): np.zeros((p, p)) for r in range(m) for s in range(r, m)}
        K = np.zeros((m, m))
        order = np.argsort(labels, kind="stable")
        bounds = np.cumsum(np.r_[0, sizes])
        for b in range(len(sizes)):
            rows = order[bounds[b] : bounds[b + 1]]
            G = _g_matrices(model, rows)
            V = sum(g * mat for g, mat in zip(gamma, G, strict=True))
            V_inv = scipy.linalg.cho_solve(scipy.linalg.cho_factor(V), np.eye(len(rows)))
            Xb = model.X[rows]
            T = V_inv @ Xb
            H = [mat @ V_inv for mat in G]
            GVX = [h @ Xb for h in H]
            for r in range(m):
                P[r] -= GVX[r].T @ T
                for s in range(r, m):
                    Q[r, s] += GVX[r].T @ V_inv @ GVX[s]
                    K[r, s] += np.sum(H[r].T * H[s])
        phi = self.vcov
        info = np.zeros((m, m))
        for r in range(m):
            for s in range(r, m):
                info[r, s] = info[s, r] = (
                    K[r, s] - 2 * np.sum(phi * Q[r, s]) + np.sum((phi @ P[r]) * (P[s] @ phi))
                )
        eig = np.linalg.eigvalsh(info)
        W = 2 * (np.linalg.inv(info) if np.min(np.abs(eig)) > 1e-10 else np.linalg.pinv(info))
        W = (W + W.T) / 2
        U = np.zeros((p, p))
        for r in range(m):
            for s in range(m):
                q_rs = Q[r, s] if r <= s else Q[s, r].T
                U += W[r, s] * (q_rs - P[r] @ phi @ P[s])
        self.vcov_adjusted = phi + 2 * phi @ U @ phi
        self.vcov_adjusted = (self.vcov_adjusted + self.vcov_adjusted.T) / 2
        self.P, self.W = P, W

    def _a_terms(self, contrasts: np.ndarray) -> tuple[float, float]:
        phi = self.vcov
        theta = contrasts.T @ np.linalg.solve(contrasts @ phi @ contrasts.T, contrasts)
        u = [theta @ phi @ p_r @ phi for p_r in self.P]
        a1 = a2 = 0.0
        m = len(self.P)
        for r in range(m):
            for s in range(r, m):
                e = 1.0 if r == s else 2.0
                a1 += e * self.W[r, s] * np.trace(u[r]) * np.trace(u[s])
                a2 += e * self.W[r, s] * np.sum(u[r] * u[s].T)
        return a1, a2

    def df_and_scale(self, contrasts: np.ndarray) -> tuple[float, float]:
        """Denominator df and F scaling factor for the hypothesis ``L β = 0``."""
        contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
        q = np.linalg.matrix_rank(contrasts)
        a1, a2 = self._a_terms(contrasts)
        b = (a1 + 6 * a2) / (2 * q)
        g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        denom = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
        v0 = 1 + c1 * b
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        v1, v2 = 1 - c2 * b, 1 - c3 * b
        ratio = 1.0 if abs(1 - a2 / q) < 1e-14 and abs(v1) < 1e-14 else (1 - a2 / q) / v1
        rho = ratio**2 * v0 / (q * v2)
        df = 4 + (q + 2) / (q * rho - 1)
        scale = 1.0 if abs(df - 2) < 1e-2 else df * (1 - a2 / q) / (df - 2)
        return float(df), float(scale)

    def df(self, contrast: np.ndarray) -> float:
        """Denominator df for one contrast row."""
        return self.df_and_scale(np.atleast_2d(contrast))[0]

    def f_test(self, contrasts: np.ndarray, beta: np.ndarray) -> tuple[float, int, float]:
        """Scaled F statistic, numerator df and denominator df (pbkrtest's KRmodcomp)."""
        contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
        q = int(np.linalg.matrix_rank(contrasts))
        estimate = contrasts @ beta
        wald = estimate @ np.linalg.solve(contrasts @ self.vcov_adjusted @ contrasts.T, estimate)
        df, scale = self.df_and_scale(contrasts)
        return float(scale * wald / q), q, df


def _gamma(model, theta: np.ndarray, sigma: float) -> np.ndarray:
    """Variance–covariance parameters: lower triangles of each Σ_k, then σ²."""
    values = []
    for block in model.blocks:
        t = np.zeros((block.q, block.q))
        for k, (r, c) in enumerate(block.lower_triangle()):
            t[r, c] = theta[block.theta_offset + k]
        cov = sigma**2 * t @ t.T
        values.extend(cov[r, c] for r, c in block.lower_triangle())
    values.append(sigma**2)
    return np.array(values)


def _g_matrices(model, rows: np.ndarray) -> list[np.ndarray]:
    """∂V/∂γ_r restricted to ``rows``, in the order of :func:`_gamma`."""
    matrices = []
    for block in model.blocks:
        codes = block.codes[rows]
        same = (codes[:, None] == codes[None, :]).astype(float)
        x = block.model_matrix[rows]
        for r, c in block.lower_triangle():
            outer = np.outer(x[:, r], x[:, c])
            if r != c:
                outer = outer + outer.T
            matrices.append(same * outer)
    matrices.append(np.eye(len(rows)))
    return matrices


def f_p_value(statistic: float, df1: float, df2: float) -> float:
    """Upper-tail p-value of an F statistic."""
    return float(scipy.stats.f.sf(statistic, df1, df2))
