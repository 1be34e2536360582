"""Header checks and the long/wide layouts of a table.

Long layout: one row per unit (and time point), columns named as in the
contract. Wide layout (tables with time points only): one row per unit, with
each time-varying column written once per time point as
``<column>_<timepoint>``, e.g. ``odi_1_3m`` or ``response_date_baseline``;
there is no ``timepoint`` column. A wide file is turned into the long layout;
a time point with no value in any of its columns gives no row. Problems in
a wide file are reported at its own row and column (``odi_1_3m``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from trialanalysis.errors import Problem
from trialanalysis.ingest.contract import TableSpec
from trialanalysis.ingest.readers import RawTable, repeated_column_names


@dataclass
class Arranged:
    """A table of text cells in the long layout, and where each cell came from.

    Attributes
    ----------
    file : str
        File name used in problems.
    layout : str
        ``long`` or ``wide`` (the layout of the file).
    cells : DataFrame
        Text cells (None = blank), contract columns present in the file, in
        contract order, with a 0..n-1 index.
    source_rows : list of int
        Source row of each long row.
    timepoints : list of str or None
        For a wide file, the time point each long row was taken from.
    varying : frozenset of str
        Columns written once per time point in a wide file.
    dropped : list of str
        Columns of the file the contract does not know, dropped on read.
    """

    file: str
    layout: str
    cells: pd.DataFrame
    source_rows: list[int]
    timepoints: list[str] | None
    varying: frozenset[str]
    dropped: list[str] = field(default_factory=list)

    def locate(self, index: int, column: str | None) -> tuple[int, str | None]:
        """Return the source row and column name of one cell of the long table."""
        row = self.source_rows[index]
        if self.timepoints is None or column is None:
            return row, column
        if column in self.varying:
            return row, f"{column}_{self.timepoints[index]}"
        return row, column


def drop_columns(raw: RawTable, names) -> RawTable:
    """Drop declared identifying columns from a raw table, in place; return it."""
    keep = [i for i, name in enumerate(raw.header) if name not in set(names)]
    if len(keep) < len(raw.header):
        raw.header = [raw.header[i] for i in keep]
        raw.rows = [[row[i] for i in keep] for row in raw.rows]
    return raw


def arrange(
    raw: RawTable, spec: TableSpec, quiet: frozenset[str] = frozenset()
) -> tuple[Arranged, list[Problem]]:
    """Check the header against the contract and bring the table to the long layout.

    Parameters
    ----------
    raw : RawTable
        The table as read.
    spec : TableSpec
        Its contract; ``spec.layout`` is ``auto``, ``long`` or ``wide``.
    quiet : frozenset of str
        Columns not reported as unknown or missing (the privacy guard or a
        mapping problem reports them).

    Returns
    -------
    Arranged
        The long table of text cells.
    list of Problem
        Duplicated, unnamed and missing columns, unknown columns close to a
        missing one (with its name), and unknown time points in wide column
        names. Other unknown columns are dropped (``Arranged.dropped``).
    """
    problems = repeated_column_names(raw.file, raw.header, raw.header_row)
    first_seen: dict[str, int] = {}
    for index, name in enumerate(raw.header):
        first_seen.setdefault(name, index)
    layout = _choose_layout(raw.header, spec)
    if layout == "wide":
        expected = [spec.entity] + [
            f"{c}_{tp}" for c in spec.column_names if c in spec.varying for tp in spec.timepoints
        ]
        expected += [c for c in spec.column_names if c not in spec.varying and c != "timepoint"]
    else:
        expected = spec.column_names
    expected = list(dict.fromkeys(expected))
    present = set(first_seen)
    unknown = [
        n
        for n in first_seen
        if n not in set(expected) and n not in quiet and not n.startswith("(column ")
    ]
    absent = [n for n in expected if n not in present]
    pairs = _pair_misspellings(unknown, absent)
    dropped = []
    for name in unknown:
        problem = _unknown_column(raw, spec, name, pairs.get(name), layout)
        if problem is None:
            dropped.append(name)
        else:
            problems.append(problem)
    if layout == "wide":
        absent = _absent_wide_columns(spec, present)
    paired = set(pairs.values())
    for name in absent:
        if name in paired or any(target.startswith(f"{name}_") for target in paired):
            continue
        if name in quiet:
            continue
        message = f"missing column {name!r}; the contract of {spec.trial}/{spec.name} requires it"
        if layout == "wide" and name in spec.varying:
            message = (
                f"missing column {name!r}: no {name}_<timepoint> column in this wide file "
                f"(time points: {', '.join(spec.timepoints)})"
            )
        problems.append(Problem(raw.file, raw.header_row, name, message))
    if layout == "wide":
        arranged = _widen_to_long(raw, spec, first_seen)
    else:
        columns = [c for c in spec.column_names if c in present]
        data = [[row[first_seen[c]] for c in columns] for row in raw.rows]
        cells = pd.DataFrame(data, columns=columns, dtype=object)
        arranged = Arranged(raw.file, "long", cells, list(raw.row_numbers), None, frozenset())
    arranged.dropped = dropped
    return arranged, problems


def _choose_layout(header: list[str], spec: TableSpec) -> str:
    if not spec.timepoints:
        return "long"
    if spec.layout != "auto":
        return spec.layout
    if "timepoint" in header:
        return "long"
    suffixes = tuple(f"_{tp}" for tp in spec.timepoints)
    wide = any(
        name.endswith(suffix) and name[: -len(suffix)] in spec.varying
        for name in header
        for suffix in suffixes
    )
    return "wide" if wide else "long"


def _pair_misspellings(unknown: list[str], absent: list[str]) -> dict[str, str]:
    """Pair each unknown column with the closest absent expected one (best pairs first)."""
    scored = []
    for name in unknown:
        for target in absent:
            ratio = difflib.SequenceMatcher(None, name.lower(), target.lower()).ratio()
            if ratio >= 0.6:
                scored.append((-ratio, name, target))
    pairs: dict[str, str] = {}
    for _, name, target in sorted(scored):
        if name not in pairs and target not in pairs.values():
            pairs[name] = target
    return pairs


def _unknown_column(
    raw: RawTable, spec: TableSpec, name: str, match: str | None, layout: str
) -> Problem | None:
    if match:
        message = f"unknown column {name!r}: did you mean {match!r}? (rename the column)"
        return Problem(raw.file, raw.header_row, name, message)
    if layout == "wide":
        for column in sorted(spec.varying, key=len, reverse=True):
            if name.startswith(f"{column}_"):
                timepoint = name[len(column) + 1 :]
                message = (
                    f"time point {timepoint!r} in the column name is not in the design "
                    f"({', '.join(spec.timepoints)})"
                )
                return Problem(raw.file, raw.header_row, name, message)
    return None


def _absent_wide_columns(spec: TableSpec, present: set[str]) -> list[str]:
    """Columns absent from a wide file: fixed ones, and varying ones at every time point."""
    absent = []
    for column in spec.column_names:
        if column == "timepoint":
            continue
        if column in spec.varying:
            if not any(f"{column}_{tp}" in present for tp in spec.timepoints):
                absent.append(column)
        elif column not in present:
            absent.append(column)
    return absent


def _widen_to_long(raw: RawTable, spec: TableSpec, position: dict[str, int]) -> Arranged:
    fixed = [c for c in spec.column_names if c not in spec.varying and c != "timepoint"]
    fixed = [c for c in fixed if c in position]
    varying = [c for c in spec.varying if any(f"{c}_{tp}" in position for tp in spec.timepoints)]
    records, rows, timepoints = [], [], []
    for cells, number in zip(raw.rows, raw.row_numbers, strict=True):
        for tp in spec.timepoints:
            values = {
                c: cells[position[f"{c}_{tp}"]] if f"{c}_{tp}" in position else None
                for c in varying
            }
            if all(v is None for v in values.values()):
                continue
            record = {c: cells[position[c]] for c in fixed}
            record["timepoint"] = tp
            record.update(values)
            records.append(record)
            rows.append(number)
            timepoints.append(tp)
    columns = [c for c in spec.column_names if c in set(fixed) | set(varying) | {"timepoint"}]
    cells_frame = pd.DataFrame(records, columns=columns, dtype=object)
    if not records:
        cells_frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return Arranged(raw.file, "wide", cells_frame, rows, timepoints, frozenset(spec.varying))
