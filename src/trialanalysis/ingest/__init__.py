"""Input: readers (CSV, XLSX, SAV), data contract, validation and privacy guard.

Public API
----------
validate_trial(config, trial)
    Analysis-ready tables of one trial, or every problem at once.
validate_all(config)
    Tables of both trials and the validation summary for the report.
validate_sources(config)
    The same, and the mapping (renames, recodes) applied to each table.
trial_contract(config, trial)
    The table specifications the validation and the data dictionary use.
pandera_schema(spec)
    The pandera schema of an analysis-ready table.
    Hide small counts in publication tables.
DEFAULT_SETTINGS, resolve_settings(config)
    The built-in defaults of every config key the ingest step reads.
"""

from trialanalysis.ingest.contract import ColumnSpec, TableSpec, build_contract
from trialanalysis.ingest.privacy import contains_personal_number
from trialanalysis.ingest.readers import RawTable, read_table
from trialanalysis.ingest.schema import pandera_schema
from trialanalysis.ingest.settings import DEFAULT_SETTINGS, resolve_settings
from trialanalysis.ingest.validate import (
    SUMMARY_COLUMNS,
    trial_contract,
    validate_all,
    validate_sources,
    validate_trial,
    validation_summary,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "SUMMARY_COLUMNS",
    "ColumnSpec",
    "RawTable",
    "TableSpec",
    "build_contract",
    "contains_personal_number",
    "pandera_schema",
    "read_table",
    "resolve_settings",
    "trial_contract",
    "validate_all",
    "validate_sources",
    "validate_trial",
    "validation_summary",
]
