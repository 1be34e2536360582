"""Empty input tables for the data manager (written by ``trialanalysis template``).

One sheet (``OUT.xlsx``) or one CSV file (``OUT_DIR/<trial>/<table>.csv``,
the folder layout ``data_dir`` expects) per table of both trials, headed with
the contract's column names in the long layout, and a data dictionary
(column, type, allowed values or range, required, description) built from the
same contract as ``docs/data_dictionary.md``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialanalysis.ingest.contract import TableSpec, build_contract
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
    return pd.DataFrame(rows, columns=DICTIONARY_COLUMNS)
