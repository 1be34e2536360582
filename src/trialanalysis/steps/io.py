"""Workflow step input and output: the step log, the CSV writer and reader, input discovery.

:func:`write_csv` is the one byte-stable CSV writer of the package (the
workflow steps, manuscript tables, the simulator and the commands use it).

Intermediate tables are CSV so that a reviewer can open every one of them;
:func:`write_csv` writes them byte-stable and :func:`read_table_csv` restores
the types the data contract gives (IDs and categories as text, dates as dates).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from trialanalysis.analyses.common.tables import table_settings
from trialanalysis.errors import ConfigError, TrialAnalysisError
from trialanalysis.ingest.contract import contract_kinds
from trialanalysis.ingest.settings import DEFAULT_SETTINGS
from trialanalysis.ingest.sources import trial_files
from trialanalysis.reporting import tables as manuscript
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.sections import TableBlock
from trialanalysis.reporting.suppression import SuppressionRule

TEXT_KINDS = ("id", "category")


@dataclass(frozen=True)
class StepFiles:
    """The input and output names of a workflow step: those of its rule.

    Attributes
    ----------
    inputs, outputs : tuple of str
        Names of the rule's named inputs and outputs, in the rule's order (an
        architecture test checks they equal the rule's).
    folders : tuple of str
        Inputs that are folders (instrument definitions), not CSV tables.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    folders: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        """The inputs read as CSV tables."""
        return tuple(name for name in self.inputs if name not in self.folders)


def declare(
    inputs: Sequence[str] = (), outputs: Sequence[str] = (), folders: Sequence[str] = ()
) -> Callable:
    """Declare a step's input and output names once (as ``step.files``).

    Parameters
    ----------
    inputs, outputs : sequence of str
        The names of the rule's inputs and outputs.
    folders : sequence of str
        Inputs that are folders, not tables (e.g. ``instruments``).
    """
    files = StepFiles(tuple(inputs), tuple(outputs), tuple(folders))

    def attach(step: Callable) -> Callable:
        step.files = files
        return step

    return attach


@contextlib.contextmanager
def logged(log_path: str | Path) -> Iterator[logging.Logger]:
    """Run a workflow step with its warnings and errors written to a log file.

    A user error (:class:`~trialanalysis.errors.TrialAnalysisError`) is
    written to the log and to standard error without a traceback, and the
    step exits with status 1, so Snakemake stops and shows the message.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("trialanalysis.step")
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield logger
        for warning in caught:
            logger.warning("%s: %s", warning.category.__name__, warning.message)
    except TrialAnalysisError as exc:
        logger.error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        logger.removeHandler(handler)
        handler.close()


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a tidy table as UTF-8 CSV with Unix line endings (byte-stable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def write_table(
    table: pd.DataFrame,
    path: str | Path,
    *,
    formats: Sequence[str] = ("csv", *manuscript.FORMATS),
    **render,
) -> dict[str, Path]:
    """Write a tidy table as CSV (exactly the input) and as rendered manuscript tables.

    Parameters
    ----------
    table : DataFrame
        Tidy, unrounded results.
    path : str or Path
        Output path; its suffix is replaced by each format's.
    formats : sequence of str
        Any of ``csv`` (unrounded, unsuppressed, for the analysis record) and
        the rendered formats of
        :func:`trialanalysis.reporting.tables.write_rendered_table`.
    **render
        Caption, source, rounding rules, suppression, labels, columns, notes,
        missing text: see
        :func:`trialanalysis.reporting.tables.write_rendered_table`.

    Returns
    -------
    dict of str to Path
        Format -> file written, in the order of ``formats``.
    """
    known = ("csv", *manuscript.FORMATS)
    unknown = sorted(set(formats) - set(known))
    if unknown:
        raise ConfigError(f"unknown table format(s) {unknown}; choose from {', '.join(known)}")
    path = Path(path)
    rendered = manuscript.write_rendered_table(
        table, path, formats=[f for f in formats if f != "csv"], **render
    )
    written = {}
    for fmt in formats:
        if fmt == "csv":
            written[fmt] = path.with_suffix(".csv")
            write_csv(table, written[fmt])
        else:
            written[fmt] = rendered[fmt]
    return written


def publish_table(
    table: pd.DataFrame, folder: str | Path, name: str, config: Mapping, block: TableBlock
) -> TableBlock:
    """Write a manuscript table rendered as its report block shows it; return the block.

    Parameters
    ----------
    table : DataFrame
        The tidy table (its CSV copy is written unrounded).
    folder, name : path, str
        Output folder and file name without suffix; one file per configured format.
    config : mapping
        Validated config (``reporting.tables`` formats, rounding and missing text).
    block : TableBlock
        The report block of the table (its ``table`` path, ``caption``,
        ``columns``, ``labels``, ``rounding``, ``suppression``, ``notes``): the
        same settings render the manuscript table, so manuscript and report agree.
    """
    if not isinstance(block, TableBlock):
        raise TypeError(f"publish_table needs a TableBlock, not a {type(block).__name__}")
    settings = table_settings(config)
    write_table(
        table,
        Path(folder) / name,
        caption=block.caption,
        source=str(block.table),
        rules=block.rounding or settings["rules"],
        suppression=block.suppression,
        rule=SuppressionRule.from_config(config),
        labels=block.labels,
        columns=block.columns,
        notes=block.notes,
        formats=settings["formats"],
        missing=settings["missing"],
        codes=run_labels(config),
    )
    return block


@cache
def _kinds() -> dict[str, str]:
    return contract_kinds()


def read_table_csv(path: str | Path, kinds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a CSV written by a workflow step, with the column types of the data contract.

    A CSV carries numbers but not text that looks like a number (an ID
    ``007``, a time point ``12``) nor dates, so the columns the contract
    (:func:`~trialanalysis.ingest.contract.contract_kinds`) declares as IDs or
    categories are read as text, as written, and its dates as dates. Other
    columns (scores, results, the contract's numbers) keep pandas' inference.

    Parameters
    ----------
    path : path
        The CSV file.
    kinds : mapping of str to str, optional
        Column -> contract kind; default: the data contract's.
    """
    kinds = _kinds() if kinds is None else kinds
    header = pd.read_csv(path, nrows=0).columns
    text = {c: "string" for c in header if kinds.get(c) in TEXT_KINDS}
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=text)
    for column in frame.columns:
        if kinds.get(column) == "date":
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return frame


def read_tables(paths: Mapping[str, str], files: StepFiles) -> dict[str, pd.DataFrame]:
    """Read a step's CSV inputs (``files.tables``) that are given in ``paths``, by name."""
    return {name: read_table_csv(paths[name]) for name in files.tables if name in paths}


def table_keys(config: Mapping) -> list[tuple[str, str]]:
    """List (trial, table) for every input table in the config, in the contract's order.

    The order is that of the schema, not of the config's keys, so a config
    merged from several files (``snakemake --configfile``) lists the tables,
    and so writes every table built from them, in the same order.
    """
    return [
        (trial, table)
        for trial in ("betterback", "prepare")
        for table in DEFAULT_SETTINGS[trial]["files"]
        if table in config[trial]["files"]
    ]


def input_files(config: Mapping) -> list[str]:
    """Return the raw file of every input table that exists.

    Absent files are left out: the validation step reports them.

    A configured file that is absent is looked up by its stem among ``.csv``,
    ``.xlsx`` and ``.sav`` (:func:`trialanalysis.ingest.sources.locate_file`).
    """
    files = []
    for trial in ("betterback", "prepare"):
        files += [str(path) for path in trial_files(config, trial).values()]
    return files
