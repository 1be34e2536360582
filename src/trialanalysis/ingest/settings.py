"""Ingest settings: the one place that holds the built-in defaults.

The workflow config (``config/config.yaml``, checked by the lead's JSON
Schema) carries the same keys; its schema defaults must equal
:data:`DEFAULT_SETTINGS`. Functions in :mod:`trialanalysis.ingest` take the
config as a plain dict and call :func:`resolve_settings`, so a partial config
(or none at all, as in ``trialanalysis validate DATA_DIR``) works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trialanalysis.config import deep_merge, validate_config

TRIALS: tuple[str, ...] = ("betterback", "prepare")

#: Built-in defaults: those of the workflow config schema (its single source).
DEFAULT_SETTINGS: dict[str, Any] = validate_config({}, source="defaults")

CSV_CHOICES = {
    "encoding": ("auto", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"),
    "separator": ("auto", ",", ";", "\t"),
    "decimal": ("auto", ".", ","),
}
LAYOUT_CHOICES = ("auto", "long", "wide")


def resolve_settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill a (possibly partial) config with the defaults and check it.

    Parameters
    ----------
    config : mapping or None
        The workflow config as a plain dict; nested sections may be partial
        (e.g. only ``betterback.files.clinics``).

    Returns
    -------
    dict
        A new dict: defaults overlaid with ``config`` (dicts merged key by
        key, lists and scalars replaced), validated against the config
        schema.

    Raises
    ------
    ConfigError
        If a key is unknown or has the wrong form.
    """
    return validate_config(deep_merge(DEFAULT_SETTINGS, dict(config or {})), source="config")
