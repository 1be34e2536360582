"""Write the data manager's template: the body of ``trialanalysis template``.

One sheet (``OUT.xlsx``) or one CSV file (``OUT_DIR/<trial>/<table>.csv``)
per table of both trials, and the data dictionary
(:mod:`trialanalysis.ingest.template`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.ingest.template import (
    DICTIONARY_COLUMNS,
    DICTIONARY_SHEET,
    dictionary_table,
    template_tables,
)
from trialanalysis.steps.io import write_csv


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
        write_csv(pd.DataFrame(columns=spec.column_names), path)
        written.append(path)
    path = out / f"{DICTIONARY_SHEET}.csv"
    write_csv(dictionary, path)
    return [*written, path]


def _write_workbook(out: Path, specs, dictionary: pd.DataFrame) -> Path:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for (trial, name), spec in specs.items():
        sheet = workbook.create_sheet(f"{trial}_{name}"[:31])
        sheet.append(spec.column_names)
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
