"""Numerical derivatives with Richardson extrapolation.

The same scheme as R's numDeriv (which lmerTest uses for Satterthwaite's
method): central differences at steps ``h, h/2, h/4, h/8`` with
``h = 0.1·|x|`` (``1e-4`` where ``x`` is about zero), extrapolated to remove
the ``h²``, ``h⁴`` and ``h⁶`` error terms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_LEVELS = 4
_ZERO_TOL = np.sqrt(np.finfo(float).eps / 7e-7)


def _steps(x: np.ndarray) -> np.ndarray:
    return np.abs(0.1 * x) + 1e-4 * (np.abs(x) < _ZERO_TOL)


def _richardson(estimates: list[np.ndarray]) -> np.ndarray:
    """Extrapolate estimates made at steps h, h/2, h/4, … (error in even powers)."""
    table = [np.asarray(e, dtype=float) for e in estimates]
    for k in range(1, len(table)):
        factor = 4.0**k
        table = [(factor * table[i + 1] - table[i]) / (factor - 1) for i in range(len(table) - 1)]
    return table[0]


def jacobian(
    func: Callable[[np.ndarray], np.ndarray], x: np.ndarray, levels: int = _LEVELS
) -> np.ndarray:
    """Jacobian of an array-valued ``func`` at ``x``; shape ``func(x).shape + (len(x),)``."""
    x = np.asarray(x, dtype=float)
    base_steps = _steps(x)
    columns = []
    for i in range(len(x)):
        estimates = []
        for level in range(levels):
            h = base_steps[i] / 2.0**level
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            estimates.append((np.asarray(func(up)) - np.asarray(func(down))) / (2 * h))
        columns.append(_richardson(estimates))
    return np.stack(columns, axis=-1)


def gradient(
    func: Callable[[np.ndarray], float], x: np.ndarray, levels: int = _LEVELS
) -> np.ndarray:
    """Gradient of a scalar ``func`` at ``x``."""
    return jacobian(lambda z: np.asarray([func(z)]), x, levels)[0]


def hessian(
    func: Callable[[np.ndarray], float], x: np.ndarray, levels: int = _LEVELS
) -> np.ndarray:
    """Hessian of a scalar ``func`` at ``x`` (symmetric)."""
    x = np.asarray(x, dtype=float)
    m = len(x)
    base_steps = _steps(x)
    f0 = func(x)
    result = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1):
            estimates = []
            for level in range(levels):
                hi = base_steps[i] / 2.0**level
                hj = base_steps[j] / 2.0**level
                if i == j:
                    up, down = x.copy(), x.copy()
                    up[i] += 2 * hi
                    down[i] -= 2 * hi
                    estimates.append((func(up) - 2 * f0 + func(down)) / (4 * hi * hi))
                    continue
                values = []
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    z = x.copy()
                    z[i] += si * hi
                    z[j] += sj * hj
                    values.append(func(z))
                estimates.append((values[0] - values[1] - values[2] + values[3]) / (4 * hi * hj))
            result[i, j] = result[j, i] = float(_richardson(estimates))
    return result
