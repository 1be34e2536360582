"""Read, check and type every input table of a trial, reporting all problems at once.

Order of work per file: read (by extension) -> drop declared identifying
columns -> privacy scan -> header and layout -> parse cells -> pandera schema
(ranges, required, keys); then, per trial, references, date order and the
allocation schedule. Nothing is returned unless every check passes, so no
partial output can follow a failed validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from trialanalysis.errors import ConfigError, DataValidationError, PrivacyError, Problem
from trialanalysis.ingest.contract import TableSpec, build_contract
from trialanalysis.ingest.layout import arrange, drop_columns
from trialanalysis.ingest.parse import parse_cells
from trialanalysis.ingest.privacy import scan_columns
from trialanalysis.ingest.readers import file_sha256, read_table
from trialanalysis.ingest.relations import CheckedTable, relation_problems
from trialanalysis.ingest.schema import schema_problems
from trialanalysis.ingest.settings import TRIALS, resolve_settings
from trialanalysis.instruments.definitions import load_instruments

SUMMARY_COLUMNS = [
    "trial",
    "table",
    "file",
    "format",
    "layout",
    "rows_read",
    "rows",
    "columns",
    "columns_dropped",
    "problems",
    "sha256",
]


def trial_contract(config: dict[str, Any] | None, trial: str) -> dict[str, TableSpec]:
    """Return the contract (table specifications) of one trial under a config.

    Parameters
    ----------
    config : dict or None
        Workflow config (missing keys take the built-in defaults).
    trial : str
        ``betterback`` or ``prepare``.

    Returns
    -------
    dict of str to TableSpec
    """
    settings = resolve_settings(config)
    return build_contract(settings, trial, load_instruments(settings["instruments_dir"]))


def validate_trial(config: dict[str, Any] | None, trial: str) -> dict[str, pd.DataFrame]:
    """Validate the raw data of one trial and return its analysis-ready tables.

    Parameters
    ----------
    config : dict or None
        Workflow config: ``data_dir``, ``instruments_dir``, ``input``,
        ``privacy`` and the trial's section (missing keys take the built-in
        defaults of :mod:`trialanalysis.ingest.settings`).
    trial : str
        ``betterback`` or ``prepare``.

    Returns
    -------
    dict of str to DataFrame
        One typed table per contract table (long layout, contract column
        order, sorted by key, declared identifying columns dropped).

    Raises
    ------
    PrivacyError
        If any column looks like it holds personal identifiers (the error
        lists every other problem too).
    DataValidationError
        If any other problem was found; ``exc.problems`` lists them all and
        ``exc.summary`` holds the summary table.
    """
    tables, _ = _validate(config, [trial])
    return tables[trial]


def validate_all(
    config: dict[str, Any] | None, trials: Sequence[str] | None = None
) -> tuple[dict[str, dict[str, pd.DataFrame]], pd.DataFrame]:
    """Validate both trials; return their tables and a summary for the report.

    Parameters
    ----------
    config : dict or None
        Workflow config (see :func:`validate_trial`).
    trials : sequence of str, optional
        Trials to validate; default both (``betterback``, ``prepare``).

    Returns
    -------
    tables : dict of str to dict of str to DataFrame
        Trial -> table -> analysis-ready table.
    summary : DataFrame
        One row per file with columns ``trial, table, file, format, layout,
        rows_read, rows, columns, columns_dropped, problems, sha256`` (see
        :func:`validation_summary`).

    Raises
    ------
    PrivacyError, DataValidationError
        As :func:`validate_trial`, with the problems of both trials.
    """
    return _validate(config, list(TRIALS if trials is None else trials))


def _validate(config, trials):
    settings = resolve_settings(config)
    unknown = [t for t in trials if t not in TRIALS]
    if unknown:
        raise ConfigError(f"unknown trial(s) {unknown}; expected one of {list(TRIALS)}")
    if not Path(settings["data_dir"]).is_dir():
        raise ConfigError(f"data folder {settings['data_dir']!r} not found; check data_dir")
    instruments = load_instruments(settings["instruments_dir"])
    problems: list[Problem] = []
    privacy: list[Problem] = []
    checked_by_trial: dict[str, dict[str, CheckedTable]] = {}
    records: list[dict] = []
    for trial in trials:
        contract = build_contract(settings, trial, instruments)
        checked = {}
        for name, spec in contract.items():
            table, found, found_privacy, record = _check_table(settings, spec)
            problems += found
            privacy += found_privacy
            records.append(record)
            if table is not None:
                checked[name] = table
        problems += relation_problems(checked)
        checked_by_trial[trial] = checked
    everything = problems + privacy
    summary = validation_summary(records, everything)
    if everything:
        error_class = PrivacyError if privacy else DataValidationError
        error = error_class(dict.fromkeys(everything))
        error.summary = summary
        raise error
    tables = {
        trial: {name: _analysis_ready(table) for name, table in checked.items()}
        for trial, checked in checked_by_trial.items()
    }
    return tables, summary


def _check_table(settings: dict, spec: TableSpec):
    path = Path(settings["data_dir"]) / spec.path
    file = str(path)
    record = {
        "trial": spec.trial,
        "table": spec.name,
        "file": file,
        "format": path.suffix.lower().lstrip("."),
    }
    if not path.is_file():
        message = f"file not found; check {spec.trial}.files.{spec.name} in the config"
        return None, [Problem(file, None, None, message)], [], record
    try:
        raw = read_table(path, settings["input"]["csv"], sheet=spec.name)
    except DataValidationError as exc:
        record["sha256"] = file_sha256(path)
        return None, list(exc.problems), [], record
    problems = list(raw.problems)
    declared = f"{spec.trial}/{spec.name}"
    columns_read = len(raw.header)
    drop_columns(raw, settings["privacy"]["drop_columns"].get(declared, []))
    categories = [c.name for c in spec.columns if c.kind == "category"]
    privacy = scan_columns(
        file, raw.header, raw.rows, raw.row_numbers, raw.header_row, declared, categories
    )
    flagged = frozenset(p.column for p in privacy)
    arranged, found = arrange(raw, spec, quiet=flagged)
    problems += found
    codes = settings["input"]
    frame, found, failed = parse_cells(
        arranged,
        spec,
        codes["missing_codes"],
        codes["column_missing_codes"],
        raw.decimal,
        raw.value_labels,
    )
    problems += found
    problems += schema_problems(frame, spec, arranged, failed)
    record.update(
        layout=arranged.layout,
        rows_read=len(raw.rows),
        rows=len(frame),
        columns=columns_read,
        columns_dropped=columns_read - len(raw.header),
        sha256=raw.sha256,
    )
    return CheckedTable(spec, frame, arranged), problems, privacy, record


def _analysis_ready(table: CheckedTable) -> pd.DataFrame:
    frame = table.frame[[c for c in table.spec.column_names if c in table.frame.columns]]
    return frame.sort_values(list(table.spec.key), kind="stable").reset_index(drop=True)


def validation_summary(records: list[dict], problems: list[Problem]) -> pd.DataFrame:
    """Build the tidy validation summary, one row per file.

    Parameters
    ----------
    records : list of dict
        Per file: ``trial``, ``table``, ``file``, ``format`` and, when the
        file could be read, ``layout``, ``rows_read``, ``rows``, ``columns``,
        ``columns_dropped`` and ``sha256``.
    problems : list of Problem
        All problems found; counted per file.

    Returns
    -------
    DataFrame
        Columns ``trial`` (str), ``table`` (str), ``file`` (str, path as
        configured), ``format`` (``csv``/``xlsx``/``sav``), ``layout``
        (``long``/``wide``, missing if unreadable), ``rows_read`` (data rows
        in the file, Int64), ``rows`` (rows of the long table, Int64),
        ``columns`` (columns in the file, Int64), ``columns_dropped``
        (declared identifying columns dropped, Int64), ``problems`` (int64)
        and ``sha256`` (checksum of the file, missing if absent).
    """
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.file] = counts.get(problem.file, 0) + 1
    summary = pd.DataFrame(records, columns=SUMMARY_COLUMNS)
    summary["problems"] = summary["file"].map(counts).fillna(0).astype("int64")
    for column in ("rows_read", "rows", "columns", "columns_dropped"):
        summary[column] = summary[column].astype("Int64")
    for column in ("trial", "table", "file", "format", "layout", "sha256"):
        summary[column] = summary[column].astype("string")
    return summary
