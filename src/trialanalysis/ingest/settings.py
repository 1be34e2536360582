"""Ingest settings: the one place that holds the built-in defaults.

The workflow config (``config/config.yaml``, checked by the lead's JSON
Schema) carries the same keys; its schema defaults must equal
:data:`DEFAULT_SETTINGS`. Functions in :mod:`trialanalysis.ingest` take the
config as a plain dict and call :func:`resolve_settings`, so a partial config
(or none at all, as in ``trialanalysis validate DATA_DIR``) works.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from trialanalysis.errors import ConfigError

TRIALS: tuple[str, ...] = ("betterback", "prepare")

#: Built-in defaults of every config key the ingest step reads.
DEFAULT_SETTINGS: dict[str, Any] = {
    "data_dir": "data/example",
    "instruments_dir": "config/instruments",
    "input": {
        # Values that mean missing in every column (blank is always missing).
        "missing_codes": [-9, -99],
        # Column name -> codes that replace `missing_codes` for that column.
        "column_missing_codes": {},
        # CSV dialect; "auto" detects it per file.
        "csv": {"encoding": "auto", "separator": "auto", "decimal": "auto"},
    },
    "privacy": {
        "min_cell_size": 5,
        # "<trial>/<table>" -> identifying columns dropped on read.
        "drop_columns": {},
    },
    "betterback": {
        "files": {
            "clinics": "betterback/clinics.csv",
            "schedule": "betterback/schedule.csv",
            "therapists": "betterback/therapists.csv",
            "therapist_responses": "betterback/therapist_responses.csv",
            "patients": "betterback/patients.csv",
            "patient_outcomes": "betterback/patient_outcomes.csv",
            "care": "betterback/care.csv",
        },
        "timepoints": {
            "therapist": ["baseline", "post_training", "3m", "12m"],
            "patient": ["baseline", "3m", "6m", "12m"],
        },
        "instruments": {
            "therapist_responses": ["pabs", "pcs", "dibq"],
            "patient_outcomes": ["odi", "nrs", "eq5d", "startback", "pei", "bipq"],
            "care": ["cpqi"],
        },
        # Table -> "auto" | "long" | "wide" (tables with time points only).
        "layout": {},
    },
    "prepare": {
        "files": {"patients": "prepare/patients.csv", "outcomes": "prepare/outcomes.csv"},
        "timepoints": ["baseline", "post_intervention", "3m", "12m", "24m"],
        "arms": ["waiting_list", "physiotherapy"],
        "instruments": {
            "outcomes": [
                "odi", "vas", "eq5d", "eqvas", "ses", "fabq", "tsk", "hads", "pal", "walk",
            ],
        },
        "layout": {},
    },
}  # fmt: skip

CSV_CHOICES = {
    "encoding": ("auto", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"),
    "separator": ("auto", ",", ";", "\t"),
    "decimal": ("auto", ".", ","),
}
LAYOUT_CHOICES = ("auto", "long", "wide")


def resolve_settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill a (possibly partial) config with the defaults and check ingest keys.

    Parameters
    ----------
    config : mapping or None
        The workflow config as a plain dict. Keys that the ingest step does
        not use are kept untouched.

    Returns
    -------
    dict
        A new dict: defaults overlaid with ``config`` (dicts merged key by
        key, lists and scalars replaced).

    Raises
    ------
    ConfigError
        If a key the ingest step uses has the wrong form.
    """
    settings = _merge(DEFAULT_SETTINGS, dict(config or {}))
    problems: list[str] = []
    codes = settings["input"]["missing_codes"]
    if not isinstance(codes, list) or not all(isinstance(c, (int, float, str)) for c in codes):
        problems.append("input.missing_codes must be a list of numbers or strings")
    per_column = settings["input"]["column_missing_codes"]
    if not isinstance(per_column, dict) or not all(
        isinstance(v, list) for v in per_column.values()
    ):
        problems.append("input.column_missing_codes must map column names to lists of codes")
    for key, value in settings["input"]["csv"].items():
        if key not in CSV_CHOICES:
            problems.append(f"input.csv.{key} is not a setting{_hint(key, CSV_CHOICES)}")
        elif value not in CSV_CHOICES[key]:
            problems.append(f"input.csv.{key} must be one of {list(CSV_CHOICES[key])}")
    size = settings["privacy"]["min_cell_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        problems.append("privacy.min_cell_size must be a whole number >= 1")
    drops = settings["privacy"]["drop_columns"]
    if not isinstance(drops, dict) or not all(isinstance(v, list) for v in drops.values()):
        problems.append('privacy.drop_columns must map "<trial>/<table>" to lists of columns')
    for trial in TRIALS:
        problems += _check_trial(settings[trial], trial)
    if problems:
        raise ConfigError("invalid ingest settings:\n" + "\n".join(problems))
    return settings


def _check_trial(trial_settings: dict, trial: str) -> list[str]:
    problems = []
    tables = set(DEFAULT_SETTINGS[trial]["files"])
    for section in ("files", "instruments", "layout"):
        for table in trial_settings[section]:
            if table not in tables:
                problems.append(f"{trial}.{section}.{table}: unknown table{_hint(table, tables)}")
    for table, layout in trial_settings["layout"].items():
        if layout not in LAYOUT_CHOICES:
            problems.append(f"{trial}.layout.{table} must be one of {list(LAYOUT_CHOICES)}")
    timepoints = trial_settings["timepoints"]
    lists = timepoints.values() if isinstance(timepoints, dict) else [timepoints]
    for values in lists:
        if not isinstance(values, list) or not values or len(set(values)) != len(values):
            problems.append(f"{trial}.timepoints: each list must hold distinct time points")
    return problems


def _hint(name: str, choices) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _merge(base: Mapping, override: Mapping) -> dict:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
