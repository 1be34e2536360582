"""Psychometric tables: reliability, item statistics, floor/ceiling, missing items.

One row per instrument x score (total, subscale or domain) x group (e.g.
time point), computed on the keyed items (after recoding and reverse keying)
exactly as they enter the score.

Methods
-------
- ``n_complete``: respondents with every item of the score answered; alpha,
  omega and the correlations use these rows (listwise deletion).
- ``cronbach_alpha`` with a 95% CI by Feldt's F distribution
  (``alpha_ci_method = "feldt"``).
- ``omega_total``: McDonald's omega total from a one-factor maximum
  likelihood factor analysis of the Pearson correlations (as R's
  ``factanal``): ``(sum lambda)^2 / ((sum lambda)^2 + sum psi)``
  (``omega_method = "ml_one_factor"``). NaN, with the reason in ``note``,
  when it cannot be estimated soundly (< 3 items, Heywood case, ...).
- ``mean_inter_item_r``; ``item_total_r_min``/``_max``: range of the
  corrected item-total correlations (item vs the sum of the other items;
  per item in :func:`item_statistics`).
- ``floor_pct``/``ceiling_pct``: % of scored respondents at the lowest and
  highest possible score.
- ``n_respondents``: rows with at least one item of the instrument answered
  (a blank questionnaire is unit non-response, e.g. PEI at baseline);
  ``missing_items_pct``: % of the score's item responses missing among them.

Internal consistency is not computed for single-item scores or value-set
indices (EQ-5D), whose items are not meant to be exchangeable; floor and
ceiling effects are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from trialanalysis.errors import ScoringError
from trialanalysis.instruments import reliability
from trialanalysis.instruments.definitions import Instrument, Score
from trialanalysis.instruments.responses import keyed_items
from trialanalysis.instruments.scoring import score_range, score_table

SUMMARY_COLUMNS = [
    "instrument",
    "score",
    "column",
    # <group columns> are inserted here
    "n_items",
    "n_rows",
    "n_respondents",
    "missing_items_pct",
    "n_complete",
    "cronbach_alpha",
    "alpha_conf_low",
    "alpha_conf_high",
    "alpha_ci_method",
    "omega_total",
    "omega_method",
    "mean_inter_item_r",
    "item_total_r_min",
    "item_total_r_max",
    "n_scored",
    "score_min_possible",
    "score_max_possible",
    "floor_pct",
    "ceiling_pct",
    "note",
]
ITEM_COLUMNS = [
    "instrument",
    "score",
    # <group columns>
    "item",
    "item_column",
    "n",
    "missing_pct",
    "mean",
    "sd",
    "corrected_item_total_r",
    "alpha_if_deleted",
    "loading",
]


def psychometrics_table(
    data: pd.DataFrame,
    instruments: Mapping[str, Instrument] | Iterable[Instrument],
    by: str | Sequence[str] | None = None,
    options: Mapping[str, Mapping] | None = None,
    *,
    confidence: float = 0.95,
    skip_absent: bool = False,
) -> pd.DataFrame:
    """Tabulate reliability, floor/ceiling effects and missing items.

    Parameters
    ----------
    data : DataFrame
        Item responses (one row per respondent and time point).
    instruments : mapping of name to Instrument, or iterable of Instrument
    by : str or list of str, optional
        Grouping column(s), e.g. ``"timepoint"``; groups keep the order in
        which they first appear.
    options : mapping, optional
        Scoring options per instrument (they set the score range used for
        floor and ceiling), as for :func:`~trialanalysis.instruments.scoring.score_table`.
    confidence : float
        Level of the alpha confidence interval.
    skip_absent : bool
        Skip instruments none of whose item columns are in ``data``.

    Returns
    -------
    DataFrame
        Columns ``instrument, score, column, <by...>, n_items, n_rows,
        n_respondents, missing_items_pct, n_complete, cronbach_alpha,
        alpha_conf_low, alpha_conf_high, alpha_ci_method, omega_total,
        omega_method, mean_inter_item_r, item_total_r_min, item_total_r_max,
        n_scored, score_min_possible, score_max_possible, floor_pct,
        ceiling_pct, note`` (see the module docstring); unrounded.
    """
    rows, _ = _tables(data, instruments, by, options, confidence, skip_absent, items=False)
    return pd.DataFrame(rows, columns=_with_groups(SUMMARY_COLUMNS, by, after="column"))


def item_statistics(
    data: pd.DataFrame,
    instruments: Mapping[str, Instrument] | Iterable[Instrument],
    by: str | Sequence[str] | None = None,
    options: Mapping[str, Mapping] | None = None,
    *,
    skip_absent: bool = False,
) -> pd.DataFrame:
    """Tabulate keyed item statistics per instrument x score x group (long format).

    Parameters
    ----------
    data, instruments, by, options, skip_absent
        As for :func:`psychometrics_table`.

    Returns
    -------
    DataFrame
        Columns ``instrument, score, <by...>, item, item_column, n,
        missing_pct, mean, sd, corrected_item_total_r, alpha_if_deleted,
        loading``. ``n``, ``missing_pct``, ``mean`` and ``sd`` use every
        answer of the item among the instrument's respondents; the correlations,
        alpha-if-deleted and the one-factor ML ``loading`` use complete cases.
    """
    _, rows = _tables(data, instruments, by, options, 0.95, skip_absent, items=True)
    return pd.DataFrame(rows, columns=_with_groups(ITEM_COLUMNS, by, after="score"))


def unverified_settings_table(
    instruments: Mapping[str, Instrument] | Iterable[Instrument],
    options: Mapping[str, Mapping] | None = None,
) -> pd.DataFrame:
    """List the settings public sources do not confirm, with the values used.

    Parameters
    ----------
    instruments : mapping of name to Instrument, or iterable of Instrument
    options : mapping, optional
        Scoring options per instrument used by the analysis; shown in the
        ``options`` column so the report says which value was in force.

    Returns
    -------
    DataFrame
        Columns ``instrument, setting, value, options, note``.
    """
    options = options or {}
    rows = []
    for instrument in _as_list(instruments):
        used = ", ".join(f"{k}={v}" for k, v in options.get(instrument.name, {}).items())
        rows += [{**row, "options": used} for row in instrument.unverified_settings()]
    return pd.DataFrame(rows, columns=["instrument", "setting", "value", "options", "note"])


# --- internals ----------------------------------------------------------------


def _as_list(instruments) -> list[Instrument]:
    return list(instruments.values()) if isinstance(instruments, Mapping) else list(instruments)


def _by_list(by) -> list[str]:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


def _with_groups(columns: list[str], by, after: str) -> list[str]:
    at = columns.index(after) + 1
    return columns[:at] + _by_list(by) + columns[at:]


def _groups(data: pd.DataFrame, by) -> list[tuple[dict, np.ndarray]]:
    keys = _by_list(by)
    absent = [k for k in keys if k not in data.columns]
    if absent:
        raise ScoringError(f"grouping column(s) not in the data: {', '.join(absent)}")
    if not keys:
        return [({}, np.arange(len(data)))]
    grouped = data.groupby(keys, sort=False, dropna=False, observed=True).indices
    return [
        (dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)), positions)
        for key, positions in grouped.items()
    ]


def _tables(data, instruments, by, options, confidence, skip_absent, items):
    instruments = _as_list(instruments)
    if skip_absent:
        instruments = [
            i for i in instruments if any(c in data.columns for c in i.item_columns.values())
        ]
    groups = _groups(data, by)
    scored = score_table(data, instruments, options)
    summary, item_rows = [], []
    for instrument in instruments:
        keyed = keyed_items(data, instrument).to_numpy()
        # respondents: rows with at least one item of the instrument answered
        answered = ~np.isnan(keyed).all(axis=1)
        position = {item: j for j, item in enumerate(instrument.item_columns)}
        opts = (options or {}).get(instrument.name)
        for score in instrument.scores.values():
            low, high = score_range(instrument, score.name, opts)
            columns = [position[i] for i in score.items]
            values = scored[score.column].to_numpy(dtype=float)
            for key, rows in groups:
                respondents = rows[answered[rows]]
                matrix = keyed[np.ix_(respondents, columns)]
                head = {"instrument": instrument.name, "score": score.name, **key}
                if items:
                    item_rows += _item_rows(head, instrument, score, matrix)
                else:
                    stats = _summary(
                        score, matrix, values[respondents], (low, high), confidence,
                        instrument.formative,
                    )  # fmt: skip
                    summary.append({**head, "column": score.column, "n_rows": len(rows), **stats})
    return summary, item_rows


def _reliability_note(score: Score, n_complete: int, formative: bool = False) -> str:
    if formative:
        return "formative index: internal consistency not applicable"
    if score.method == "value_set":
        return "value-set index: internal consistency not applicable"
    if len(score.items) < 2:
        return "single-item score: internal consistency not applicable"
    if n_complete < 3:
        return f"{n_complete} complete response(s): too few for reliability"
    return ""


def _summary(score, matrix, values, bounds, confidence, formative=False) -> dict:
    """Statistics of one score in one group; ``matrix`` holds the respondents' keyed items."""
    low, high = bounds
    n_resp, k = matrix.shape
    complete = reliability.complete_cases(matrix)
    scored = values[~np.isnan(values)]
    note = _reliability_note(score, len(complete), formative)
    stats = {
        "n_items": k,
        "n_respondents": n_resp,
        "missing_items_pct": 100 * np.isnan(matrix).mean() if n_resp else np.nan,
        "n_complete": len(complete),
        "cronbach_alpha": np.nan,
        "alpha_conf_low": np.nan,
        "alpha_conf_high": np.nan,
        "alpha_ci_method": "feldt",
        "omega_total": np.nan,
        "omega_method": "ml_one_factor",
        "mean_inter_item_r": np.nan,
        "item_total_r_min": np.nan,
        "item_total_r_max": np.nan,
        "n_scored": len(scored),
        "score_min_possible": low,
        "score_max_possible": high,
        "floor_pct": 100 * np.isclose(scored, low, rtol=0, atol=1e-9).mean()
        if len(scored)
        else np.nan,
        "ceiling_pct": 100 * np.isclose(scored, high, rtol=0, atol=1e-9).mean()
        if len(scored)
        else np.nan,
    }
    if not note:
        alpha = reliability.cronbach_alpha(complete, confidence)
        omega = reliability.omega_total(complete)
        item_total = reliability.corrected_item_total(complete)
        finite = item_total[np.isfinite(item_total)]
        stats.update(
            cronbach_alpha=alpha.alpha,
            alpha_conf_low=alpha.conf_low,
            alpha_conf_high=alpha.conf_high,
            omega_total=omega.omega,
            mean_inter_item_r=reliability.mean_inter_item_correlation(complete),
            item_total_r_min=finite.min() if len(finite) else np.nan,
            item_total_r_max=finite.max() if len(finite) else np.nan,
        )
        note = omega.note
    stats["note"] = note
    return stats


def _item_rows(head: dict, instrument: Instrument, score: Score, matrix: np.ndarray) -> list:
    complete = reliability.complete_cases(matrix)
    k = matrix.shape[1]
    nan = np.full(k, np.nan)
    if _reliability_note(score, len(complete), instrument.formative):
        item_total, if_deleted, loadings = nan, nan, nan
    else:
        item_total = reliability.corrected_item_total(complete)
        if_deleted = reliability.alpha_if_deleted(complete)
        loadings = reliability.omega_total(complete).loadings
    rows = []
    for j, item in enumerate(score.items):
        column = matrix[:, j]
        present = column[~np.isnan(column)]
        rows.append(
            {
                **head,
                "item": item,
                "item_column": instrument.item_columns[item],
                "n": len(present),
                "missing_pct": 100 * np.isnan(column).mean() if len(column) else np.nan,
                "mean": present.mean() if len(present) else np.nan,
                "sd": present.std(ddof=1) if len(present) > 1 else np.nan,
                "corrected_item_total_r": item_total[j],
                "alpha_if_deleted": if_deleted[j],
                "loading": loadings[j],
            }
        )
    return rows
