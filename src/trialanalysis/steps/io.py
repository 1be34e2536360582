"""Workflow step input and output: the step log, the CSV writer and reader, input discovery.

Intermediate tables are CSV so that a reviewer can open every one of them;
:func:`write_csv` writes them byte-stable and :func:`read_table_csv` restores
the types by naming convention (``*_id`` text, ``*_date`` dates).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from trialanalysis.errors import TrialAnalysisError
from trialanalysis.ingest.settings import DEFAULT_SETTINGS
from trialanalysis.ingest.sources import trial_files

DATE_COLUMNS = ("period_start", "period_end")
TEXT_COLUMNS = ("timepoint", "condition", "arm", "cluster_id")


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


def read_table_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by a workflow step, restoring types by column name."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for column in frame.columns:
        if column.endswith("_id") or column in TEXT_COLUMNS:
            frame[column] = frame[column].astype("string")
        elif column.endswith("_date") or column in DATE_COLUMNS:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return frame


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
