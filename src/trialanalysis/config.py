"""The workflow configuration: loading, defaults and validation.

The JSON Schema in ``schemas/config.schema.yaml`` is the single source of the
configuration keys, their descriptions and their defaults. The Snakefile
validates with the same schema (through ``snakemake.utils.validate``); the
command line uses :func:`load_config`.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from trialanalysis.errors import ConfigError

CONFIG_SCHEMA = "config.schema.yaml"


@cache
def load_schema(name: str) -> dict:
    """Return one of the package's JSON Schemas (``schemas/<name>``)."""
    text = resources.files("trialanalysis").joinpath(f"schemas/{name}").read_text("utf-8")
    return yaml.safe_load(text)


def schema_path(name: str = CONFIG_SCHEMA) -> Path:
    """Return the file path of a package schema (for ``snakemake.utils.validate``)."""
    return Path(str(resources.files("trialanalysis").joinpath(f"schemas/{name}")))


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """Return ``base`` overlaid with ``override`` (dicts merged key by key, others replaced)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _with_defaults(validator_class):
    """Extend a validator so that it fills in ``default`` values while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _describe(error: jsonschema.ValidationError, schema: dict) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(
                f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        return f"{where}: " + "; ".join(hints) + f"; allowed keys: {', '.join(allowed)}"
    return f"{where}: {error.message}"


def validate_with_schema(config: Mapping, schema_name: str, source: str, what: str) -> dict:
    """Validate a YAML document against a package schema and fill in defaults.

    Parameters
    ----------
    config : mapping
        The parsed document (may be partial; defaults are filled in).
    schema_name : str
        File name of the schema in ``schemas/``.
    source : str
        Name of the document's origin, for error messages.
    what : str
        What the document is (``"configuration"``, ``"power spec"``), for messages.

    Returns
    -------
    dict
        A validated deep copy with every default filled in.

    Raises
    ------
    ConfigError
        Listing every problem, each with its key path; unknown keys are
        reported with the closest allowed key.
    """
    schema = load_schema(schema_name)
    instance = copy.deepcopy(dict(config))
    errors = sorted(_Validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n".join(f"{source}: {_describe(e, schema)}" for e in errors)
        raise ConfigError(f"invalid {what}:\n{lines}")
    return instance


def validate_config(config: Mapping, source: str = "config") -> dict:
    """Validate a workflow configuration and fill in defaults.

    :func:`validate_with_schema` with the workflow schema (``config.schema.yaml``);
    ``source`` names the configuration's origin in messages. Raises
    :class:`ConfigError` listing every problem.
    """
    return validate_with_schema(config, CONFIG_SCHEMA, source, "configuration")


def read_yaml(path: str | Path, what: str) -> dict:
    """Read a YAML mapping from a file; a missing file or bad YAML is a ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: {what} not found")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: {what} must be a YAML mapping of keys to values")
    return content


def load_config(path: str | Path = "config/config.yaml", overrides: Mapping | None = None) -> dict:
    """Read, merge overrides into, and validate a configuration file.

    Parameters
    ----------
    path : str or Path
        YAML configuration file.
    overrides : mapping, optional
        Top-level keys that replace those of the file (as ``--config`` does).

    Returns
    -------
    dict
        The validated configuration with defaults filled in.
    """
    path = Path(path)
    config = read_yaml(path, "configuration file")
    config.update(overrides or {})
    return validate_config(config, source=str(path))
