"""pandera schemas built from the contract, and their failures as problems.

The schema of a table enforces, on the typed table, what the contract says:
column types, required columns, ranges (item ranges from the instrument
definitions), whole-number items and unique keys. Each failure becomes a
:class:`~trialanalysis.errors.Problem` at the source row and column.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from trialanalysis.errors import Problem
from trialanalysis.ingest.contract import ColumnSpec, TableSpec
from trialanalysis.ingest.layout import Arranged
from trialanalysis.ingest.parse import show

_RANGE, _WHOLE = "range", "whole number"


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _checks(column: ColumnSpec) -> list[pa.Check]:
    checks = []
    low, high = column.minimum, column.maximum
    if low is not None and high is not None:
        checks.append(pa.Check.in_range(low, high, error=_RANGE))
    elif low is not None:
        checks.append(pa.Check.ge(low, error=_RANGE))
    elif high is not None:
        checks.append(pa.Check.le(high, error=_RANGE))
    if column.kind == "item" and column.whole:
        checks.append(pa.Check(lambda s: s % 1 == 0, error=_WHOLE))
    return checks


def pandera_schema(spec: TableSpec, columns=None) -> pa.DataFrameSchema:
    """Build the pandera schema of a table's analysis-ready form.

    Parameters
    ----------
    spec : TableSpec
        The table's contract.
    columns : iterable of str, optional
        Restrict the schema to these columns (those present in a file).

    Returns
    -------
    pandera.DataFrameSchema
        Strict (no other columns), with the key as a unique constraint when all
        key columns are included.
    """
    wanted = set(spec.column_names if columns is None else columns)
    schema_columns = {
        c.name: pa.Column(c.dtype, _checks(c), nullable=not c.required, description=c.description)
        for c in spec.columns
        if c.name in wanted
    }
    unique = list(spec.key) if set(spec.key) <= wanted else None
    return pa.DataFrameSchema(
        schema_columns,
        unique=unique,
        report_duplicates="exclude_first",
        strict=True,
        name=f"{spec.trial}/{spec.name}",
    )


def schema_problems(
    frame: pd.DataFrame, spec: TableSpec, arranged: Arranged, failed: set[tuple[int, str]]
) -> list[Problem]:
    """Validate a typed table with its pandera schema; return every failure as a problem.

    Parameters
    ----------
    frame : DataFrame
        Typed table from :func:`~trialanalysis.ingest.parse.parse_cells`.
    spec : TableSpec
        Its contract.
    arranged : Arranged
        Where each row came from.
    failed : set of (int, str)
        Cells that did not parse (already reported; skipped here).

    Returns
    -------
    list of Problem
    """
    try:
        pandera_schema(spec, frame.columns).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    problems = []
    duplicate_rows = set()
    for case in cases.itertuples(index=False):
        index = None if pd.isna(case.index) else int(case.index)
        column = None if pd.isna(case.column) else str(case.column)
        if case.check == "multiple_fields_uniqueness":
            duplicate_rows.add(index)
            continue
        if index is None:  # a whole-column failure: a bug in parsing, not in the data
            message = f"column fails the check {case.check}"
            problems.append(Problem(arranged.file, None, column, message))
            continue
        if (index, column) in failed:
            continue
        row, where = arranged.locate(index, column)
        problems.append(Problem(arranged.file, row, where, _message(spec, column, case)))
    problems += _duplicate_problems(frame, spec, arranged, sorted(duplicate_rows))
    return problems


def _message(spec: TableSpec, column: str, case) -> str:
    if case.check == "not_nullable":
        return "missing value; this column is required"
    column_spec = spec.column(column)
    source = f" ({column_spec.source})" if column_spec.source else ""
    if case.check == _RANGE:
        low, high = column_spec.minimum, column_spec.maximum
        if low is not None and high is not None:
            allowed = f"{_number(low)} to {_number(high)}"
        else:
            allowed = f">= {_number(low)}" if low is not None else f"<= {_number(high)}"
        return f"value {_number(case.failure_case)} is out of range: allowed {allowed}{source}"
    if case.check == _WHOLE:
        return f"value {_number(case.failure_case)} is not a whole number{source}"
    return f"fails the check {case.check}"


def _duplicate_problems(
    frame: pd.DataFrame, spec: TableSpec, arranged: Arranged, rows: list[int]
) -> list[Problem]:
    keys = frame[list(spec.key)]
    complete = keys.notna().all(axis=1)
    first_of: dict[tuple, int] = {}
    for index, values in zip(keys.index, keys.itertuples(index=False), strict=True):
        if complete[index]:
            first_of.setdefault(tuple(values), index)
    problems = []
    for index in rows:
        if not complete[index]:
            continue  # a blank key is reported as missing already
        values = tuple(keys.loc[index])
        first_row, _ = arranged.locate(first_of[values], spec.entity)
        row, column = arranged.locate(index, spec.entity)
        if arranged.layout == "wide":
            what = f"{spec.entity} {show(str(values[0]))}"
        else:
            shown = ", ".join(show(str(v)) for v in values)
            what = f"key ({', '.join(spec.key)}) = ({shown})"
        message = f"duplicate {what}; first given in row {first_row}"
        problems.append(Problem(arranged.file, row, column, message))
    return problems
