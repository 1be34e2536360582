"""Read, check and type every input table of a trial, reporting all problems at once.

Order of work per file: read (by extension) -> drop declared identifying
columns -> privacy scan -> header and layout -> parse cells -> pandera schema
(ranges, required, keys); then, per trial, references, date order and the
allocation schedule. Nothing is returned unless every check passes, so no
partial output can follow a failed validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from trialanalysis.errors import ConfigError, DataValidationError, PrivacyError, Problem
from trialanalysis.ingest.contract import TableSpec, build_contract
from trialanalysis.ingest.layout import arrange, drop_columns
from trialanalysis.ingest.parse import parse_cells
from trialanalysis.ingest.privacy import is_free_text_column, scan_columns
from trialanalysis.ingest.readers import file_sha256, read_table
from trialanalysis.ingest.relations import CheckedTable, relation_problems
from trialanalysis.ingest.schema import schema_problems
from trialanalysis.ingest.settings import TRIALS, resolve_settings
from trialanalysis.ingest.sources import (
    locate_file,
    mapping_records,
    recode_problems,
    rename_columns,
    table_source,
)
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
    "dropped",
    "problems",
    "sheet",
    "sha256",
]
MAPPING_COLUMNS = [
    "trial",
    "table",
    "file",
    "sheet",
    "step",
    "column",
    "source",
    "target",
    "values_changed",
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
    tables, _, _ = _validate(config, [trial])
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
        One row per file with the columns :data:`SUMMARY_COLUMNS` (see
        :func:`validation_summary`).

    Raises
    ------
    PrivacyError, DataValidationError
        As :func:`validate_trial`, with the problems of both trials.
    """
    tables, summary, _ = validate_sources(config, trials)
    return tables, summary


def validate_sources(
    config: dict[str, Any] | None, trials: Sequence[str] | None = None
) -> tuple[dict[str, dict[str, pd.DataFrame]], pd.DataFrame, pd.DataFrame]:
    """Validate like :func:`validate_all`, and also return the mapping applied.

    Returns
    -------
    tables, summary
        As :func:`validate_all`.
    mapping : DataFrame
        One row per rename and per recoded value of every table, columns
        :data:`MAPPING_COLUMNS` (``values_changed``: cells changed; for a
        rename, the rows of the file).
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
    mapping: list[dict] = []
    for trial in trials:
        contract = build_contract(settings, trial, instruments)
        checked = {}
        renamed_in: dict[str, dict[str, str]] = {}
        for name, spec in contract.items():
            table, found, found_privacy, record, renamed, applied = _check_table(settings, spec)
            problems += found
            privacy += found_privacy
            records.append(record)
            mapping += applied
            renamed_in[record["file"]] = renamed
            if table is not None:
                checked[name] = table
        problems += [
            _in_source_terms(p, renamed_in.get(p.file, {})) for p in relation_problems(checked)
        ]
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
    for trial in trials:
        for name, spec in build_contract(settings, trial, instruments).items():
            if name not in tables[trial] and spec.optional:
                tables[trial][name] = empty_table(spec)
    return tables, summary, pd.DataFrame(mapping, columns=MAPPING_COLUMNS)


def _check_table(settings: dict, spec: TableSpec):
    source = table_source(settings[spec.trial]["files"][spec.name])
    where = f"{spec.trial}.files.{spec.name}"
    path, missing = locate_file(settings["data_dir"], source.path, where)
    file = str(path)
    record = {
        "trial": spec.trial,
        "table": spec.name,
        "file": file,
        "format": path.suffix.lower().lstrip("."),
        "sheet": source.sheet or None,
    }
    if missing and spec.optional:
        record.update(format=None, dropped="absent (optional table)", rows=0)
        return None, [], [], record, {}, []
    if missing:
        return None, missing, [], record, {}, []
    try:
        raw = read_table(
            path,
            settings["input"]["csv"],
            sheet=source.sheet or spec.name,
            exact_sheet=bool(source.sheet),
        )
    except DataValidationError as exc:
        record["sha256"] = file_sha256(path)
        return None, list(exc.problems), [], record, {}, []
    problems = list(raw.problems)
    declared = f"{spec.trial}/{spec.name}"
    columns_read = len(raw.header)
    drop_columns(raw, settings["privacy"]["drop_columns"].get(declared, []))
    privacy = scan_columns(file, raw.header, raw.rows, raw.row_numbers, raw.header_row, declared)
    flagged = frozenset(p.column for p in privacy)
    free_text = [
        n
        for n in raw.header
        if (is_free_text_column(n) or n in spec.free_text) and n not in flagged
    ]
    drop_columns(raw, free_text)
    renamed = rename_columns(raw, source, spec, where)
    recoding = recode_problems(raw, source, spec, where)
    problems += renamed.problems + recoding
    arranged, found = arrange(raw, spec, quiet=flagged | renamed.explained)
    problems += found
    codes = settings["input"]
    frame, found, failed, recoded = parse_cells(
        arranged,
        spec,
        codes["missing_codes"] if source.missing_codes is None else source.missing_codes,
        codes["column_missing_codes"],
        raw.decimal,
        raw.value_labels,
        recode=source.recode,
        date_format=source.date_format or codes["date_format"] or None,
        quiet=frozenset(p.column for p in recoding) | renamed.explained,
    )
    problems += found
    problems += schema_problems(frame, spec, arranged, failed)
    not_in_contract = [
        renamed.sources.get(n, n) for n in arranged.dropped if n not in renamed.explained
    ]
    record.update(
        layout=arranged.layout,
        rows_read=len(raw.rows),
        rows=len(frame),
        columns=columns_read,
        columns_dropped=columns_read - len(raw.header) + len(not_in_contract),
        dropped="; ".join(
            [f"{n} (free text)" for n in free_text]
            + [f"{n} (not in the contract)" for n in not_in_contract]
        )
        or None,
        sha256=raw.sha256,
    )
    context = {k: record[k] for k in ("trial", "table", "file", "sheet")}
    mapping = mapping_records(context, renamed.sources, recoded, len(raw.rows))
    problems = [_in_source_terms(p, renamed.sources) for p in problems]
    checked = CheckedTable(spec, frame, arranged)
    return checked, problems, privacy, record, renamed.sources, mapping


def _in_source_terms(problem: Problem, renamed: dict[str, str]) -> Problem:
    """Name the source column of a renamed column in a problem."""
    if problem.column in renamed:
        return replace(problem, column=renamed[problem.column])
    return problem


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """Return the analysis-ready form of an absent optional table: typed, no rows."""
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in spec.columns})


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
        ``columns_dropped``, ``dropped``, ``sheet`` and ``sha256``.
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
        (columns dropped on read, Int64: declared identifying, free-text and
        not-in-contract columns), ``dropped`` (the free-text and
        not-in-contract columns by source name, ``; ``-separated), ``problems``
        (int64), ``sheet`` (the configured sheet of a workbook) and ``sha256``
        (checksum of the file, missing if absent).
    """
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.file] = counts.get(problem.file, 0) + 1
    summary = pd.DataFrame(records, columns=SUMMARY_COLUMNS)
    summary["problems"] = summary["file"].map(counts).fillna(0).astype("int64")
    for column in ("rows_read", "rows", "columns", "columns_dropped"):
        summary[column] = summary[column].astype("Int64")
    for column in ("trial", "table", "file", "format", "layout", "dropped", "sheet", "sha256"):
        summary[column] = summary[column].astype("string")
    return summary
