"""Item responses: checked against their scales, recoded and reverse keyed.

The checks never clip or drop a value: a value outside an item's scale, a
non-integer where the scale needs whole numbers, or text where a number is
expected is reported with the column, the number of rows, the first row
labels and the valid range. Missing responses are empty cells or NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialanalysis.errors import ScoringError
from trialanalysis.instruments.definitions import Instrument

_SHOWN_ROWS = 5


def keyed_items(data: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Return an instrument's items as scored: validated, recoded, reverse keyed.

    Parameters
    ----------
    data : DataFrame
        Must hold every item column of the instrument; missing responses are
        empty/NaN.
    instrument : Instrument

    Returns
    -------
    DataFrame
        Float columns named like the item columns, same index as ``data``.

    Raises
    ------
    ScoringError
        If an item column is absent, or holds text, non-integers where the
        scale needs integers, or values outside the item's scale (all
        problems are listed, with row labels and the valid range).
    """
    keyed, problems = keyed_matrix(data, instrument)
    raise_problems(problems)
    return pd.DataFrame(keyed, index=data.index, columns=list(instrument.item_columns.values()))


def raise_problems(problems: list[str]) -> None:
    """Raise one :class:`ScoringError` listing every problem, if there are any."""
    if problems:
        raise ScoringError(
            f"{len(problems)} problem(s) with item responses:\n"
            + "\n".join(problems)
            + "\nFix the data (missing responses must be empty), or the response scale "
            "in the instrument definition if the data follow another scale."
        )


def _row_list(index: pd.Index, mask: np.ndarray) -> str:
    labels = list(index[mask][:_SHOWN_ROWS])
    more = ", ..." if mask.sum() > _SHOWN_ROWS else ""
    return ", ".join(map(str, labels)) + more


def _numeric_column(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return float values and a mask of non-empty entries that are not numbers."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    text = series.astype("string").str.strip()
    blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    return values, ~blank & np.isnan(values)


def _raw_matrix(data: pd.DataFrame, instrument: Instrument) -> tuple[np.ndarray, list[str]]:
    name = instrument.name
    columns = list(instrument.item_columns.values())
    absent = [c for c in columns if c not in data.columns]
    if absent:
        return np.empty((0, 0)), [
            f"{name}: item column(s) not in the data: {', '.join(absent)}"
            f" (defined in {instrument.source_file})"
        ]
    duplicated = sorted({c for c in data.columns[data.columns.duplicated()] if c in columns})
    if duplicated:
        return np.empty((0, 0)), [f"{name}: duplicated column(s): {', '.join(duplicated)}"]

    problems = []
    matrix = np.empty((len(data), len(columns)))
    for j, (item, column) in enumerate(instrument.item_columns.items()):
        values, not_numeric = _numeric_column(data[column])
        scale = instrument.scale_of(item)
        valid = f"{scale.min:g}-{scale.max:g}" + (" (whole numbers)" if scale.integer else "")
        if not_numeric.any():
            problems.append(
                f"{name}: column {column!r}: {not_numeric.sum()} non-numeric value(s) "
                f"in row(s) {_row_list(data.index, not_numeric)}; valid: {valid}"
            )
        present = ~np.isnan(values)
        outside = present & ((values < scale.min) | (values > scale.max) | np.isinf(values))
        if outside.any():
            shown = np.unique(values[outside])
            # Long numbers are not echoed: they may be identity numbers in the wrong column.
            seen = (
                f"; values seen: {', '.join(f'{v:g}' for v in shown[:_SHOWN_ROWS])}"
                if np.all(np.abs(shown[np.isfinite(shown)]) < 1e4)
                else ""
            )
            problems.append(
                f"{name}: column {column!r}: {outside.sum()} value(s) outside the valid "
                f"range {valid} in row(s) {_row_list(data.index, outside)}{seen}"
            )
        fractional = present & ~outside & (values != np.round(values))
        if scale.integer and fractional.any():
            problems.append(
                f"{name}: column {column!r}: {fractional.sum()} non-integer value(s) in "
                f"row(s) {_row_list(data.index, fractional)}; valid: {valid}"
            )
        matrix[:, j] = values
    return matrix, problems


def keyed_matrix(data: pd.DataFrame, instrument: Instrument) -> tuple[np.ndarray, list[str]]:
    """Return keyed items as a float array (rows x items) and the problems found.

    The array is only meaningful when no problems are returned.
    """
    matrix, problems = _raw_matrix(data, instrument)
    if problems:
        return matrix, problems
    for j, item in enumerate(instrument.item_columns):
        column = matrix[:, j]
        if item in instrument.recode:
            codes = np.array(sorted(instrument.recode[item]))
            scored = np.array([instrument.recode[item][c] for c in codes])
            answered = ~np.isnan(column)
            # Codes are whole numbers covering the scale (checked by the loader).
            column[answered] = scored[np.searchsorted(codes, column[answered])]
        if item in instrument.reverse:
            low, high = instrument.scored_range(item)
            matrix[:, j] = low + high - column
    return matrix, problems
