"""Turn text cells into typed columns, reporting every cell that does not parse.

Missing values: a blank cell, or a cell equal to one of the missing codes
(``input.missing_codes``, or ``input.column_missing_codes[column]`` which
replaces them for that column; numeric codes match any spelling of the number,
e.g. ``-9``, ``-9.0``, ``-9,0``; text codes match exactly).

Categories are compared after trimming, lower-casing and turning spaces and
hyphens into underscores (``Waiting list`` -> ``waiting_list``); an SPSS
value label is used in place of the code when the column has labels.
Dates are ``YYYY-MM-DD`` (one-digit month and day accepted; a time of day,
as Excel may add, is ignored) or written in the configured ``date_format``.

A column with a ``recode`` mapping (see :mod:`.sources`) takes every value
through it: by the value as written (an SPSS code) or by its SPSS value
label; a value the mapping does not list is a problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialanalysis.errors import Problem
from trialanalysis.ingest.contract import ColumnSpec, TableSpec
from trialanalysis.ingest.layout import Arranged
from trialanalysis.ingest.privacy import looks_personal

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_SEPARATORS = re.compile(r"[\s\-]+")


class _Invalid(ValueError):
    """A cell that cannot be converted; the message says why."""


def show(value: str) -> str:
    """Quote a cell value for a message, unless it may be personal data."""
    if looks_personal(value):
        return "(value not shown: it looks like personal data)"
    text = value if len(value) <= 40 else value[:37] + "..."
    return repr(text)


def parse_number(text: str, decimal: str = ".") -> float:
    """Parse a number written as text with the given decimal mark.

    Raises
    ------
    ValueError
        If the text is not a plain number (thousands separators, units and
        words such as ``NA`` are refused).
    """
    candidate = text.strip()
    if decimal == ",":
        candidate = candidate.replace(",", ".")
    if not _NUMBER.match(candidate):
        raise _Invalid(text)
    return float(candidate)


def normalise_category(text: str) -> str:
    """Lower-case, trim, and join words with underscores."""
    return _SEPARATORS.sub("_", text.strip().casefold())


def _missing_matcher(codes: Sequence, decimal: str):
    texts = {str(c) for c in codes if isinstance(c, str)}
    numbers = {float(c) for c in codes if not isinstance(c, str)}

    def is_missing(cell: str | None) -> bool:
        if cell is None or cell in texts:
            return True
        if numbers:
            try:
                return parse_number(cell, decimal) in numbers
            except ValueError:
                return False
        return False

    return is_missing


def _recoded(spec: ColumnSpec, cell: str, recode: dict[str, str], labels: dict[str, str]):
    if cell in recode:
        return recode[cell]
    label = labels.get(cell)
    if label is not None and label in recode:
        return recode[label]
    known = list(recode)
    listed = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
    shown = show(cell) if label is None else f"{show(cell)} (label {show(label)})"
    raise _Invalid(f"{shown} has no recode to {spec.name}; known: {listed}")


def _text_date(cell: str, date_format: str | None) -> dt.date:
    match = _DATE.match(cell)
    try:
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if date_format:
            return dt.datetime.strptime(cell, date_format).date()
        raise ValueError
    except ValueError:
        form = "YYYY-MM-DD" + (f" or {date_format}" if date_format else "")
        hint = "" if date_format else " (set input.date_format for other forms)"
        raise _Invalid(f"{show(cell)} is not a date in the form {form}{hint}") from None


def _convert(spec: ColumnSpec, cell: str, decimal: str, labels: dict[str, str], date_format=None):
    kind = spec.kind
    if kind == "id":
        return cell
    if kind == "category":
        value = normalise_category(labels.get(cell, cell))
        if value not in spec.categories:
            what = "time point" if spec.name == "timepoint" else "value"
            extra = " in the design" if spec.name == "timepoint" else " allowed"
            raise _Invalid(
                f"{what} {show(cell)} is not{extra}; expected one of: {', '.join(spec.categories)}"
            )
        return value
    if kind == "date":
        return _text_date(cell, date_format)
    try:
        number = parse_number(cell, decimal)
    except ValueError:
        hint = ""
        if decimal == "." and re.match(r"^[+-]?\d*,\d+$", cell):
            hint = " (a decimal comma? in a CSV file set input.csv.decimal to ',')"
        elif kind != "id":
            hint = " (if it means missing, add it to input.missing_codes)"
        raise _Invalid(f"{show(cell)} is not a number{hint}") from None
    if kind == "integer":
        if not number.is_integer():
            raise _Invalid(f"{show(cell)} is not a whole number")
        return int(number)
    return number


def _typed(spec: ColumnSpec, values: list) -> pd.Series:
    if spec.kind == "date":
        return pd.Series(
            [pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype=spec.dtype
        )
    if spec.kind in ("number", "item"):
        return pd.Series(np.array([np.nan if v is None else v for v in values], dtype=float))
    if spec.kind == "category":
        return pd.Series(pd.Categorical(values, dtype=spec.dtype))
    return pd.Series(pd.array(values, dtype=spec.dtype))


def parse_cells(
    arranged: Arranged,
    spec: TableSpec,
    missing_codes: Sequence,
    column_missing_codes: dict[str, Sequence],
    decimal: str = ".",
    value_labels: dict[str, dict[str, str]] | None = None,
    recode: dict[str, dict[str, str]] | None = None,
    date_format: str | None = None,
    quiet: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, list[Problem], set[tuple[int, str]], dict[tuple[str, str, str], int]]:
    """Convert the text cells of a table to the contract's types.

    Parameters
    ----------
    arranged : Arranged
        The long table of text cells.
    spec : TableSpec
        Its contract.
    missing_codes : sequence
        Codes that mean missing in every column.
    column_missing_codes : dict
        Column -> codes used instead of ``missing_codes`` for that column.
    decimal : str
        Decimal mark of numbers written as text.
    value_labels : dict, optional
        SPSS value labels by column, applied to category columns (and used
        by ``recode``).
    recode : dict, optional
        Column -> {source value or label: contract value}; every value of
        such a column must be listed.
    date_format : str, optional
        strftime format of text dates besides ISO ``YYYY-MM-DD``.
    quiet : frozenset of str
        Columns whose cells fail silently (a mapping problem explains them).

    Returns
    -------
    DataFrame
        Typed columns (see :attr:`ColumnSpec.dtype`), 0..n-1 index; cells that
        did not parse are missing.
    list of Problem
        One per cell that did not parse.
    set of (int, str)
        The (row index, column) of those cells, so later checks skip them.
    dict
        (column, source value, contract value) -> number of cells recoded.
    """
    value_labels = value_labels or {}
    recode = recode or {}
    recoded: dict[tuple[str, str, str], int] = {}
    problems, failed = [], set()
    columns = {}
    for name in arranged.cells.columns:
        column_spec = spec.column(name)
        codes = column_missing_codes.get(name, missing_codes)
        is_missing = _missing_matcher(codes, decimal)
        mapping = recode.get(name)
        labels = value_labels.get(name, {})
        if column_spec.kind != "category" and mapping is None:
            labels = {}
        values = []
        for index, cell in enumerate(arranged.cells[name].tolist()):
            if is_missing(cell):
                values.append(None)
                continue
            try:
                if mapping is not None:
                    source, cell = cell, _recoded(column_spec, cell, mapping, labels)
                    if cell != source:
                        key = (name, source, cell)
                        recoded[key] = recoded.get(key, 0) + 1
                used_labels = {} if mapping is not None else labels
                values.append(_convert(column_spec, cell, decimal, used_labels, date_format))
            except _Invalid as exc:
                row, column = arranged.locate(index, name)
                if name not in quiet:
                    problems.append(Problem(arranged.file, row, column, str(exc)))
                failed.add((index, name))
                values.append(None)
        columns[name] = _typed(column_spec, values)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(arranged.cells)))
    return frame, problems, failed, recoded
