"""Item responses that add up to target scores.

The simulators specify outcomes as score values (e.g. an ODI of 34 for one
patient at 3 months). This module turns such targets into item responses of
an instrument: items scatter around the target with item-specific offsets and
person-level noise, yet sum exactly to the (rounded, in-range) target. Scores
computed from the items therefore carry the configured truth, and the scatter
gives realistic internal consistency. Reverse keys and recodes of the
instrument definition are applied backwards, so the raw items look like a
trial team's export.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import Instrument, Score


def _keyed_ranges(instrument: Instrument, items: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    lo = np.array([instrument.scored_range(i)[0] for i in items], dtype=float)
    hi = np.array([instrument.scored_range(i)[1] for i in items], dtype=float)
    return lo, hi


def _target_item_total(score: Score, target: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Convert a score-scale target into the sum of the score's keyed items."""
    k = len(score.items)
    if score.method == "sum":
        total = target
    elif score.method == "value_set":  # target is the mean level of the items
        total = k * target
    elif score.transform == "percent":
        total = k * (lo.mean() + target / 100.0 * (hi.mean() - lo.mean()))
    else:  # mean of items
        total = k * target
    return total


def allot(proposals: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Round proposals to integers within bounds so that each row sums to ``total``.

    Parameters
    ----------
    proposals : ndarray, shape (n, k)
        Continuous proposed item values.
    lo, hi : ndarray, shape (k,)
        Bounds of each item.
    total : ndarray, shape (n,)
        Integer row sums to reach; must lie within ``[lo.sum(), hi.sum()]``.

    Returns
    -------
    ndarray, shape (n, k)
        Integer-valued items; where a row must move, the items furthest from
        their proposal in the needed direction move first.
    """
    x = np.clip(np.rint(proposals), lo, hi)
    diff = total - x.sum(axis=1)
    rows = np.arange(len(x))
    while np.any(diff != 0):
        up = diff > 0
        gain = np.where(x < hi, proposals - x, -np.inf)
        loss = np.where(x > lo, x - proposals, -np.inf)
        chosen = np.where(up, gain.argmax(axis=1), loss.argmax(axis=1))
        step = np.sign(diff)
        x[rows, chosen] += step
        diff -= step
    return x


def items_from_targets(
    targets: dict[str, np.ndarray],
    instrument: Instrument,
    rng: np.random.Generator,
    *,
    item_sd: float | dict[str, float] = 0.8,
    item_offsets: np.ndarray | None = None,
    item_missing: float = 0.0,
) -> pd.DataFrame:
    """Draw raw item responses whose scores equal the given targets.

    Parameters
    ----------
    targets : dict of str to ndarray
        Score column (e.g. ``"odi_total"``) -> target per respondent. Targets
        of ``value_set`` scores are on the mean item level scale.
    instrument : Instrument
        Definition of the instrument (items, ranges, reverse keys, recodes).
    rng : numpy.random.Generator
        Source of randomness.
    item_sd : float or dict
        SD of the person-level scatter of items around the target (one value
        or one per score column).
    item_offsets : ndarray, optional
        Fixed offset of each item (item difficulty), length = number of items.
    item_missing : float
        Probability that any single item is left blank.

    Returns
    -------
    DataFrame
        Raw item columns in instrument order.
    """
    by_column = {s.column: s for s in instrument.scores.values()}
    unknown = sorted(set(targets) - set(by_column))
    if unknown:
        raise ConfigError(f"{instrument.name}: simulation targets for unknown scores {unknown}")
    if not targets:
        raise ConfigError(f"{instrument.name}: no simulation target given")
    n = len(next(iter(targets.values())))
    items = instrument.items
    position = {item: j for j, item in enumerate(items)}
    offsets = np.zeros(len(items)) if item_offsets is None else np.asarray(item_offsets)
    keyed = np.full((n, len(items)), np.nan)
    mean_level = None
    # Most specific scores first, so a total only fills the items its subscales left free.
    for column in sorted(targets, key=lambda c: (len(by_column[c].items), c)):
        score = by_column[column]
        lo, hi = _keyed_ranges(instrument, score.items)
        total = _target_item_total(score, np.asarray(targets[column], float), lo, hi)
        cols = np.array([position[i] for i in score.items])
        assigned = ~np.isnan(keyed[0, cols])
        free = cols[~assigned]
        if mean_level is None:
            mean_level = total / len(cols)
        if free.size == 0:
            continue
        total_free = total - np.nansum(keyed[:, cols[assigned]], axis=1)
        lo_f, hi_f = lo[~assigned], hi[~assigned]
        sd = item_sd[column] if isinstance(item_sd, dict) else item_sd
        keyed[:, free] = _draw(total_free, lo_f, hi_f, offsets[free], sd, instrument, rng)
    unassigned = np.flatnonzero(np.isnan(keyed[0]))
    if unassigned.size:  # items in no targeted score follow the first target's level
        lo, hi = _keyed_ranges(instrument, tuple(items[j] for j in unassigned))
        sd = item_sd if not isinstance(item_sd, dict) else float(np.mean(list(item_sd.values())))
        level = mean_level[:, None] + offsets[unassigned] + rng.normal(0, sd, (n, unassigned.size))
        keyed[:, unassigned] = np.clip(np.rint(level), lo, hi)
    raw = _unkey(keyed, instrument, rng)
    if item_missing > 0:
        raw[rng.random(raw.shape) < item_missing] = np.nan
    frame = pd.DataFrame(raw, columns=[instrument.item_columns[i] for i in items])
    for item in items:
        col = instrument.item_columns[item]
        if instrument.scale_of(item).integer:
            frame[col] = frame[col].round().astype("Int64")
    return frame


def _draw(total, lo, hi, offsets, sd, instrument: Instrument, rng) -> np.ndarray:
    """Items for one block of free items with a given keyed sum per row."""
    n, k = len(total), len(lo)
    integer = instrument.response.integer
    total = np.clip(total, lo.sum(), hi.sum())
    if integer:
        total = np.rint(total)
    noise = rng.normal(0.0, sd, (n, k))
    if k > 1:
        noise -= noise.mean(axis=1, keepdims=True)
    proposals = (total / k)[:, None] + (offsets - offsets.mean()) + noise
    if not integer:
        return np.clip(np.round(proposals, 1), lo, hi)
    return allot(proposals, lo, hi, total)


def _unkey(keyed: np.ndarray, instrument: Instrument, rng) -> np.ndarray:
    """Undo reverse keys and recodes: keyed item scores -> raw responses."""
    raw = keyed.copy()
    for j, item in enumerate(instrument.items):
        if item in instrument.reverse:
            lo, hi = instrument.scored_range(item)
            raw[:, j] = lo + hi - raw[:, j]
        if item in instrument.recode:
            mapping = instrument.recode[item]
            column = raw[:, j].copy()
            for value in np.unique(column[~np.isnan(column)]):
                sources = [code for code, v in mapping.items() if v == value]
                rows = column == value
                if value in sources:  # keep the identical code where it exists
                    raw[rows, j] = value
                else:
                    raw[rows, j] = rng.choice(sources, size=rows.sum())
    return raw
