"""Minimise the (RE)ML criterion over θ, safely and with a full record.

Optimisers are tried in a fixed order (L-BFGS-B with central-difference
gradients, then the derivative-free Nelder–Mead and Powell), each started at
the best point found so far; interior parameters are polished with Newton
steps. Convergence is judged as lme4 does: the gradient scaled by the
inverse Hessian must be small and the Hessian positive definite.

Boundary fits (a variance estimated at zero) are made exact: a diagonal
entry of θ below ``BOUNDARY_TOL`` is set to 0 and the other parameters are
re-optimised, so the fixed effects are those of the model without that
term, as in lme4's singular fits. This is the guard against statsmodels
issue 10239, where MixedLM returned wrong fixed effects with
``converged=True`` once a variance component reached zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

from trialanalysis.models import numderiv
from trialanalysis.models.criterion import Criterion
from trialanalysis.models.newton import newton_polish

BOUNDARY_TOL = 1e-4
GRADIENT_TOL = 2e-3
OPTIMIZERS = ("L-BFGS-B", "Nelder-Mead", "Powell")


@dataclass
class OptimisationRecord:
    """What happened while minimising the criterion."""

    theta: np.ndarray
    deviance: float
    optimizer: str
    converged: bool
    attempts: list[dict] = field(default_factory=list)
    boundary_parameters: list[int] = field(default_factory=list)
    scaled_gradient: float = np.nan
    min_hessian_eigenvalue: float = np.nan
    messages: list[str] = field(default_factory=list)


def optimise(criterion: Criterion, start: np.ndarray | None = None) -> OptimisationRecord:
    """Find θ̂ minimising the profiled deviance.

    Parameters
    ----------
    criterion : Criterion
    start : array, optional
        Starting θ (default: lme4's, identity covariance factors).

    Returns
    -------
    OptimisationRecord
    """
    model = criterion.model
    lower = model.theta_lower_bounds
    theta0 = model.theta_start() if start is None else np.asarray(start, dtype=float)
    record = OptimisationRecord(theta0, criterion.deviance(theta0), "", False)

    def attempt(name: str, theta: np.ndarray, label: str) -> None:
        theta_new, message = _run(name, criterion.deviance, theta, lower)
        theta_new = _polish(criterion.deviance, theta_new, lower)
        theta_new = _snap_boundary(criterion.deviance, theta_new, lower)
        value = criterion.deviance(theta_new)
        converged, scaled, min_eig = _check(criterion.deviance, theta_new, lower)
        record.attempts.append(
            {"optimizer": label, "deviance": value, "converged": converged, "message": message}
        )
        better = value < record.deviance - 1e-10
        tie_but_converged = value <= record.deviance + 1e-10 and converged
        if not record.optimizer or better or (tie_but_converged and not record.converged):
            record.theta, record.deviance = theta_new, value
            record.optimizer, record.converged = label, converged
            record.scaled_gradient, record.min_hessian_eigenvalue = scaled, min_eig

    attempt("L-BFGS-B", theta0, "L-BFGS-B")
    # A diagonal entry at zero may be a saddle point reached on the way:
    # restart with it moved away from the boundary.
    for index in _at_bound(record.theta, lower):
        restart = record.theta.copy()
        restart[index] = max(1.0, float(np.max(np.abs(record.theta))))
        attempt("L-BFGS-B", restart, "L-BFGS-B (restart off the boundary)")
    for name in OPTIMIZERS[1:]:
        if record.converged:
            break
        attempt(name, record.theta, name)
    record.boundary_parameters = [int(i) for i in _at_bound(record.theta, lower)]
    if not np.isfinite(record.deviance):
        record.converged = False
        record.messages.append("the criterion could not be evaluated at any point tried")
    return record


def _at_bound(theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isfinite(lower) & (theta == 0.0))


def _run(name: str, fun, theta: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, str]:
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    options = {
        "L-BFGS-B": {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9},
        "Nelder-Mead": {"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-12},
        "Powell": {"maxiter": 20000, "xtol": 1e-10, "ftol": 1e-14},
    }[name]
    kwargs = {"jac": "2-point"} if name == "L-BFGS-B" else {}
    try:
        result = scipy.optimize.minimize(
            fun, theta, method=name, bounds=bounds, options=options, **kwargs
        )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        return theta, f"failed: {exc}"
    candidate = np.maximum(
        np.asarray(result.x, dtype=float), np.where(np.isfinite(lower), 0, -np.inf)
    )
    return candidate, str(result.message)


def _free(theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    return ~(np.isfinite(lower) & (theta <= lower + 1e-12))


def _polish(fun, theta: np.ndarray, lower: np.ndarray, steps: int = 5) -> np.ndarray:
    """Newton steps on the parameters that are not at their bound."""

    def derivatives(current: np.ndarray):
        sub = np.flatnonzero(_free(current, lower))
        if sub.size == 0:
            return None

        def restricted(z):
            full = current.copy()
            full[sub] = z
            return fun(full)

        grad = numderiv.gradient(restricted, current[sub], levels=2)
        return sub, grad, numderiv.hessian(restricted, current[sub], levels=2)

    floor = np.where(np.isfinite(lower), lower, -np.inf)
    return newton_polish(fun, theta, derivatives, steps, lambda t: np.maximum(t, floor))


def _snap_boundary(fun, theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Set near-zero diagonal θ entries to exactly zero if that is no worse."""
    near = np.flatnonzero(np.isfinite(lower) & (theta > 0) & (theta < BOUNDARY_TOL))
    if near.size == 0:
        return theta
    snapped = theta.copy()
    snapped[near] = 0.0
    free = np.setdiff1d(np.arange(len(theta)), near)
    if free.size:
        bounds = [(lower[i] if np.isfinite(lower[i]) else None, None) for i in free]

        def restricted(z):
            full = snapped.copy()
            full[free] = z
            return fun(full)

        result = scipy.optimize.minimize(
            restricted,
            snapped[free],
            method="L-BFGS-B",
            jac="3-point",
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000},
        )
        snapped[free] = np.maximum(
            result.x, [b[0] if b[0] is not None else -np.inf for b in bounds]
        )
        snapped = _polish(fun, snapped, np.where(np.isin(np.arange(len(theta)), near), 0.0, lower))
    return snapped if fun(snapped) <= fun(theta) + 1e-7 else theta


def _check(fun, theta: np.ndarray, lower: np.ndarray) -> tuple[bool, float, float]:
    """lme4-style convergence check; boundary entries must not be saddle points."""
    value = fun(theta)
    if not np.isfinite(value):
        return False, np.inf, np.nan
    at_bound = np.isfinite(lower) & (theta == 0.0)
    for index in np.flatnonzero(at_bound):
        for h in (1e-3, 1e-2, 1e-1):
            probe = theta.copy()
            probe[index] = h
            if fun(probe) < value - 1e-9:
                return False, np.nan, np.nan
    if at_bound.all():
        return True, 0.0, np.nan
    sub = np.flatnonzero(~at_bound)

    def restricted(z):
        full = theta.copy()
        full[sub] = z
        return fun(full)

    grad = numderiv.gradient(restricted, theta[sub], levels=2)
    hess = numderiv.hessian(restricted, theta[sub], levels=2)
    eigenvalues = np.linalg.eigvalsh(hess)
    if eigenvalues.min() <= 0:
        return False, float(np.max(np.abs(grad))), float(eigenvalues.min())
    scaled = float(np.max(np.abs(np.linalg.solve(hess, grad))))
    return scaled < GRADIENT_TOL, scaled, float(eigenvalues.min())
