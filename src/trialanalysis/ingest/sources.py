"""Where a table comes from and how an export maps onto the contract.

``<trial>.files.<table>`` in the config is a path, or a mapping with the
path and the mapping of the export (``sheet``, ``rename``, ``recode``,
``missing_codes``, ``date_format``). This module turns either form into a
:class:`TableSource`, finds the file (a configured file that is absent is
looked up by its stem among ``.csv``, ``.xlsx`` and ``.sav``) and renames
the source columns, reporting every mapping mistake as a
:class:`~trialanalysis.errors.Problem` at the source file and column.
Recodes are applied cell by cell in :mod:`.parse`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialanalysis.errors import Problem
from trialanalysis.ingest.contract import TableSpec
from trialanalysis.ingest.readers import RawTable, canonical_text

STEM_EXTENSIONS = (".csv", ".xlsx", ".sav")


@dataclass(frozen=True)
class TableSource:
    """The configured source of one table.

    Attributes
    ----------
    path : str
        File relative to ``data_dir``, as configured.
    sheet : str
        Worksheet of an ``.xlsx`` file; ``""`` means the sheet named after
        the table if there is one, else the first sheet.
    rename : dict of str to str
        Source column (or, in a wide file, source stem) -> contract column.
    recode : dict of str to dict of str to str
        Contract column -> {source value or SPSS label: contract value},
        keys and values as canonical text.
    missing_codes : tuple or None
        Codes that mean missing in this table (None: ``input.missing_codes``).
    date_format : str or None
        Format of text dates (None: ``input.date_format``).
    """

    path: str
    sheet: str = ""
    rename: dict[str, str] = field(default_factory=dict)
    recode: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_codes: tuple | None = None
    date_format: str | None = None


def table_source(entry: str | Mapping[str, Any]) -> TableSource:
    """Turn a ``<trial>.files.<table>`` entry (path or mapping) into a :class:`TableSource`.

    Parameters
    ----------
    entry : str or mapping
        As validated by the config schema (``$defs/table_source``).

    Returns
    -------
    TableSource
    """
    if isinstance(entry, str):
        return TableSource(entry)
    recode = {
        str(column): {_text(k): _text(v) for k, v in (values or {}).items()}
        for column, values in (entry.get("recode") or {}).items()
    }
    codes = entry.get("missing_codes")
    return TableSource(
        path=entry["path"],
        sheet=entry.get("sheet") or "",
        rename={str(k): str(v) for k, v in (entry.get("rename") or {}).items()},
        recode=recode,
        missing_codes=None if codes is None else tuple(codes),
        date_format=entry.get("date_format"),
    )


def _text(value: Any) -> str:
    return canonical_text(value) or ""


def locate_file(
    data_dir: str | Path, path: str, where: str = "the config"
) -> tuple[Path, list[Problem]]:
    """Find a table's file; an absent file is looked up by its stem.

    Parameters
    ----------
    data_dir : path
        The data folder.
    path : str
        The configured path relative to ``data_dir``.
    where : str
        The config key of the path, named in the advice.

    Returns
    -------
    Path
        The file to read (the configured one when nothing else was found).
    list of Problem
        Empty when a file was found; otherwise one problem saying none or
        several files matched.
    """
    configured = Path(data_dir) / path
    if configured.is_file():
        return configured, []
    matches = [
        candidate
        for extension in STEM_EXTENSIONS
        if (candidate := configured.with_suffix(extension)).is_file()
    ]
    if len(matches) == 1:
        return matches[0], []
    if matches:
        names = ", ".join(m.name for m in matches)
        message = (
            f"file not found, and its stem matches several files ({names}); "
            f"name one, with its extension, in {where}"
        )
    else:
        message = (
            "file not found (also looked for .csv, .xlsx and .sav files of that name); "
            f"check {where}"
        )
    return configured, [Problem(str(configured), None, None, message)]


def trial_files(settings: Mapping[str, Any], trial: str) -> dict[str, Path]:
    """Return the file each table of a trial is read from (absent ones omitted)."""
    found = {}
    for table, entry in settings[trial]["files"].items():
        path, problems = locate_file(settings["data_dir"], table_source(entry).path)
        if not problems:
            found[table] = path
    return found


def _expected_names(spec: TableSpec) -> set[str]:
    names = set(spec.column_names)
    names |= {f"{c}_{tp}" for c in spec.varying for tp in spec.timepoints}
    return names


def _closest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class Renamed:
    """The outcome of :func:`rename_columns`.

    Attributes
    ----------
    sources : dict of str to str
        New column name -> source column name, for every renamed column.
    problems : list of Problem
        One per mapping mistake.
    explained : set of str
        Columns whose absence or oddity a problem already explains (targets
        of renames that failed), so later checks stay quiet about them.
    """

    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    explained: set[str] = field(default_factory=set)


def rename_columns(raw: RawTable, source: TableSource, spec: TableSpec, where: str) -> Renamed:
    """Rename source columns onto contract columns, in place.

    In a table with time points, a ``rename`` key that is not a column but
    the stem of ``<stem>_<timepoint>`` columns renames each of them
    (``ODI1: odi_1`` turns ``ODI1_3m`` into ``odi_1_3m``).

    Parameters
    ----------
    raw : RawTable
        The table as read; its ``header`` and ``value_labels`` are renamed.
    source : TableSource
        The mapping.
    spec : TableSpec
        The contract of the table.
    where : str
        The config key of the mapping, for messages.

    Returns
    -------
    Renamed
        Problems: keys that are no column of the file, targets the contract
        does not have, and several source columns renamed onto one (those
        keep their source names).
    """
    result = Renamed()
    expected = _expected_names(spec)
    new_names = list(raw.header)
    for key, target in source.rename.items():
        matched = [i for i, name in enumerate(raw.header) if name == key]
        by_stem = False
        if not matched and spec.timepoints:
            matched = [
                i for i, name in enumerate(raw.header) for tp in spec.timepoints
                if name == f"{key}_{tp}"
            ]  # fmt: skip
            by_stem = bool(matched)
        if not matched:
            message = f"{where}.rename: no column {key!r} in the file{_closest(key, raw.header)}"
            result.problems.append(Problem(raw.file, raw.header_row, key, message))
            result.explained.add(target)
            continue
        if target not in (spec.varying if by_stem else expected):
            closest = _closest(target, sorted(expected))
            message = (
                f"{where}.rename: {key!r} is renamed to {target!r}, which is not a column of "
                f"{spec.trial}/{spec.name}{closest}"
            )
            result.problems.append(Problem(raw.file, raw.header_row, key, message))
            result.explained |= {raw.header[i] for i in matched}
            result.explained |= set(difflib.get_close_matches(target, sorted(expected), n=1))
            continue
        for i in matched:
            new_names[i] = target + (raw.header[i][len(key) :] if by_stem else "")
    sources_of: dict[str, list[int]] = {}
    for i, new in enumerate(new_names):
        sources_of.setdefault(new, []).append(i)
    for new, positions in sources_of.items():
        olds = [raw.header[i] for i in positions]
        if len(olds) > 1 and any(old != new for old in olds):  # plain duplicates: .layout
            listed = ", ".join(repr(o) for o in olds)
            message = f"{where}.rename: columns {listed} all become {new!r}; keep one"
            kept = next((i for i in positions if raw.header[i] == new), positions[0])
            reverted = [i for i in positions if i != kept]
            column = raw.header[reverted[0]]
            result.problems.append(Problem(raw.file, raw.header_row, column, message))
            result.explained.add(new)  # its cells may be another column's: stay quiet
            for i in reverted:
                new_names[i] = raw.header[i]
                result.explained.add(raw.header[i])
    result.sources = {
        new: old for old, new in zip(raw.header, new_names, strict=True) if old != new
    }
    raw.value_labels = {
        new: raw.value_labels[old]
        for old, new in zip(raw.header, new_names, strict=True)
        if old in raw.value_labels
    }
    raw.header = new_names
    return result


def recode_problems(
    raw: RawTable, source: TableSource, spec: TableSpec, where: str
) -> list[Problem]:
    """Check the recode mapping itself: columns of the table, allowed targets.

    A problem's ``column`` is the contract column of the faulty recode, so
    the caller can keep quiet about the cells it spoils.
    """
    problems = []
    for column, values in source.recode.items():
        if column not in spec.column_names:
            message = (
                f"{where}.recode: {column!r} is not a column of {spec.trial}/{spec.name}"
                f"{_closest(column, spec.column_names)} (recode keys are contract column names)"
            )
            problems.append(Problem(raw.file, raw.header_row, column, message))
            continue
        column_spec = spec.column(column)
        if column_spec.kind == "category":
            wrong = sorted({v for v in values.values() if v not in column_spec.categories})
            if wrong:
                message = (
                    f"{where}.recode.{column}: {', '.join(map(repr, wrong))} is not allowed; "
                    f"expected one of: {', '.join(column_spec.categories)}"
                )
                problems.append(Problem(raw.file, raw.header_row, column, message))
    return problems


def mapping_records(
    context: Mapping[str, str],
    renamed: Mapping[str, str],
    recoded: Mapping[tuple[str, str, str], int],
    rows: int,
) -> list[dict[str, Any]]:
    """Tabulate the mapping applied to one table, for the report's provenance.

    Parameters
    ----------
    context : mapping
        ``trial``, ``table``, ``file`` and ``sheet`` of the table.
    renamed : mapping
        New column -> source column.
    recoded : mapping
        (column, source value, contract value) -> number of cells changed.
    rows : int
        Data rows in the file (cells of a renamed column).

    Returns
    -------
    list of dict
        One record per rename and per recoded value (``step`` ``rename`` or
        ``recode``, ``column``, ``source``, ``target``, ``values_changed``).
    """
    records = [
        {**context, "step": "rename", "column": new, "source": old, "target": new,
         "values_changed": rows}
        for new, old in sorted(renamed.items())
    ]  # fmt: skip
    records += [
        {**context, "step": "recode", "column": column, "source": old, "target": new,
         "values_changed": count}
        for (column, old, new), count in sorted(recoded.items())
    ]  # fmt: skip
    return records
