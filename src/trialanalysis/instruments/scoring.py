"""Score instruments from their YAML definitions.

Item responses are checked against each item's response scale, recoded,
reverse keyed (``min + max - x`` on the item's scored range) and combined
into the scores and classifications of the definition. Everything is
vectorised over rows, so 100 000 respondents score in well under a second.

Scoring options (``score_instrument(..., value_set=..., full_health=...)`` or
``score_table(..., options={"eq5d": {...}})``):

``value_set``
    Key of the definition's ``value_sets`` used by value-set indices
    (EQ-5D), e.g. ``se_experience_burstrom2014``.
``full_health``
    Value of the best state (all items at level 1): a number (e.g. ``1.0``)
    or ``"model"`` to keep what the value set's model gives (0.9694 for the
    Swedish experience-based set). Default: the value set's ``full_health``.
``transform``
    ``none`` or ``percent``: overrides the transform of every sum or mean
    score (e.g. DIBQ domain means on 1-7 instead of 0-100).
``max_missing``
    Overrides the number of missing items tolerated by every sum or mean
    score (a sensitivity analysis of the missing-item rule).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.errors import ScoringError
from trialanalysis.instruments.definitions import Instrument, Score
from trialanalysis.instruments.responses import keyed_matrix, raise_problems

OPTION_NAMES = ("value_set", "full_health", "transform", "max_missing")
_OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class ScoringOptions:
    """Validated scoring options of one instrument (see the module docstring)."""

    value_set: str | None = None
    full_health: float | str | None = None
    transform: str | None = None
    max_missing: int | None = None


def resolve_options(instrument: Instrument, options: Mapping | None = None) -> ScoringOptions:
    """Check scoring options for an instrument and convert them to their types.

    Parameters
    ----------
    instrument : Instrument
    options : mapping, optional
        Option name -> value. Values may be text (as typed on the command
        line), e.g. ``{"full_health": "1"}``.

    Returns
    -------
    ScoringOptions

    Raises
    ------
    ScoringError
        For an unknown option, an option the instrument has no use for, or
        an invalid value.
    """
    options = dict(options or {})
    where = f"scoring option for {instrument.name}"
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ScoringError(
            f"unknown {where}: {', '.join(unknown)}; valid options are {', '.join(OPTION_NAMES)}"
        )
    methods = {s.method for s in instrument.scores.values()}
    indexed = "value_set" in methods
    for name in ("value_set", "full_health"):
        if name in options and not indexed:
            raise ScoringError(f"{where}: {name} applies only to instruments with a value set")
    for name in ("transform", "max_missing"):
        if name in options and not methods & {"sum", "mean"}:
            raise ScoringError(f"{where}: {name} applies only to sum or mean scores")

    value_set = options.get("value_set")
    if value_set is not None and value_set not in instrument.value_sets:
        raise ScoringError(
            f"{where}: value_set must be one of {', '.join(instrument.value_sets)}, "
            f"not {value_set!r}"
        )
    full_health = options.get("full_health")
    if full_health is not None and full_health != "model":
        try:
            if isinstance(full_health, bool):
                raise ValueError
            full_health = float(full_health)
        except (TypeError, ValueError):
            raise ScoringError(
                f"{where}: full_health must be a number (e.g. 1) or 'model', not {full_health!r}"
            ) from None
        if not np.isfinite(full_health):
            raise ScoringError(f"{where}: full_health must be finite")
    transform = options.get("transform")
    if transform is not None and transform not in ("none", "percent"):
        raise ScoringError(f"{where}: transform must be 'none' or 'percent', not {transform!r}")
    max_missing = options.get("max_missing")
    if max_missing is not None:
        text = str(max_missing).strip()
        if isinstance(max_missing, bool) or not text.isdigit():
            raise ScoringError(f"{where}: max_missing must be a whole number >= 0")
        max_missing = int(text)
    return ScoringOptions(value_set, full_health, transform, max_missing)


def score_range(
    instrument: Instrument, score: str, options: Mapping | None = None
) -> tuple[float, float]:
    """Return the lowest and highest possible value of one score.

    Parameters
    ----------
    instrument : Instrument
    score : str
        Score name (e.g. ``"total"``), not the column name.
    options : mapping, optional
        Scoring options (they can change transform and value set).

    Returns
    -------
    tuple of float
        ``(minimum, maximum)``.
    """
    opts = resolve_options(instrument, options)
    spec = instrument.scores[score]
    if spec.method == "value_set":
        states = np.array(list(itertools.product((1.0, 2.0, 3.0), repeat=len(spec.items))))
        values = _value_set_index(states, instrument, spec, opts)
        return float(values.min()), float(values.max())
    if _transform(spec, opts) == "percent":
        return 0.0, 100.0
    lows, highs = zip(*(instrument.scored_range(i) for i in spec.items), strict=True)
    if spec.method == "sum":
        return float(sum(lows)), float(sum(highs))
    return float(min(lows)), float(max(highs))


def score_instrument(data: pd.DataFrame, instrument: Instrument, **options) -> pd.DataFrame:
    """Add an instrument's score and classification columns to a table.

    Parameters
    ----------
    data : DataFrame
        One row per response; must hold the instrument's item columns
        (``<instrument>_<n>`` unless the definition maps them). Other columns
        are kept unchanged.
    instrument : Instrument
    **options
        Scoring options, see the module docstring (e.g.
        ``value_set="se_experience_burstrom2014", full_health=1.0``).

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``instrument.score_columns`` appended (score
        columns are float, NaN when too many items are missing;
        classifications are categorical). Score columns already present in
        ``data`` are replaced.

    Raises
    ------
    ScoringError
        For invalid item values (column, rows and valid range are named) or
        invalid options.

    Notes
    -----
    ``sum`` adds the keyed items; when at most ``max_missing`` items are
    missing it is prorated: mean of answered items x number of items.
    ``mean`` is the mean of answered items. ``percent`` maps the keyed item
    range linearly onto 0-100, e.g. ODI = sum / (5 x answered) x 100.
    ``value_set`` (EQ-5D) = intercept - sum of decrements - any_problem if
    any level > 1 - any_level3 if any level is 3; all-level-1 rows get the
    full-health value.

    Examples
    --------
    >>> from trialanalysis.instruments import load_instruments
    >>> eq5d = load_instruments("config/instruments")["eq5d"]  # doctest: +SKIP
    >>> score_instrument(df, eq5d, value_set="uk_tto_dolan1997")  # doctest: +SKIP
    """
    return score_table(data, [instrument], {instrument.name: options})


def score_table(
    data: pd.DataFrame,
    instruments: Mapping[str, Instrument] | Iterable[Instrument],
    options: Mapping[str, Mapping] | None = None,
    *,
    skip_absent: bool = False,
) -> pd.DataFrame:
    """Score several instruments held in one table.

    Parameters
    ----------
    data : DataFrame
        One row per response, with the item columns of every instrument.
    instruments : mapping of name to Instrument, or iterable of Instrument
    options : mapping, optional
        Instrument name -> scoring options, e.g.
        ``{"eq5d": {"value_set": "se_experience_burstrom2014", "full_health": 1.0}}``.
    skip_absent : bool
        If True, instruments none of whose item columns are in ``data`` are
        skipped (an instrument with only some of its columns is an error).

    Returns
    -------
    DataFrame
        A copy of ``data`` with every instrument's score columns appended,
        in the order the instruments were given.

    Raises
    ------
    ScoringError
        Listing the problems of all instruments together.
    """
    if isinstance(instruments, Mapping):
        instruments = list(instruments.values())
    instruments = list(instruments)
    options = dict(options or {})
    names = [i.name for i in instruments]
    stray = sorted(set(options) - set(names))
    if stray:
        raise ScoringError(f"options given for instrument(s) not scored: {', '.join(stray)}")
    if skip_absent:
        instruments = [
            i for i in instruments if any(c in data.columns for c in i.item_columns.values())
        ]
    resolved = {i.name: resolve_options(i, options.get(i.name)) for i in instruments}

    problems: list[str] = []
    matrices = {}
    for instrument in instruments:
        matrices[instrument.name], found = keyed_matrix(data, instrument)
        problems += found
    raise_problems(problems)

    new_columns: dict[str, object] = {}
    for instrument in instruments:
        values = _scores(matrices[instrument.name], instrument, resolved[instrument.name])
        new_columns.update(values)
        new_columns.update(_classifications(values, instrument))
    added = pd.DataFrame(new_columns, index=data.index)
    kept = data.drop(columns=[c for c in added.columns if c in data.columns])
    return pd.concat([kept, added], axis=1)


# --- scores -----------------------------------------------------------------


def _transform(score: Score, opts: ScoringOptions) -> str:
    return opts.transform if opts.transform is not None else score.transform


def _scores(
    matrix: np.ndarray, instrument: Instrument, opts: ScoringOptions
) -> dict[str, np.ndarray]:
    position = {item: j for j, item in enumerate(instrument.item_columns)}
    result = {}
    for score in instrument.scores.values():
        items = matrix[:, [position[i] for i in score.items]]
        if score.method == "value_set":
            result[score.column] = _value_set_index(items, instrument, score, opts)
            continue
        max_missing = score.max_missing if opts.max_missing is None else opts.max_missing
        n_items = items.shape[1]
        answered = (~np.isnan(items)).sum(axis=1)
        total = np.nansum(items, axis=1)
        usable = (answered > 0) & (n_items - answered <= max_missing)
        safe = np.where(usable, answered, 1)
        if _transform(score, opts) == "percent":
            low, high = instrument.scored_range(score.items[0])
            # (sum - answered*low) / (answered*(high-low)) * 100, exact for whole numbers
            value = (total - safe * low) * 100.0 / (safe * (high - low))
        elif score.method == "mean":
            value = total / safe
        else:
            value = np.where(answered == n_items, total, total * n_items / safe)
        result[score.column] = np.where(usable, value, np.nan)
    return result


def _value_set_index(
    levels: np.ndarray, instrument: Instrument, score: Score, opts: ScoringOptions
) -> np.ndarray:
    """EQ-5D style index; rows with any missing item are NaN."""
    name = opts.value_set or score.value_set
    value_set = instrument.value_sets[name]
    decrements = {int(k): v for k, v in value_set["decrements"].items()}
    index = np.full(len(levels), float(value_set["intercept"]))
    for j, item in enumerate(score.items):
        table = np.array([0.0, *decrements[item], np.nan])
        codes = np.where(np.isnan(levels[:, j]), 3, levels[:, j] - 1).astype(int)
        index -= table[codes]
    index -= value_set.get("any_problem", 0.0) * (levels > 1).any(axis=1)
    index -= value_set.get("any_level3", 0.0) * (levels == 3).any(axis=1)
    full_health = opts.full_health if opts.full_health is not None else value_set["full_health"]
    if full_health != "model":
        index[(levels == 1).all(axis=1)] = float(full_health)
    return index


def _classifications(values: dict[str, np.ndarray], instrument: Instrument) -> dict:
    by_score = {s.name: values[s.column] for s in instrument.scores.values()}
    result = {}
    for c in instrument.classifications.values():
        if c.breaks:
            score = by_score[c.score]
            codes = np.searchsorted(np.array(c.breaks, dtype=float), score, side="left")
            codes = np.where(np.isnan(score), -1, codes)
            result[c.column] = pd.Categorical.from_codes(codes, c.labels, ordered=True)
            continue
        labels = list(c.labels) or list(dict.fromkeys(r["label"] for r in c.rules))
        n_rows = len(next(iter(by_score.values())))
        codes = np.full(n_rows, -1)
        undecided = np.ones(n_rows, dtype=bool)
        for rule in c.rules:
            holds = np.ones(n_rows, dtype=bool)
            fails = np.zeros(n_rows, dtype=bool)
            for cond in rule["when"]:
                score = by_score[cond["score"]]
                known = ~np.isnan(score)
                outcome = _OPERATORS[cond["op"]](score, cond["value"])
                holds &= known & outcome
                fails |= known & ~outcome
            # A rule that cannot be decided because a score it needs is missing
            # leaves the row unclassified: a later rule must not win by default.
            chosen = undecided & holds
            codes[chosen] = labels.index(rule["label"])
            undecided &= ~holds & fails
        result[c.column] = pd.Categorical.from_codes(codes, labels, ordered=bool(c.labels))
    return result
