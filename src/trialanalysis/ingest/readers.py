"""Readers for raw trial files, chosen by file extension.

Every reader returns a :class:`RawTable`: the header, every data row as
strings (``None`` for a blank cell) and the row number the user sees in the
source (header = row 1 in a CSV file, the sheet row in Excel, the case number
+ 1 in SPSS). Title lines above the header (fewer than half as many filled
cells) are skipped. Numbers, dates and booleans are written in one canonical text
form (``3``, ``3.5``, ``2021-03-04``, ``1``), so all formats go through the
same parsing and give identical tables. Files are opened read-only and never
modified.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trialanalysis.errors import DataValidationError, PrivacyError, Problem
from trialanalysis.ingest.privacy import scan_columns

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
SPSS_EXTENSIONS = (".sav", ".zsav")
SEPARATORS = (",", ";", "\t")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d*,\d+$")
_POINT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")


@dataclass
class RawTable:
    """The cells of one raw file, as text, with their source row numbers.

    Attributes
    ----------
    file : str
        The path as shown in problems.
    format : str
        ``csv``, ``xlsx`` or ``sav``.
    header : list of str
        Column names as written (surrounding blanks removed).
    rows : list of list
        Data rows; each cell is a str or None (blank). Every row has
        ``len(header)`` cells.
    row_numbers : list of int
        Source row number of each data row.
    header_row : int
        Source row number of the header.
    decimal : str
        Decimal mark of numbers written as text (``.`` or ``,``).
    value_labels : dict
        SPSS value labels: column -> {canonical code: label}.
    sha256 : str
        Checksum of the file's bytes.
    problems : list of Problem
        Structural problems found while reading (ragged rows, unnamed columns).
    """

    file: str
    format: str
    header: list[str]
    rows: list[list[str | None]]
    row_numbers: list[int]
    header_row: int = 1
    decimal: str = "."
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    sha256: str = ""
    problems: list[Problem] = field(default_factory=list)


def read_table(
    path: str | Path,
    csv_options: dict | None = None,
    sheet: str | None = None,
    exact_sheet: bool = False,
) -> RawTable:
    """Read one raw data file; the extension picks the reader.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.tsv``/``.txt``, ``.xlsx``/``.xlsm`` or ``.sav``/``.zsav``.
    csv_options : dict, optional
        ``encoding``, ``separator`` and ``decimal``, each ``"auto"`` (the
        default) or a fixed choice (see ``input.csv`` in the config).
    sheet : str, optional
        In a workbook, the sheet of this name if there is one (the table
        name, so one workbook can hold several tables); otherwise the first.
    exact_sheet : bool
        The sheet must exist (it was named in the config); its absence is a
        problem that lists the sheets of the workbook.

    Returns
    -------
    RawTable

    Raises
    ------
    DataValidationError
        If the file is missing, of an unsupported type or unreadable.
    """
    file = str(path)
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataValidationError([Problem(file, None, None, "file not found; check the path")])
    try:
        if suffix in CSV_EXTENSIONS:
            table = _read_csv(path, file, csv_options or {})
        elif suffix in EXCEL_EXTENSIONS:
            table = _read_xlsx(path, file, sheet, exact_sheet)
        elif suffix in SPSS_EXTENSIONS:
            table = _read_sav(path, file)
        else:
            message = (
                f"unsupported file type {suffix or '(none)'!r}; "
                "save it as .csv, .xlsx or .sav (old .xls files: re-save as .xlsx)"
            )
            raise DataValidationError([Problem(file, None, None, message)])
    except DataValidationError:
        raise
    except Exception as exc:  # the libraries raise many types for corrupt files
        message = f"cannot read this {suffix} file ({type(exc).__name__}); is it damaged?"
        raise DataValidationError([Problem(file, None, None, message)]) from exc
    table.sha256 = file_sha256(path)
    return table


def read_frame(path: str | Path, csv_options: dict | None = None) -> pd.DataFrame:
    """Read any supported file as a DataFrame of text, refusing personal identifiers.

    For single-table commands (``score``, ``fit``) outside the trial data
    contract. The index holds each record's source row number (header = 1).

    Raises
    ------
    DataValidationError
        If the file cannot be read or has structural problems.
    PrivacyError
        If a column looks like personal identity numbers, names, e-mail
        addresses or phone numbers (the values are never shown).
    """
    raw = read_table(path, csv_options)
    problems = raw.problems + repeated_column_names(raw.file, raw.header, raw.header_row)
    if problems:
        raise DataValidationError(problems)
    found = scan_columns(raw.file, raw.header, raw.rows, raw.row_numbers, raw.header_row, None)
    if found:
        raise PrivacyError(found)
    frame = pd.DataFrame(raw.rows, columns=raw.header, dtype="object")
    if raw.decimal == ",":
        frame = frame.apply(lambda c: c.str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True))
    frame.index = pd.Index(raw.row_numbers, name="row")
    return frame


def repeated_column_names(file: str, header: list[str], header_row: int) -> list[Problem]:
    """One problem for each column whose name an earlier column already has."""
    problems, first_seen = [], {}
    for index, name in enumerate(header):
        if name in first_seen:
            message = (
                f"column name appears twice (columns {first_seen[name] + 1} and {index + 1}); "
                "keep one"
            )
            problems.append(Problem(file, header_row, name, message))
        else:
            first_seen[name] = index
    return problems


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 checksum of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_text(value: Any) -> str | None:
    """Write a cell value as canonical text (None for blank, NaN or NaT)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) or hasattr(value, "dtype"):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    return str(value).strip() or None


def _decode(data: bytes, encoding: str) -> str:
    if encoding != "auto":
        return data.decode(encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined
        return data.decode("latin-1")


def _sniff_separator(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    outside_quotes = re.sub(r'"[^"]*"', "", first)
    counts = {sep: outside_quotes.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _sniff_decimal(rows: Iterable[list[str | None]], separator: str) -> str:
    if separator == ",":
        return "."
    comma = point = 0
    for row in rows:
        for cell in row:
            if cell is not None:
                comma += bool(_COMMA_DECIMAL.match(cell))
                point += bool(_POINT_DECIMAL.match(cell))
    return "," if comma and not point else "."


def _read_csv(path: Path, file: str, options: dict) -> RawTable:
    text = _decode(path.read_bytes(), options.get("encoding", "auto"))
    text = text.lstrip("\ufeff")
    separator = options.get("separator", "auto")
    if separator == "auto":
        separator = _sniff_separator(text)
    records = [
        [canonical_text(cell) for cell in record]
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    ]
    # Record numbers are what a spreadsheet shows; a quoted line break stays in one row.
    numbered = list(enumerate(records, start=1))
    table = _assemble(file, "csv", numbered)
    decimal = options.get("decimal", "auto")
    table.decimal = _sniff_decimal(table.rows, separator) if decimal == "auto" else decimal
    return table


def _read_xlsx(path: Path, file: str, sheet_name: str | None, exact: bool) -> RawTable:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet_name in workbook.sheetnames:
            sheet = workbook[sheet_name]
        elif exact:
            names = ", ".join(repr(n) for n in workbook.sheetnames)
            message = f"no sheet {sheet_name!r} in this workbook; its sheets: {names}"
            raise DataValidationError([Problem(file, None, None, message)])
        else:
            sheet = workbook.worksheets[0]
        numbered = [
            (number, [canonical_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
    return _assemble(file, "xlsx", numbered)


def _read_sav(path: Path, file: str) -> RawTable:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    header = [str(name) for name in meta.column_names]
    columns = [frame[name].tolist() for name in meta.column_names]
    numbered = [(1, header)]
    for case in range(len(frame)):
        numbered.append((case + 2, [canonical_text(column[case]) for column in columns]))
    table = _assemble(file, "sav", numbered)
    table.value_labels = {
        column: {canonical_text(code): str(label) for code, label in labels.items()}
        for column, labels in meta.variable_value_labels.items()
    }
    return table


def _assemble(file: str, fmt: str, numbered: list[tuple[int, list]]) -> RawTable:
    """Find the header, square the rows, drop blank rows.

    The header is the first non-blank row that fills at least half as many
    cells as the fullest of the first rows, so title lines above a table in a
    sheet are skipped.
    """
    nonblank = [(number, cells) for number, cells in numbered if any(c is not None for c in cells)]
    if not nonblank:
        raise DataValidationError([Problem(file, None, None, "the file holds no data")])
    filled = [sum(c is not None for c in cells) for _, cells in nonblank[:20]]
    needed = min(max(filled), max(2, -(-max(filled) // 2)))
    start = next(i for i, count in enumerate(filled) if count >= needed)
    nonblank = nonblank[start:]
    header_row, header_cells = nonblank[0]
    # A CSV row longer than its header is reported per row; in a sheet, a
    # column with values under an empty header cell is reported once.
    width = len(header_cells) if fmt == "csv" else max(len(cells) for _, cells in nonblank)
    header_cells = list(header_cells) + [None] * (width - len(header_cells))
    used = [
        i
        for i in range(width)
        if header_cells[i] is not None
        or any(i < len(cells) and cells[i] is not None for _, cells in nonblank[1:])
    ]
    problems = []
    header = []
    for i in used:
        name = header_cells[i]
        if name is None:
            name = f"(column {i + 1})"
            message = f"column {i + 1} has values but no name in the header row; name it"
            problems.append(Problem(file, header_row, name, message))
        header.append(name)
    rows, row_numbers = [], []
    for number, cells in nonblank[1:]:
        if fmt == "csv" and len(cells) > len(header_cells):
            message = f"row has {len(cells)} fields but the header has {len(header_cells)}"
            problems.append(Problem(file, number, None, message))
        rows.append([cells[i] if i < len(cells) else None for i in used])
        row_numbers.append(number)
    return RawTable(file, fmt, header, rows, row_numbers, header_row, problems=problems)
