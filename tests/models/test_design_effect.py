"""Stepped-design design effect: closed forms and an independent dense GLS."""

from __future__ import annotations

import numpy as np
import pytest

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.stepped_design import stepped_design_effect


def staircase(k: int, b: int, t: int, per_step: int) -> np.ndarray:
    """Complete stepped wedge: k steps, b baseline periods, t periods per step."""
    rows = []
    for step in range(k):
        row = [0] * b + [1 if j >= step * t else 0 for j in range(k * t)]
        rows += [row] * per_step
    return np.array(rows, dtype=float)


def hussey_hughes_variance(x: np.ndarray, m: int, icc: float) -> float:
    """Hussey & Hughes (2007) closed form, total variance 1, cluster-period size m."""
    i, j = x.shape
    u, w, v = x.sum(), (x.sum(axis=0) ** 2).sum(), (x.sum(axis=1) ** 2).sum()
    s2, t2 = (1 - icc) / m, icc
    return i * s2 * (s2 + j * t2) / ((i * u - w) * s2 + (u**2 + i * j * u - j * w - i * v) * t2)


def dense_gls_variance(x, sizes, icc, cac) -> float:
    """Individual-level GLS with explicit V (independent of the module's algebra)."""
    rows, cluster, period = [], [], []
    for i, j in zip(*np.nonzero(~np.isnan(x) & (sizes > 0)), strict=True):
        for _ in range(int(sizes[i, j])):
            rows.append((i, j, x[i, j]))
    rows = np.array(rows)
    cluster, period, treat = rows[:, 0], rows[:, 1], rows[:, 2]
    periods = np.unique(period)
    design = np.column_stack([period == p for p in periods] + [treat]).astype(float)
    same_c = cluster[:, None] == cluster[None, :]
    same_cp = same_c & (period[:, None] == period[None, :])
    v = icc * cac * same_c + icc * (1 - cac) * same_cp + (1 - icc) * np.eye(len(rows))
    info = design.T @ np.linalg.solve(v, design)
    return float(np.linalg.inv(info)[-1, -1])


@pytest.mark.parametrize(
    ("k", "b", "t", "m", "icc", "per_step"),
    [(4, 1, 1, 10, 0.05, 1), (4, 1, 1, 10, 0.05, 3), (3, 2, 2, 5, 0.1, 2), (6, 1, 1, 20, 0.01, 1)],
)
def test_complete_stepped_wedge_matches_hussey_hughes_and_woertman(k, b, t, m, icc, per_step):
    x = staircase(k, b, t, per_step)
    result = stepped_design_effect(x, np.full(x.shape, m), icc)
    closed = hussey_hughes_variance(x, m, icc)
    assert result["variance"] == pytest.approx(closed, rel=1e-10)
    assert result["design_effect"] == pytest.approx(x.size * m * closed / 4, rel=1e-10)
    # Woertman et al. 2013, counting individuals per measurement occasion
    woertman = (
        (1 + icc * (k * t * m + b * m - 1))
        / (1 + icc * (0.5 * k * t * m + b * m - 1))
        * 3
        * (1 - icc)
        / (2 * t * (k - 1 / k))
    )
    assert result["design_effect"] == pytest.approx((b + k * t) * woertman, rel=1e-10)


def test_parallel_design_is_eldridge():
    x = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    result = stepped_design_effect(x, np.full(x.shape, 12), 0.1)
    assert result["design_effect"] == pytest.approx(1 + 11 * 0.1, rel=1e-12)


def test_no_clustering_gives_one_for_a_parallel_design():
    x = np.array([[0.0], [1.0]])
    assert stepped_design_effect(x, np.full(x.shape, 50), 0.0)["design_effect"] == pytest.approx(1)


@pytest.mark.parametrize("cac", [1.0, 0.8, 0.3])
def test_dog_leg_unequal_sizes_match_dense_gls(cac):
    # BetterBack-like: 3 sequences, 4 periods, each cluster observed in 2 periods
    nan = np.nan
    x = np.array([[0, 1, nan, nan], [nan, 0, 1, nan], [nan, nan, 0, 1]] * 2, dtype=float)
    sizes = np.array([[4, 6, 0, 0], [0, 3, 5, 0], [0, 0, 7, 2]] * 2, dtype=float)
    sizes[3] = [5, 4, 0, 0]
    result = stepped_design_effect(x, sizes, 0.08, cac)
    assert result["variance"] == pytest.approx(dense_gls_variance(x, sizes, 0.08, cac), rel=1e-9)
    assert result["n_total"] == int(sizes.sum())
    assert (result["n_clusters"], result["n_periods"]) == (6, 4)


def test_stepped_and_parallel_differ_for_the_same_icc():
    x = staircase(4, 1, 1, 2)
    stepped = stepped_design_effect(x, np.full(x.shape, 10), 0.05)["design_effect"]
    assert stepped != pytest.approx(1 + 9 * 0.05)


def test_bad_input_is_refused():
    x = np.array([[0.0, 1.0]])
    with pytest.raises(ModelSpecificationError, match="ICC"):
        stepped_design_effect(x, np.ones_like(x), 1.2)
    with pytest.raises(ModelSpecificationError, match="autocorrelation"):
        stepped_design_effect(x, np.ones_like(x), 0.1, cac=2)
    with pytest.raises(ModelSpecificationError, match="not estimable"):
        # every cluster switches at the same time: confounded with period
        stepped_design_effect(np.array([[0.0, 1.0], [0.0, 1.0]]), np.full((2, 2), 5), 0.1)
