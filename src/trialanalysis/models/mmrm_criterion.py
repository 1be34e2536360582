"""The (RE)ML criterion of a mixed model for repeated measures and its derivatives.

The model is ``y_i = X_i β + ε_i``, ``ε_i ~ N(0, Σ_i)``, independent over
subjects, where ``Σ_i`` is the sub-matrix of the visit covariance ``Σ(θ)`` at
the visits subject ``i`` was observed. Subjects are grouped by their pattern
of observed visits, so each distinct sub-matrix is factorised once. With
``M = Σ_i X_i'Σ_i⁻¹X_i``, ``β̂ = M⁻¹ Σ_i X_i'Σ_i⁻¹y_i`` and ``r_i = y_i − X_iβ̂``:

    −2 log L_ML   = n log 2π + Σ_i log|Σ_i| + Σ_i r_i'Σ_i⁻¹r_i
    −2 log L_REML = (n − p) log 2π + Σ_i log|Σ_i| + log|M| + Σ_i r_i'Σ_i⁻¹r_i

(``−2 × logLik`` of ``nlme::gls``; the REML form without a ``log|X'X|``
term, as in lme4 and SAS). The gradient is exact: with
``e_i = Σ_i⁻¹r_i`` and, for REML, ``B_i = Σ_i⁻¹X_iM⁻¹X_i'Σ_i⁻¹``,
``∂(−2 log L)/∂Σ`` is the sum over subjects of ``Σ_i⁻¹ − e_ie_i' − B_i``
placed at their visits, contracted with ``∂Σ/∂θ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from trialanalysis.models.covariance import Structure

LOG_2PI = float(np.log(2 * np.pi))


@dataclass
class Pattern:
    """Subjects observed at the same visits."""

    visits: np.ndarray  # visit indices (k,)
    rows: np.ndarray  # row indices into the model data, shape (n_subjects, k)
    y: np.ndarray  # (n_subjects, k)
    X: np.ndarray  # (n_subjects, k, p)


def make_patterns(y: np.ndarray, X: np.ndarray, subject: np.ndarray, visit: np.ndarray):
    """Group rows by subject and subjects by their observed visits.

    Parameters
    ----------
    y, X : arrays
        Response and fixed-effect matrix of the rows used.
    subject, visit : integer arrays
        Subject code and visit index (0-based) per row; each (subject,
        visit) pair occurs once.

    Returns
    -------
    list of Pattern
    """
    order = np.lexsort((visit, subject))
    by_subject: dict[int, list[int]] = {}
    for row in order:
        by_subject.setdefault(int(subject[row]), []).append(int(row))
    groups: dict[tuple, list[list[int]]] = {}
    for rows in by_subject.values():
        groups.setdefault(tuple(visit[rows]), []).append(rows)
    patterns = []
    for key in sorted(groups, key=lambda k: (len(k), k)):
        rows = np.array(groups[key], dtype=np.int64)
        patterns.append(Pattern(np.array(key, dtype=np.int64), rows, y[rows], X[rows]))
    return patterns


class MMRMCriterion:
    """Deviance, gradient and fixed effects as functions of the covariance parameters.

    Parameters
    ----------
    patterns : list of Pattern
    structure : Structure
    reml : bool
    """

    def __init__(self, patterns: list[Pattern], structure: Structure, reml: bool = True):
        self.patterns, self.structure, self.reml = patterns, structure, reml
        self.n = int(sum(p.y.size for p in patterns))
        self.p = int(patterns[0].X.shape[2])

    # ------------------------------------------------------------ evaluation
    def _factors(self, sigma: np.ndarray):
        factors = []
        for pattern in self.patterns:
            sub = sigma[np.ix_(pattern.visits, pattern.visits)]
            chol = scipy.linalg.cho_factor(sub, lower=True)
            inverse = scipy.linalg.cho_solve(chol, np.eye(len(pattern.visits)))
            logdet = 2.0 * np.sum(np.log(np.diag(chol[0])))
            factors.append((inverse, logdet))
        return factors

    def solve(self, sigma: np.ndarray) -> dict:
        """GLS quantities at a visit covariance Σ (raises LinAlgError if not PD)."""
        factors = self._factors(sigma)
        M = np.zeros((self.p, self.p))
        c = np.zeros(self.p)
        logdet = 0.0
        for pattern, (inverse, ld) in zip(self.patterns, factors, strict=True):
            SX = np.einsum("ab,nbp->nap", inverse, pattern.X)
            M += np.einsum("nap,naq->pq", pattern.X, SX)
            c += np.einsum("nap,na->p", SX, pattern.y)
            logdet += len(pattern.y) * ld
        M_chol = scipy.linalg.cho_factor(M, lower=True)
        beta = scipy.linalg.cho_solve(M_chol, c)
        vcov = scipy.linalg.cho_solve(M_chol, np.eye(self.p))
        quad = 0.0
        residual_scaled = []
        for pattern, (inverse, _) in zip(self.patterns, factors, strict=True):
            e = (pattern.y - pattern.X @ beta) @ inverse
            quad += float(np.sum(e * (pattern.y - pattern.X @ beta)))
            residual_scaled.append(e)
        logdet_m = 2.0 * np.sum(np.log(np.diag(M_chol[0])))
        deviance = self.n * LOG_2PI + logdet + quad
        if self.reml:
            deviance += logdet_m - self.p * LOG_2PI
        return {
            "factors": factors,
            "beta": beta,
            "vcov": vcov,
            "deviance": float(deviance),
            "e": residual_scaled,
        }

    def deviance(self, theta: np.ndarray) -> float:
        """−2 log (restricted) likelihood at θ; ``inf`` where Σ is not positive definite."""
        try:
            return self.solve(self.structure.matrix(np.asarray(theta, dtype=float)))["deviance"]
        except (np.linalg.LinAlgError, ValueError):
            return np.inf

    def sigma_gradient(self, solution: dict) -> np.ndarray:
        """∂(−2 log L)/∂Σ as a symmetric T × T matrix (see the module docstring)."""
        T = self.structure.T
        W = np.zeros((T, T))
        vcov = solution["vcov"]
        for pattern, (inverse, _), e in zip(
            self.patterns, solution["factors"], solution["e"], strict=True
        ):
            part = len(pattern.y) * inverse - e.T @ e
            if self.reml:
                SX = np.einsum("ab,nbp->nap", inverse, pattern.X)
                part -= np.einsum("nap,pq,nbq->ab", SX, vcov, SX)
            W[np.ix_(pattern.visits, pattern.visits)] += part
        return W

    def deviance_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Deviance and its exact gradient in θ (``inf`` and zeros off the domain)."""
        theta = np.asarray(theta, dtype=float)
        try:
            solution = self.solve(self.structure.matrix(theta))
        except (np.linalg.LinAlgError, ValueError):
            return np.inf, np.zeros_like(theta)
        W = self.sigma_gradient(solution)
        jac = self.structure.jacobian(theta)
        return solution["deviance"], np.einsum("kab,ab->k", jac, W)

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """Exact gradient of the deviance in θ."""
        return self.deviance_and_gradient(theta)[1]

    # ------------------------------------------------- small-sample inference
    def derivative_terms(self, sigma: np.ndarray, dsigma: np.ndarray, second=None) -> dict:
        """Kenward–Roger building blocks for parameters with ``∂Σ/∂ψ_k = dsigma[k]``.

        Returns ``P[k] = −Σ_i X_i'Σ_i⁻¹G_kΣ_i⁻¹X_i``, ``Q[k, l] = Σ_i
        X_i'Σ_i⁻¹G_kΣ_i⁻¹G_lΣ_i⁻¹X_i``, ``K[k, l] = Σ_i tr(Σ_i⁻¹G_kΣ_i⁻¹G_l)``
        and, when ``second`` (∂²Σ) is given, ``R[k, l] = Σ_i
        X_i'Σ_i⁻¹(∂²Σ/∂ψ_k∂ψ_l)Σ_i⁻¹X_i``.
        """
        m, p = len(dsigma), self.p
        P = np.zeros((m, p, p))
        Q = np.zeros((m, m, p, p))
        K = np.zeros((m, m))
        R = np.zeros((m, m, p, p))
        for pattern, (inverse, _) in zip(self.patterns, self._factors(sigma), strict=True):
            idx = np.ix_(pattern.visits, pattern.visits)
            G = dsigma[(slice(None), *idx)]
            SX = np.einsum("ab,nbp->nap", inverse, pattern.X)
            F = np.einsum("kab,nbp->knap", G, SX)
            P -= np.einsum("nap,knaq->kpq", SX, F)
            SF = np.einsum("ab,knbp->knap", inverse, F)
            Q += np.einsum("knap,lnaq->klpq", F, SF)
            H = np.einsum("ab,kbc->kac", inverse, G)
            K += len(pattern.y) * np.einsum("kab,lba->kl", H, H)
            if second is not None:
                G2 = second[(slice(None), slice(None), *idx)]
                R += np.einsum("nap,klab,nbq->klpq", SX, G2, SX)
        return {"P": P, "Q": Q, "K": K, "R": R}
