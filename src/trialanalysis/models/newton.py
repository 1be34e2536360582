"""Damped Newton steps that polish an optimiser's answer.

Quasi-Newton optimisers stop a little short of the minimum; a few Newton
steps with an accurate Hessian bring the scaled gradient down to the level
lme4's convergence check expects. Both the random-effects fit
(:mod:`.fitting`) and the MMRM fit (:mod:`.mmrm`) use this one routine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SHRINK_FACTORS = (1.0, 0.5, 0.25, 0.125)


def newton_polish(
    fun: Callable[[np.ndarray], float],
    theta: np.ndarray,
    derivatives: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray] | None],
    steps: int,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Take up to ``steps`` Newton steps, halving each while ``fun`` rises.

    Parameters
    ----------
    fun : callable
        The criterion to minimise.
    theta : ndarray
        Starting point.
    derivatives : callable
        ``derivatives(theta)`` returns ``(index, gradient, hessian)``: the
        positions of the parameters to move and the derivatives of ``fun``
        in them, or ``None`` to stop.
    steps : int
        Maximum number of Newton steps.
    project : callable, optional
        Maps a trial point back into the parameter space (e.g. onto bounds).

    Returns
    -------
    ndarray
        The polished point; ``theta`` itself (a copy) when no step lowers
        ``fun`` or the Hessian is not positive definite.
    """
    current = np.array(theta, dtype=float)
    value = fun(current)
    for _ in range(steps):
        if not np.isfinite(value):
            break
        found = derivatives(current)
        if found is None:
            break
        index, grad, hess = found
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if np.linalg.eigvalsh(hess).min() <= 0:
            break
        for shrink in SHRINK_FACTORS:
            trial = current.copy()
            trial[index] = current[index] - shrink * step
            if project is not None:
                trial = project(trial)
            trial_value = fun(trial)
            if trial_value <= value:
                break
        else:
            break
        done = np.max(np.abs(trial - current)) < 1e-10
        current, value = trial, trial_value
        if done:
            break
    return current
