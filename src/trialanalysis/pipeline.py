"""Workflow steps: the functions the Snakemake scripts call.

Each step takes the (validated) config as a plain dict and explicit file
paths, reads its inputs, calls the package functions that do the work and
writes tidy CSV files. Intermediate tables are CSV so that a reviewer can open
every one of them; :func:`read_table_csv` restores the types by naming
convention (``*_id`` text, ``*_date`` dates).
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
from trialanalysis.ingest import validate_all
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.psychometrics import (
    item_statistics,
    psychometrics_table,
    unverified_settings_table,
)
from trialanalysis.instruments.scoring import score_table
from trialanalysis.reporting.figures import design_schematic, save_figure

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
    """List (trial, table) for every input table in the config, in order."""
    return [
        (trial, table) for trial in ("betterback", "prepare") for table in config[trial]["files"]
    ]


def validate_step(config: Mapping, outputs: Mapping[tuple[str, str], str], summary: str) -> None:
    """Validate all raw data; write analysis-ready tables and the summary.

    Raises (and writes nothing) when any problem is found.
    """
    tables, validation = validate_all(dict(config))
    for (trial, table), path in outputs.items():
        write_csv(tables[trial][table], path)
    write_csv(validation, summary)


def score_step(
    config: Mapping,
    trial: str,
    table: str,
    source: str,
    destination: str,
    keep_items: bool = False,
) -> None:
    """Score the instruments of one validated table; keep IDs, dates and scores."""
    instruments = load_instruments(config["instruments_dir"])
    names = config[trial]["instruments"].get(table, [])
    frame = read_table_csv(source)
    options = {k: v for k, v in config["scoring"]["options"].items() if k in names}
    scored = score_table(frame, {n: instruments[n] for n in names}, options=options)
    if not keep_items:
        items = {c for n in names for c in instruments[n].item_columns.values()}
        scored = scored.drop(columns=[c for c in scored.columns if c in items])
    write_csv(scored, destination)


def psychometrics_step(
    config: Mapping, sources: Mapping[tuple[str, str], str], outputs: Mapping[str, str]
) -> None:
    """Tabulate reliability, floor/ceiling and item statistics, and unverified settings.

    Parameters
    ----------
    config : mapping
        Validated workflow config.
    sources : mapping
        (trial, table) -> validated table with items, for tables with instruments.
    outputs : mapping
        ``scales``, ``items`` and ``unverified`` -> CSV paths.
    """
    instruments = load_instruments(config["instruments_dir"])
    scales, items, used = [], [], {}
    for (trial, table), path in sources.items():
        names = config[trial]["instruments"].get(table, [])
        chosen = {n: instruments[n] for n in names}
        options = {k: v for k, v in config["scoring"]["options"].items() if k in names}
        used.update(chosen)
        frame = read_table_csv(path)
        by = "timepoint" if "timepoint" in frame.columns else None
        head = {"trial": trial, "table": table}
        scales.append(psychometrics_table(frame, chosen, by=by, options=options).assign(**head))
        items.append(item_statistics(frame, chosen, by=by, options=options).assign(**head))
    first = ["trial", "table"]
    for rows, key in ((scales, "scales"), (items, "items")):
        table = pd.concat(rows, ignore_index=True)
        write_csv(table[first + [c for c in table.columns if c not in first]], outputs[key])
    ordered = dict(sorted(used.items()))
    options = {k: v for k, v in config["scoring"]["options"].items() if k in ordered}
    write_csv(unverified_settings_table(ordered, options), outputs["unverified"])


def design_figure_step(schedule: str, clinics: str, output: str) -> None:
    """Draw the BetterBack cluster x period schematic (SVG and PNG)."""
    figure = design_schematic(read_table_csv(schedule), read_table_csv(clinics))
    save_figure(figure, output)
