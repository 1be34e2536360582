"""Empty input tables for the data manager: the ``trialanalysis template`` command.

One sheet (``OUT.xlsx``) or one CSV file (``OUT_DIR/<trial>/<table>.csv``,
the folder layout ``data_dir`` expects) per table of both trials, headed with
the contract's column names in the long layout, and a data dictionary
(column, type, allowed values or range, required, description) built from the
same contract as ``docs/data_dictionary.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.ingest.contract import FREE_TEXT_NOTE, TableSpec, build_contract
from trialanalysis.ingest.dictionary import allowed_values, column_type
from trialanalysis.ingest.settings import TRIALS, resolve_settings
from trialanalysis.instruments.definitions import load_instruments

DICTIONARY_COLUMNS = [
    "trial",
    "table",
    "column",
    "type",
    "allowed",
    "required",
    "description",
]
DICTIONARY_SHEET = "data_dictionary"


def template_tables(config: dict[str, Any] | None = None) -> dict[tuple[str, str], TableSpec]:
    """Return the contract of every table of both trials, keyed by (trial, table)."""
    settings = resolve_settings(config)
    instruments = load_instruments(settings["instruments_dir"])
    return {
        (trial, name): spec
        for trial in TRIALS
        for name, spec in build_contract(settings, trial, instruments).items()
    }


def dictionary_table(specs: dict[tuple[str, str], TableSpec]) -> pd.DataFrame:
    """Tabulate every column of every table: type, allowed values, required, description."""
    rows = [
        {
            "trial": trial,
            "table": name,
            "column": column.name,
            "type": column_type(column),
            "allowed": allowed_values(column).replace("`", ""),
            "required": "yes" if column.required else "no",
            "description": column.description,
        }
        for (trial, name), spec in specs.items()
        for column in spec.columns
    ]
    rows += [
        {
            "trial": trial,
            "table": name,
            "column": column,
            "type": "free text",
            "allowed": "",
            "required": "no",
            "description": FREE_TEXT_NOTE,
        }
        for (trial, name), spec in specs.items()
        for column in spec.free_text
    ]
    return pd.DataFrame(rows, columns=DICTIONARY_COLUMNS)


def write_template(out: str | Path, config: dict[str, Any] | None = None) -> list[Path]:
    """Write the template workbook or folder.

    Parameters
    ----------
    out : path
        ``*.xlsx``: one workbook, a sheet ``<trial>_<table>`` per table and a
        sheet ``data_dictionary``. Anything else (e.g. ``template/``): a
        folder with ``<trial>/<table>.csv`` and ``data_dictionary.csv``.
    config : dict, optional
        Workflow config (time points, instruments); default the built-in one.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ConfigError
        If ``out`` is an existing file that is not a workbook, or another
        non-xlsx file name.
    """
    out = Path(out)
    specs = template_tables(config)
    dictionary = dictionary_table(specs)
    if out.suffix.lower() == ".xlsx":
        return [_write_workbook(out, specs, dictionary)]
    if out.suffix or out.is_file():
        raise ConfigError(
            f"{out}: give a workbook name ending in .xlsx, or a folder for CSV files"
        )
    written = []
    for (trial, name), spec in specs.items():
        path = out / trial / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(columns=spec.file_columns).to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    path = out / f"{DICTIONARY_SHEET}.csv"
    dictionary.to_csv(path, index=False, lineterminator="\n")
    return [*written, path]


def _write_workbook(out: Path, specs, dictionary: pd.DataFrame) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for (trial, name), spec in specs.items():
        sheet = workbook.create_sheet(f"{trial}_{name}"[:31])
        sheet.append(spec.file_columns)
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "A2"
    sheet = workbook.create_sheet(DICTIONARY_SHEET)
    sheet.append(DICTIONARY_COLUMNS)
    for cell in sheet[1]:
        cell.font = bold
    for row in dictionary.itertuples(index=False):
        sheet.append(list(row))
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out
