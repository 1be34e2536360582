"""Instrument definitions: YAML files in ``config/instruments/`` turned into objects.

A definition says which columns hold an instrument's items, the valid raw
responses, how items are recoded and reverse-keyed, and which scores and
classifications are derived. Everything a trial team may need to change
(reverse keys, subscales, missing-item rules, value sets) lives in the YAML,
so changing it needs no code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from trialanalysis.errors import ConfigError
from trialanalysis.instruments.checks import consistency_problems

SCORE_DEFAULTS: dict[str, Any] = {
    "method": "sum",
    "max_missing": 0,
    "transform": "none",
    "verified": True,
    "note": "",
}


@dataclass(frozen=True)
class ResponseScale:
    """Valid raw responses of an item."""

    min: float
    max: float
    integer: bool = True
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    """One score derived from items (a total, subscale or domain)."""

    name: str
    column: str
    label: str
    items: tuple[int, ...]
    method: str
    max_missing: int
    transform: str
    verified: bool
    note: str
    value_set: str | None = None
    #: What a higher score means ("worse", "more confident"); None when not stated.
    direction: str | None = None
    direction_verified: bool = True


@dataclass(frozen=True)
class Classification:
    """A categorical score derived from other scores (bands or ordered rules)."""

    name: str
    column: str
    label: str
    verified: bool
    note: str
    score: str | None = None
    breaks: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    rules: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Instrument:
    """A questionnaire or measure, as defined in its YAML file.

    Attributes
    ----------
    name : str
        Short name, the prefix of item and score columns.
    item_columns : dict of int to str
        Item number -> column name in the data.
    """

    name: str
    title: str
    reference: str
    item_columns: dict[int, str]
    item_labels: dict[int, str]
    response: ResponseScale
    item_response: dict[int, ResponseScale]
    recode: dict[int, dict[float, float]]
    reverse: tuple[int, ...]
    scores: dict[str, Score]
    classifications: dict[str, Classification]
    value_sets: dict[str, dict]
    source_file: str = ""
    unverified: tuple[dict[str, str], ...] = ()

    @property
    def items(self) -> tuple[int, ...]:
        """Item numbers in order."""
        return tuple(self.item_columns)

    def scale_of(self, item: int) -> ResponseScale:
        """Return the raw response scale of one item."""
        return self.item_response.get(item, self.response)

    def scored_range(self, item: int) -> tuple[float, float]:
        """Return the (min, max) of an item after recoding, before reverse keying."""
        scale = self.scale_of(item)
        if item in self.recode:
            values = self.recode[item].values()
            return min(values), max(values)
        return scale.min, scale.max

    @property
    def score_columns(self) -> list[str]:
        """Columns added by scoring, scores first, then classifications."""
        return [s.column for s in self.scores.values()] + [
            c.column for c in self.classifications.values()
        ]

    def unverified_settings(self) -> list[dict[str, str]]:
        """List the settings that public sources do not confirm, for the report.

        Returns
        -------
        list of dict
            One dict per setting with keys ``instrument``, ``setting`` (a score
            or classification column, or an instrument-level key such as
            ``response`` or ``reverse``), ``value`` (the value now in force,
            as text) and ``note`` (what a trial team should check).
        """
        rows = [
            {
                "instrument": self.name,
                "setting": entry["setting"],
                "value": describe_setting(self, entry["setting"]),
                "note": entry["note"],
            }
            for entry in self.unverified
        ]
        rows += [
            {
                "instrument": self.name,
                "setting": s.column,
                "value": _describe_score(self, s),
                "note": s.note,
            }
            for s in self.scores.values()
            if not s.verified
        ]
        rows += [
            {
                "instrument": self.name,
                "setting": c.column,
                "value": describe_classification(c),
                "note": c.note,
            }
            for c in self.classifications.values()
            if not c.verified
        ]
        return rows


def _number(value: float) -> str:
    return f"{value:g}"


def _describe_score(instrument: Instrument, score: Score) -> str:
    items = ", ".join(map(str, score.items))
    text = f"items {items}; {score.method}; at most {score.max_missing} missing"
    if score.transform != "none":
        text += f"; transform {score.transform}"
    if score.value_set:
        text += f"; value set {score.value_set}"
    return text


def describe_classification(classification: Classification) -> str:
    """Describe how a classification is derived (bands or ordered rules), for the report."""
    if classification.breaks:
        bounds = ", ".join(map(_number, classification.breaks))
        return f"{classification.score} cut at {bounds} (inclusive upper bounds)"
    parts = []
    for rule in classification.rules:
        conds = " and ".join(f"{c['score']} {c['op']} {_number(c['value'])}" for c in rule["when"])
        parts.append(f"{rule['label']} if {conds or 'otherwise'}")
    return "; ".join(parts)


def describe_setting(instrument: Instrument, setting: str) -> str:
    """Describe the value of an instrument-level setting, for the report.

    Parameters
    ----------
    instrument : Instrument
    setting : str
        One of ``response``, ``item_response``, ``recode``, ``reverse``,
        ``items``, ``value_sets``.

    Returns
    -------
    str
    """
    if setting == "response":
        r = instrument.response
        kind = "integers" if r.integer else "any number"
        return f"{_number(r.min)}-{_number(r.max)} ({kind})"
    if setting == "item_response":
        return (
            "; ".join(
                f"item {i}: {_number(r.min)}-{_number(r.max)}"
                for i, r in instrument.item_response.items()
            )
            or "none"
        )
    if setting == "recode":
        groups: dict[str, list[int]] = {}
        for item, mapping in instrument.recode.items():
            text = ", ".join(f"{_number(k)}->{_number(v)}" for k, v in mapping.items())
            groups.setdefault(text, []).append(item)
        return (
            "; ".join(
                f"items {', '.join(map(str, items))}: {text}" for text, items in groups.items()
            )
            or "none"
        )
    if setting == "reverse":
        return ", ".join(map(str, instrument.reverse)) or "none"
    if setting == "items":
        columns = list(instrument.item_columns.values())
        shown = ", ".join(columns) if len(columns) <= 5 else f"{columns[0]} ... {columns[-1]}"
        return f"{len(columns)} items ({shown})"
    if setting == "value_sets":
        defaults = {s.value_set for s in instrument.scores.values() if s.value_set}
        full = {k: v.get("full_health") for k, v in instrument.value_sets.items()}
        return f"default {', '.join(sorted(defaults))}; full health: " + ", ".join(
            f"{k} = {v}" for k, v in full.items()
        )
    raise ValueError(f"unknown setting {setting!r}")


@cache
def _schema() -> dict:
    text = resources.files("trialanalysis").joinpath("schemas/instrument.schema.yaml").read_text()
    return yaml.safe_load(text)


def instrument_from_dict(spec: dict, source: str = "<dict>") -> Instrument:
    """Build an :class:`Instrument` from a parsed YAML definition.

    Parameters
    ----------
    spec : dict
        The definition, in the form documented by ``instrument.schema.yaml``.
    source : str
        Where the definition came from, for error messages.

    Returns
    -------
    Instrument

    Raises
    ------
    ConfigError
        If the definition breaks the schema or is inconsistent (e.g. refers
        to items that do not exist, or a recode misses a response code); all
        problems are listed together.
    """
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [
            f"{source}: {'/'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
            for e in errors
        ]
        raise ConfigError("invalid instrument definition:\n" + "\n".join(lines))

    name = spec["instrument"]
    numbers = tuple(range(1, spec["items"]["count"] + 1))
    columns_override = {int(k): v for k, v in spec["items"].get("columns", {}).items()}
    recode: dict[int, dict[float, float]] = {}
    for key, mapping in spec.get("recode", {}).items():
        for item in numbers if key == "all" else (int(key),):
            recode[item] = {float(k): float(v) for k, v in mapping.items()}

    defaults = {**SCORE_DEFAULTS, **spec.get("defaults", {})}
    scores = {}
    for score_name, raw in spec["scores"].items():
        merged = {**defaults, **raw}
        scores[score_name] = Score(
            name=score_name,
            column=f"{name}_{score_name}",
            label=merged.get("label", score_name),
            items=numbers if merged.get("items", "all") == "all" else tuple(merged["items"]),
            method=merged["method"],
            max_missing=merged["max_missing"],
            transform=merged["transform"],
            verified=merged["verified"],
            note=merged["note"],
            value_set=merged.get("value_set"),
            direction=merged.get("direction"),
            direction_verified=merged.get("direction_verified", True),
        )
    classifications = {
        cname: Classification(
            name=cname,
            column=f"{name}_{cname}",
            label=raw.get("label", cname),
            verified=raw.get("verified", True),
            note=raw.get("note", ""),
            score=raw.get("score"),
            breaks=tuple(raw.get("breaks", ())),
            labels=tuple(raw.get("labels", ())),
            rules=tuple(raw.get("rules", ())),
        )
        for cname, raw in spec.get("classifications", {}).items()
    }
    instrument = Instrument(
        name=name,
        title=spec["title"],
        reference=spec["reference"],
        item_columns={i: columns_override.get(i, f"{name}_{i}") for i in numbers},
        item_labels={int(k): v for k, v in spec["items"].get("labels", {}).items()},
        response=ResponseScale(**spec["response"]),
        item_response={
            int(k): ResponseScale(**v) for k, v in spec.get("item_response", {}).items()
        },
        recode=recode,
        reverse=tuple(spec.get("reverse", [])),
        scores=scores,
        classifications=classifications,
        value_sets=spec.get("value_sets", {}),
        source_file=source,
        unverified=tuple(spec.get("unverified", [])),
    )
    problems = consistency_problems(instrument, columns_override)
    if problems:
        raise ConfigError(
            "invalid instrument definition:\n" + "\n".join(f"{source}: {p}" for p in problems)
        )
    return instrument


def load_instrument(path: str | Path) -> Instrument:
    """Load and validate one instrument definition file.

    Parameters
    ----------
    path : str or Path
        A YAML file in the form of ``instrument.schema.yaml``.

    Returns
    -------
    Instrument
    """
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    instrument = instrument_from_dict(spec, source=str(path))
    if path.stem != instrument.name:
        raise ConfigError(f"{path}: file name must be {instrument.name}.yaml")
    return instrument


def instruments_path(directory: str | Path | None = None) -> Path:
    """Return the folder of instrument definitions.

    Parameters
    ----------
    directory : str or Path, optional
        A folder; None or ``""`` means the definitions shipped with the
        package (``trialanalysis/data/instruments``, the same files as the
        repository's ``config/instruments``), so commands work from any
        folder.

    Returns
    -------
    Path
    """
    if directory:
        return Path(directory)
    return Path(str(resources.files("trialanalysis").joinpath("data/instruments")))


def load_instruments(directory: str | Path | None = None) -> dict[str, Instrument]:
    """Load every ``*.yaml`` instrument definition in a directory.

    Parameters
    ----------
    directory : str or Path, optional
        Usually ``config/instruments``; None or ``""``: the definitions
        shipped with the package (:func:`instruments_path`).

    Returns
    -------
    dict of str to Instrument
        Keyed by instrument name, sorted by name.
    """
    directory = instruments_path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ConfigError(f"{directory}: no instrument definitions (*.yaml) found")
    instruments = [load_instrument(f) for f in files]
    return {i.name: i for i in sorted(instruments, key=lambda i: i.name)}


def table_score_columns(
    instruments: Mapping[str, Instrument], trial_config: Mapping, table: str
) -> list[str]:
    """Return the score and classification columns that scoring adds to a trial table.

    Parameters
    ----------
    instruments : mapping of str to Instrument
        The instrument definitions.
    trial_config : mapping
        A trial's config (``betterback`` or ``prepare``), whose ``instruments``
        maps each table to the instruments scored in it.
    table : str
        The table, e.g. ``patient_outcomes``.

    Returns
    -------
    list of str
        In the order of the config's instruments; an instrument without a
        definition adds nothing (the config check reports it).
    """
    names = trial_config["instruments"].get(table, [])
    return [c for n in names if n in instruments for c in instruments[n].score_columns]
