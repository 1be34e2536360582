"""Instrument definitions: YAML files in ``config/instruments/`` turned into objects.

A definition says which columns hold an instrument's items, the valid raw
responses, how items are recoded and reverse-keyed, and which scores and
classifications are derived. Everything a trial team may need to change
(reverse keys, subscales, missing-item rules, value sets) lives in the YAML,
so changing it needs no code change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from trialanalysis.errors import ConfigError

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
        """List the settings that public sources do not confirm, for the report."""
        rows = [
            {"instrument": self.name, "setting": s.column, "note": s.note}
            for s in self.scores.values()
            if not s.verified
        ]
        rows += [
            {"instrument": self.name, "setting": c.column, "note": c.note}
            for c in self.classifications.values()
            if not c.verified
        ]
        return rows


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
        If the definition breaks the schema or refers to items that do not
        exist.
    """
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"{source}: {'/'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
            for e in errors
        ]
        raise ConfigError("invalid instrument definition:\n" + "\n".join(lines))

    name = spec["instrument"]
    count = spec["items"]["count"]
    numbers = tuple(range(1, count + 1))
    columns_override = {int(k): v for k, v in spec["items"].get("columns", {}).items()}
    item_columns = {i: columns_override.get(i, f"{name}_{i}") for i in numbers}
    problems: list[str] = []

    def check_items(where: str, items) -> None:
        bad = sorted(set(items) - set(numbers))
        if bad:
            problems.append(f"{where} refers to item(s) {bad}, but there are {count} items")

    check_items("items.columns", columns_override)
    item_response = {int(k): ResponseScale(**v) for k, v in spec.get("item_response", {}).items()}
    check_items("item_response", item_response)
    recode: dict[int, dict[float, float]] = {}
    for key, mapping in spec.get("recode", {}).items():
        targets = numbers if key == "all" else (int(key),)
        check_items("recode", targets)
        for item in targets:
            recode[item] = {float(k): float(v) for k, v in mapping.items()}
    reverse = tuple(spec.get("reverse", []))
    check_items("reverse", reverse)

    defaults = {**SCORE_DEFAULTS, **spec.get("defaults", {})}
    scores = {}
    for score_name, raw in spec["scores"].items():
        merged = {**defaults, **raw}
        items = numbers if merged.get("items", "all") == "all" else tuple(merged["items"])
        check_items(f"scores.{score_name}", items)
        if merged["method"] == "value_set":
            value_set = merged.get("value_set")
            if value_set not in spec.get("value_sets", {}):
                problems.append(f"scores.{score_name}: value set {value_set!r} is not defined")
        scores[score_name] = Score(
            name=score_name,
            column=f"{name}_{score_name}",
            label=merged.get("label", score_name),
            items=items,
            method=merged["method"],
            max_missing=merged["max_missing"],
            transform=merged["transform"],
            verified=merged["verified"],
            note=merged["note"],
            value_set=merged.get("value_set"),
        )

    classifications = {}
    for cname, raw in spec.get("classifications", {}).items():
        referenced = [raw["score"]] if "score" in raw else []
        referenced += [c["score"] for rule in raw.get("rules", []) for c in rule["when"]]
        for ref in referenced:
            if ref not in scores:
                problems.append(f"classifications.{cname} refers to unknown score {ref!r}")
        if "breaks" in raw and len(raw.get("labels", [])) != len(raw["breaks"]) + 1:
            problems.append(f"classifications.{cname}: needs one more label than breaks")
        if ("breaks" in raw) == ("rules" in raw):
            problems.append(f"classifications.{cname}: give either breaks or rules")
        classifications[cname] = Classification(
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
    if problems:
        raise ConfigError(
            "invalid instrument definition:\n" + "\n".join(f"{source}: {p}" for p in problems)
        )

    return Instrument(
        name=name,
        title=spec["title"],
        reference=spec["reference"],
        item_columns=item_columns,
        item_labels={int(k): v for k, v in spec["items"].get("labels", {}).items()},
        response=ResponseScale(**spec["response"]),
        item_response=item_response,
        recode=recode,
        reverse=reverse,
        scores=scores,
        classifications=classifications,
        value_sets=spec.get("value_sets", {}),
        source_file=source,
    )


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


def load_instruments(directory: str | Path) -> dict[str, Instrument]:
    """Load every ``*.yaml`` instrument definition in a directory.

    Parameters
    ----------
    directory : str or Path
        Usually ``config/instruments``.

    Returns
    -------
    dict of str to Instrument
        Keyed by instrument name, sorted by name.
    """
    directory = Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ConfigError(f"{directory}: no instrument definitions (*.yaml) found")
    instruments = [load_instrument(f) for f in files]
    return {i.name: i for i in sorted(instruments, key=lambda i: i.name)}
