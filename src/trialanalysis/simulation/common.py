"""Small building blocks shared by the trial simulators."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import Instrument
from trialanalysis.simulation.items import items_from_targets


def expit(x):
    """Inverse logit."""
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    """Log odds."""
    return np.log(p / (1.0 - p))


def mixed(rng: np.random.Generator, loading: float, shared: np.ndarray) -> np.ndarray:
    """Draw standard normal deviations that correlate ``loading`` with ``shared``."""
    return loading * shared + np.sqrt(1.0 - loading**2) * rng.normal(size=shared.shape)


def bounded_normal(rng, n: int, spec: Mapping) -> np.ndarray:
    """Whole numbers from N(mean, sd) clipped to [min, max]."""
    return np.clip(np.rint(rng.normal(spec["mean"], spec["sd"], n)), spec["min"], spec["max"])


def categorical(rng, n: int, probabilities: Mapping[str, float]) -> np.ndarray:
    """Draw labels with the given probabilities (normalised)."""
    labels = list(probabilities)
    p = np.array([probabilities[k] for k in labels], float)
    return np.array(labels, dtype=object)[rng.choice(len(labels), size=n, p=p / p.sum())]


def instrument_of(score_column: str, instruments: Mapping[str, Instrument]) -> Instrument:
    """Find the instrument that defines a score column such as ``odi_total``."""
    for instrument in instruments.values():
        if score_column in {s.column for s in instrument.scores.values()}:
            return instrument
    raise ConfigError(f"simulation: no instrument defines the score {score_column!r}")


def item_blocks(
    targets: pd.DataFrame,
    score_columns: list[str],
    instruments: Mapping[str, Instrument],
    rng: np.random.Generator,
    *,
    item_sd: Mapping[str, float],
    item_offset_sd: float,
    item_missing: float,
) -> pd.DataFrame:
    """Raw item columns of every instrument that has a target among ``score_columns``.

    Rows where all of an instrument's targets are missing (e.g. PEI at
    baseline) get missing items.
    """
    by_instrument: dict[str, list[str]] = {}
    for column in score_columns:
        by_instrument.setdefault(instrument_of(column, instruments).name, []).append(column)
    blocks = []
    for name in by_instrument:
        instrument = instruments[name]
        columns = by_instrument[name]
        present = targets[columns].notna().all(axis=1).to_numpy()
        offsets = rng.normal(0.0, item_offset_sd, len(instrument.items))
        drawn = items_from_targets(
            {c: targets.loc[present, c].to_numpy() for c in columns},
            instrument,
            rng,
            item_sd={c: item_sd[c] for c in columns},
            item_offsets=offsets,
            item_missing=item_missing,
        )
        block = pd.DataFrame(index=targets.index, columns=drawn.columns)
        block = block.astype(drawn.dtypes.to_dict())
        block.loc[present] = drawn.to_numpy()
        blocks.append(block)
    return pd.concat(blocks, axis=1)


def observed_odi(frame: pd.DataFrame) -> pd.Series:
    """ODI as a trial team would see it (mean of answered sections x 20).

    Used only to make dropout depend on observed data (missing at random).
    """
    items = frame[[f"odi_{i}" for i in range(1, 11)]].astype(float)
    return items.mean(axis=1) * 20.0


def monotone_dropout(
    frame: pd.DataFrame, timepoints, spec: Mapping, age: np.ndarray, rng
) -> np.ndarray:
    """Loss to follow-up that depends on observed data only (missing at random).

    ``frame`` holds one row per patient and time point, patients in blocks
    ordered as ``timepoints``. A patient who misses a time point misses all
    later ones. The log odds of dropping out before time point t are
    ``logit(rate[t]) + per_10_points_odi * (last observed ODI - mean) / 10 +
    per_10_years * (age - mean age) / 10``; centring at the sample means makes
    ``rate`` the rate of an average patient.

    Returns
    -------
    ndarray of bool
        True for the rows that are kept.
    """
    n, k = len(age), len(timepoints)
    odi = observed_odi(frame).to_numpy().reshape(n, k)
    keep = np.ones((n, k), bool)
    last = odi[:, 0]
    centre_odi, centre_age = np.nanmean(last), age.mean()
    for j, t in enumerate(timepoints[1:], start=1):
        lp = (
            logit(spec["rate"][t])
            + spec["per_10_points_odi"] * (np.nan_to_num(last, nan=centre_odi) - centre_odi) / 10
            + spec["per_10_years"] * (age - centre_age) / 10
        )
        keep[:, j] = keep[:, j - 1] & (rng.random(n) >= expit(lp))
        last = np.where(keep[:, j] & ~np.isnan(odi[:, j]), odi[:, j], last)
    return keep.ravel()
