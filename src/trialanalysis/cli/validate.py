"""The ``trialanalysis validate`` command: config handling and output."""

from __future__ import annotations

from pathlib import Path

from trialanalysis.analyses.settings import resolve_analyses
from trialanalysis.config import load_config, validate_config
from trialanalysis.ingest.settings import TRIALS
from trialanalysis.ingest.validate import validate_all
from trialanalysis.instruments.definitions import instruments_path

DEFAULT_CONFIG = "config/config.yaml"


def read_config(path: str | None, data_dir: str | None = None) -> dict:
    """Return the workflow config for the command line.

    Parameters
    ----------
    path : str or None
        A YAML config, checked against the config schema
        (:func:`trialanalysis.config.load_config`). None means
        ``config/config.yaml`` if it exists, else the built-in defaults.
    data_dir : str, optional
        Replaces ``data_dir`` of the config.

    Returns
    -------
    dict
    """
    overrides = {} if data_dir is None else {"data_dir": data_dir}
    if path is None and not Path(DEFAULT_CONFIG).is_file():
        return overrides
    return load_config(DEFAULT_CONFIG if path is None else path, overrides)


def check_analysis_settings(config: dict) -> None:
    """Check the analysis settings of both trials as the workflow does before any job runs.

    Raises
    ------
    ConfigError
        Listing every bad setting of ``betterback.analyses`` and ``prepare.analyses``.
    """
    full = validate_config(config, source="config")
    full["instruments_dir"] = str(instruments_path(full["instruments_dir"]))
    resolve_analyses(full)


def run_validate(data_dir: str | None, config_path: str | None, trial: str = "all") -> int:
    """Check the analysis settings, validate raw data and print a short summary.

    Problems are raised as :class:`~trialanalysis.errors.DataValidationError`
    (every problem in its message), which the command line prints before
    exiting with status 2.

    Parameters
    ----------
    data_dir : str or None
        Folder of raw data; overrides ``data_dir`` of the config.
    config_path : str or None
        Workflow config (see :func:`read_config`).
    trial : str
        ``betterback``, ``prepare`` or ``all``.

    Returns
    -------
    int
        0 when the data pass.
    """
    config = read_config(config_path, data_dir)
    check_analysis_settings(config)
    trials = list(TRIALS) if trial == "all" else [trial]
    _, summary = validate_all(config, trials)
    for row in summary.itertuples(index=False):
        sheet = f" (sheet {row.sheet})" if isinstance(row.sheet, str) else ""
        print(f"{row.trial}/{row.table}: {row.rows} rows ({row.layout}) from {row.file}{sheet}")
        if isinstance(row.dropped, str):
            print(f"  dropped on read: {row.dropped}")
    print(f"OK: {len(summary)} files, {int(summary['rows_read'].sum())} rows read, no problems")
    return 0
