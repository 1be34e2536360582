"""Multiplicity adjustment of a family of primary hypotheses.

Adjusted p-values for the strategies a trial's statistical analysis plan
names for its primary family:

- ``none``: the raw p-values;
- ``holm``: Holm's step-down procedure, ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))``
  (R ``p.adjust(method = "holm")``);
- ``hochberg``: Hochberg's step-up procedure, ``p̃_(i) = min_{j ≥ i} min(1, (m − j + 1) p_(j))``
  (R ``p.adjust(method = "hochberg")``);
- ``hierarchical``: the fixed-sequence (gatekeeping) procedure: the
  hypotheses are tested in a pre-specified order, each at the full level,
  and testing stops at the first one not rejected. Its adjusted p-value is
  the running maximum along the order, ``p̃_k = max_{j ≤ k} p_j``, so
  ``H_k`` is rejected at level α exactly when ``p̃_k ≤ α``.

Missing p-values (a model that could not be fitted) stay missing; Holm and
Hochberg then adjust over the hypotheses present (as ``p.adjust`` does with
``NA``), and in the fixed sequence every hypothesis after a missing one gets
the adjusted p-value 1 (the gate is not passed, so it cannot be rejected).

References
----------
Holm S. A simple sequentially rejective multiple test procedure. Scand J
Stat 1979;6:65-70. Hochberg Y. A sharper Bonferroni procedure for multiple
tests of significance. Biometrika 1988;75:800-2. Maurer W, Hothorn LA,
Lehmacher W. Multiple comparisons in drug clinical trials and preclinical
assays: a-priori ordered hypotheses. Biometrie in der chemisch-pharmazeutischen
Industrie 1995;6:3-18. EMA. Guideline on multiplicity issues in clinical
trials (draft), 2017.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trialanalysis.errors import ConfigError

METHODS = ("none", "holm", "hochberg", "hierarchical")
#: How each method is named in report text.
METHOD_TEXT = {
    "none": "no adjustment for multiplicity",
    "holm": "Holm's step-down procedure",
    "hochberg": "Hochberg's step-up procedure",
    "hierarchical": "a fixed-sequence (hierarchical) procedure",
}


def _step(p: np.ndarray, down: bool) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    if down:
        steps = np.maximum.accumulate(scaled)
    else:
        steps = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = steps
    return adjusted


def fixed_sequence(p_values: Sequence[float]) -> np.ndarray:
    """Return the fixed-sequence adjusted p-values, in the given order."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.empty_like(p)
    running, gate_open = 0.0, True
    for i, value in enumerate(p):
        if np.isnan(value):
            adjusted[i], gate_open = np.nan, False
            continue
        running = max(running, value)
        adjusted[i] = min(1.0, running) if gate_open else 1.0
    return adjusted


def adjust(
    p_values: Sequence[float],
    method: str,
    names: Sequence[str] | None = None,
    order: Sequence[str] | None = None,
) -> np.ndarray:
    """Adjust a family of p-values for multiplicity.

    Parameters
    ----------
    p_values : sequence of float
        Raw two-sided p-values in [0, 1]; NaN for a hypothesis not tested.
    method : {"none", "holm", "hochberg", "hierarchical"}
    names : sequence of str, optional
        Name of each hypothesis (needed with ``order``).
    order : sequence of str, optional
        For ``hierarchical``: the names in testing order (every name exactly
        once). Empty or None: the order of ``p_values``.

    Returns
    -------
    ndarray
        Adjusted p-values aligned with ``p_values``.

    Raises
    ------
    ConfigError
        For an unknown method, a p-value outside [0, 1], or an ``order``
        that is not a permutation of ``names``.

    Examples
    --------
    >>> adjust([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust([0.01, 0.04, 0.03], "hierarchical").tolist()
    [0.01, 0.04, 0.04]
    """
    if method not in METHODS:
        raise ConfigError(f"multiplicity method {method!r} is not one of {', '.join(METHODS)}")
    p = np.asarray(p_values, dtype=float)
    present = ~np.isnan(p)
    if np.any((p[present] < 0) | (p[present] > 1)):
        raise ConfigError(f"p-values must lie in [0, 1], got {p[present].tolist()}")
    adjusted = p.copy()
    if method in ("holm", "hochberg") and present.any():
        adjusted[present] = _step(p[present], down=method == "holm")
    elif method == "hierarchical":
        position = np.arange(len(p))
        if order:
            names = list(names or [])
            if sorted(order) != sorted(names) or len(set(order)) != len(order):
                raise ConfigError(
                    f"multiplicity.order {list(order)} must list each primary hypothesis "
                    f"exactly once: {names}"
                )
            position = np.array([names.index(name) for name in order])
        adjusted[position] = fixed_sequence(p[position])
    return adjusted
