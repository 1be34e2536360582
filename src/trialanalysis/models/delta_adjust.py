"""Delta-adjusted multiple imputation and tipping-point search (departures from MAR).

Under missing not at random (MNAR), patients whose outcome is missing may
do systematically better or worse than observed patients like them. The
delta-adjustment ("pattern-mixture") approach imputes under MAR and then adds
a shift ``delta`` to the imputed values, in the intervention arm, the
control arm or both; each shifted set of completed data sets is analysed and
pooled by Rubin's rules. The tipping point is the ``delta`` at which the
conclusion changes: the confidence interval reaches the null value, or the
pooled estimate changes sign.

For a difference in means the shift moves the pooled estimate by exactly
``delta`` times the share of imputed values in the shifted arm (minus that in
the other arm when both are shifted), which the tests check by hand.

References
----------
Carpenter JR, Kenward MG. Multiple Imputation and its Application. Wiley;
2013, ch. 10 (delta-method sensitivity analysis).
Ratitch B, O'Kelly M, Tosiello R. Missing data in clinical trials: from
clinical assumptions to statistical analysis using pattern mixture models.
Pharm Stat 2013;12:337-47.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.imputation import pool_rubin

SHIFTED_ARMS = ("intervention", "control", "both")


def shift_imputed(
    completed: Sequence[pd.DataFrame],
    missing: pd.DataFrame,
    delta: float,
    rows: pd.Series | np.ndarray | None = None,
) -> list[pd.DataFrame]:
    """Add ``delta`` to the imputed cells of completed data sets.

    Parameters
    ----------
    completed : sequence of DataFrame
        Completed copies of one table (same index and columns).
    missing : DataFrame of bool
        True where a value was imputed; its columns are the shifted columns
        (a subset of the table's), its index the table's.
    delta : float
        Shift added to every selected imputed value.
    rows : boolean Series or array, optional
        Rows whose imputed values are shifted (e.g. the intervention arm);
        default every row.

    Returns
    -------
    list of DataFrame
        New completed tables; observed values are unchanged.
    """
    if not completed:
        raise ModelSpecificationError("no completed data sets to shift")
    index = completed[0].index
    mask = missing.reindex(index=index).fillna(False).astype(bool)
    if rows is not None:
        selected = np.asarray(rows, dtype=bool)
        if len(selected) != len(index):
            raise ModelSpecificationError("rows to shift do not match the completed data")
        mask = mask & selected[:, None]
    shifted = []
    for table in completed:
        table = table.copy()
        for column in mask.columns:
            values = table[column].to_numpy(dtype=float, copy=True)
            values[mask[column].to_numpy()] += delta
            table[column] = values
        shifted.append(table)
    return shifted


def shifted_rows(treatment: pd.Series | np.ndarray, arms: str) -> np.ndarray:
    """Rows shifted for ``arms``: ``intervention`` (treatment 1), ``control`` (0) or ``both``."""
    if arms not in SHIFTED_ARMS:
        raise ModelSpecificationError(f"arms must be one of {SHIFTED_ARMS}, not {arms!r}")
    treatment = np.asarray(treatment, dtype=float)
    if arms == "both":
        return np.ones(len(treatment), dtype=bool)
    return treatment == (1.0 if arms == "intervention" else 0.0)


def pooled_at(
    completed: Sequence[pd.DataFrame],
    missing: pd.DataFrame,
    rows,
    analyse: Callable[[pd.DataFrame], pd.DataFrame],
    term: str,
    delta: float,
    level: float = 0.95,
) -> dict:
    """Shift by ``delta``, analyse every completed data set and pool ``term`` by Rubin's rules.

    ``analyse`` maps one completed table to a table with ``term, estimate,
    std_error`` and optionally ``df`` (as :func:`pool_rubin` takes).
    """
    tables = [analyse(t) for t in shift_imputed(completed, missing, delta, rows)]
    pooled = pool_rubin([t[t["term"] == term] for t in tables], level)
    if pooled.empty:
        raise ModelSpecificationError(f"the analysis returned no term {term!r}")
    return {"delta": float(delta), **pooled.iloc[0].drop("term").to_dict()}


def conclusion(row: dict, null: float = 0.0) -> int:
    """-1 if the interval lies below ``null``, 1 if above, 0 if it contains it."""
    if row["conf_high"] < null:
        return -1
    if row["conf_low"] > null:
        return 1
    return 0


def tipping_points(
    evaluate: Callable[[float], dict],
    grid: Sequence[float],
    null: float = 0.0,
    xtol: float = 1e-4,
) -> tuple[pd.DataFrame, dict]:
    """Evaluate a delta grid and find where the conclusion changes.

    Parameters
    ----------
    evaluate : callable
        ``delta -> pooled row`` (``estimate, conf_low, conf_high, ...``),
        e.g. :func:`pooled_at` with its other arguments bound.
    grid : sequence of float
        Deltas to evaluate (0 is added: the MAR analysis).
    null : float
        Null value of the effect.
    xtol : float
        Absolute tolerance of the root search.

    Returns
    -------
    (DataFrame, dict)
        The pooled rows per delta (sorted, with ``conclusion``), and the
        tipping points: ``significance_low``/``significance_high`` (the delta
        closest to 0 below/above 0 at which the interval's position relative
        to ``null`` changes; NaN if not within the grid) and
        ``sign_low``/``sign_high`` (likewise for the sign of the estimate).
        Each is found by Brent's method between the grid points that
        bracket it.
    """
    deltas = sorted({float(d) for d in grid} | {0.0})
    cache: dict[float, dict] = {}

    def row_at(delta: float) -> dict:
        if delta not in cache:
            cache[delta] = {**evaluate(delta), "delta": delta}
        return cache[delta]

    for delta in deltas:
        row_at(delta)
    zero = deltas.index(0.0)
    sides = {"low": (range(zero, 0, -1), -1), "high": (range(zero, len(deltas) - 1), 1)}
    points = {}
    for side, (order, step) in sides.items():
        pairs = [(deltas[i], deltas[i + step]) for i in order]
        points[f"significance_{side}"] = _first_change(
            row_at, pairs, lambda r: conclusion(r, null), _interval_crossing(null), xtol
        )
        points[f"sign_{side}"] = _first_change(
            row_at,
            pairs,
            lambda r: int(np.sign(r["estimate"] - null)),
            lambda r, _states: r["estimate"] - null,
            xtol,
        )
    table = pd.DataFrame([cache[d] for d in deltas])
    table["conclusion"] = [conclusion(r, null) for r in table.to_dict("records")]
    return table, points


def _interval_crossing(null: float):
    """Return the bound whose crossing of ``null`` is the change between two conclusions."""

    def value(row: dict, states: tuple[int, int]) -> float:
        bound = "conf_high" if -1 in states else "conf_low"
        return row[bound] - null

    return value


def _first_change(row_at, pairs, classify, crossing, xtol) -> float:
    """Find the first delta along ``pairs`` (adjacent grid points) where ``classify`` changes."""
    for a, b in pairs:
        states = (classify(row_at(a)), classify(row_at(b)))
        if states[0] == states[1]:
            continue

        def f(delta, states=states):
            return crossing(row_at(delta), states)

        lo, hi = sorted((a, b))
        f_lo, f_hi = f(lo), f(hi)
        if f_lo == 0 or f_hi == 0:
            return lo if f_lo == 0 else hi
        if f_lo * f_hi > 0:  # the change is not a continuous crossing
            return b
        return float(optimize.brentq(f, lo, hi, xtol=xtol))
    return float("nan")
