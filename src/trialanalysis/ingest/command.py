"""The ``trialanalysis validate`` command: config handling and output."""

from __future__ import annotations

from pathlib import Path

import yaml

from trialanalysis.errors import ConfigError
from trialanalysis.ingest.settings import TRIALS
from trialanalysis.ingest.validate import validate_all

DEFAULT_CONFIG = "config/config.yaml"


def load_config(path: str | None) -> dict:
    """Load the workflow config as a dict.

    Parameters
    ----------
    path : str or None
        A YAML file. None means ``config/config.yaml`` if it exists, else no
        config (built-in defaults).

    Returns
    -------
    dict
    """
    if path is None:
        if not Path(DEFAULT_CONFIG).is_file():
            return {}
        path = DEFAULT_CONFIG
    if not Path(path).is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    return config


def run_validate(data_dir: str | None, config_path: str | None, trial: str = "all") -> int:
    """Validate raw data and print a short summary; return the exit status.

    Problems are raised as :class:`~trialanalysis.errors.DataValidationError`
    (every problem in its message), which the command line prints before
    exiting with status 2.

    Parameters
    ----------
    data_dir : str or None
        Folder of raw data; overrides ``data_dir`` of the config.
    config_path : str or None
        Workflow config (see :func:`load_config`).
    trial : str
        ``betterback``, ``prepare`` or ``all``.

    Returns
    -------
    int
        0 when the data pass.
    """
    config = load_config(config_path)
    if data_dir is not None:
        config["data_dir"] = data_dir
    trials = list(TRIALS) if trial == "all" else [trial]
    _, summary = validate_all(config, trials)
    for row in summary.itertuples(index=False):
        print(f"{row.trial}/{row.table}: {row.rows} rows ({row.layout}) from {row.file}")
    print(f"OK: {len(summary)} files, {int(summary['rows_read'].sum())} rows read, no problems")
    return 0
