"""Satterthwaite and Kenward–Roger inference for a mixed model for repeated measures.

Both reuse the formulas of the random-effects engine
(:class:`~.satterthwaite.Satterthwaite`, :class:`~.kenward_roger.KenwardRoger`)
and differ only in how their ingredients are computed:

* Satterthwaite: ``A = 2H⁻¹`` with ``H`` the Hessian of the (RE)ML deviance
  in the optimiser's parameters θ (a numerical Jacobian of the exact
  gradient) and ``∂Φ/∂θ_k = −Φ P_k Φ`` exactly; the df are invariant to the
  parameterisation (as in mmrm and emmeans' ``mode = "satterthwaite"`` for
  ``nlme::gls``).
* Kenward–Roger (1997): in the natural (SAS) parameters ψ, with the
  expected information ``½ tr(P G_k P G_l)`` and, for structures that are
  not linear in ψ, the second-derivative term ``−¼ Σ W_kl R_kl`` in the
  adjusted covariance (SAS ``DDFM=KR``; mmrm's ``"Kenward-Roger"`` uses its
  own parameters instead, so for ``csh``, ``ar1``, ``ar1h`` and ``toeph``
  the adjusted SEs can differ slightly).
"""

from __future__ import annotations

import numpy as np

from trialanalysis.models import numderiv
from trialanalysis.models.kenward_roger import KenwardRoger
from trialanalysis.models.mmrm_criterion import MMRMCriterion
from trialanalysis.models.satterthwaite import Satterthwaite, varpar_covariance


def deviance_hessian(criterion: MMRMCriterion, theta: np.ndarray) -> np.ndarray:
    """Hessian of the deviance in θ: Richardson-extrapolated Jacobian of the exact gradient."""
    hess = numderiv.jacobian(criterion.gradient, theta)
    return (hess + hess.T) / 2


class MMRMSatterthwaite(Satterthwaite):
    """Satterthwaite df at a fitted MMRM (same ``df`` and ``f_test`` as lmerTest's)."""

    def __init__(self, criterion: MMRMCriterion, theta: np.ndarray, hessian: np.ndarray):
        sigma = criterion.structure.matrix(theta)
        self.vcov = criterion.solve(sigma)["vcov"]
        self.vcov_varpar, self.warnings = varpar_covariance(hessian)
        P = criterion.derivative_terms(sigma, criterion.structure.jacobian(theta))["P"]
        self.jacobian = [-self.vcov @ p_k @ self.vcov for p_k in P]


class MMRMKenwardRoger(KenwardRoger):
    """Kenward–Roger adjusted covariance and df at a REML-fitted MMRM."""

    def __init__(self, criterion: MMRMCriterion, theta: np.ndarray):
        structure = criterion.structure
        psi = structure.natural(theta)
        sigma = structure.matrix_natural(psi)
        second = None if structure.linear else structure.hessian_natural(psi)
        terms = criterion.derivative_terms(sigma, structure.jacobian_natural(psi), second)
        phi = criterion.solve(sigma)["vcov"]
        P, Q, K, R = terms["P"], terms["Q"], terms["K"], terms["R"]
        m = len(P)
        info = np.empty((m, m))
        for k in range(m):
            for j in range(m):
                info[k, j] = (
                    K[k, j] - 2 * np.sum(phi * Q[k, j]) + np.sum((phi @ P[k]) * (P[j] @ phi))
                )
        info = (info + info.T) / 2
        eig = np.linalg.eigvalsh(info)
        W = 2 * (np.linalg.inv(info) if np.min(np.abs(eig)) > 1e-10 else np.linalg.pinv(info))
        W = (W + W.T) / 2
        U = np.zeros_like(phi)
        for k in range(m):
            for j in range(m):
                U += W[k, j] * (Q[k, j] - P[k] @ phi @ P[j] - 0.25 * R[k, j])
        adjusted = phi + 2 * phi @ U @ phi
        self.vcov = phi
        self.vcov_adjusted = (adjusted + adjusted.T) / 2
        self.P, self.W = list(P), W
