"""Consistency checks of instrument definitions beyond the JSON Schema.

The schema checks the form of a definition; these checks catch what the form
cannot: references to items or scores that do not exist, recodes that miss a
response code, value sets without decrements, bands that are not increasing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trialanalysis.instruments.definitions import (
        Classification,
        Instrument,
        ResponseScale,
        Score,
    )


def consistency_problems(instrument: Instrument, columns_override: dict) -> list[str]:
    """Return what is inconsistent in a definition, as messages.

    Parameters
    ----------
    instrument : Instrument
        Built from a definition that passed the JSON Schema.
    columns_override : dict
        The ``items.columns`` mapping as written.

    Returns
    -------
    list of str
        Empty when the definition is consistent.
    """
    numbers = set(instrument.item_columns)
    problems: list[str] = []

    def check_items(where: str, items) -> bool:
        bad = sorted(set(items) - numbers)
        if bad:
            problems.append(f"{where} refers to item(s) {bad}, but there are {len(numbers)} items")
        return not bad

    check_items("items.columns", columns_override)
    if len(set(instrument.item_columns.values())) != len(numbers):
        problems.append("items.columns: two items map to the same column")
    check_items("item_response", instrument.item_response)
    check_items("reverse", instrument.reverse)
    for where, scale in [("response", instrument.response)] + [
        (f"item_response.{i}", r) for i, r in instrument.item_response.items()
    ]:
        if scale.min >= scale.max:
            problems.append(f"{where}: min must be below max")
    if check_items("recode", instrument.recode):
        for item, mapping in instrument.recode.items():
            problems += _recode_problems(item, instrument.scale_of(item), mapping)
    for score in instrument.scores.values():
        where = f"scores.{score.name}"
        if not check_items(where, score.items):
            continue
        if score.method == "value_set":
            problems += _value_set_problems(instrument, score)
        elif score.transform == "percent":
            ranges = {instrument.scored_range(i) for i in score.items}
            if len(ranges) > 1:
                problems.append(
                    f"{where}: transform percent needs items with one common scored range, "
                    f"found {sorted(ranges)}"
                )
    for cname, classification in instrument.classifications.items():
        problems += _classification_problems(instrument, cname, classification)
    return problems


def _recode_problems(item: int, scale: ResponseScale, mapping: dict) -> list[str]:
    if not scale.integer:
        return [f"recode.{item}: only items with integer responses can be recoded"]
    codes = {float(c) for c in range(int(scale.min), int(scale.max) + 1)}
    missing = sorted(codes - set(mapping))
    extra = sorted(set(mapping) - codes)
    problems = []
    if missing:
        problems.append(f"recode.{item}: no scored value for response code(s) {missing}")
    if extra:
        problems.append(
            f"recode.{item}: code(s) {extra} are outside the response scale "
            f"{scale.min:g}-{scale.max:g}"
        )
    return problems


def _value_set_problems(instrument: Instrument, score: Score) -> list[str]:
    where = f"scores.{score.name}"
    problems = []
    if score.value_set not in instrument.value_sets:
        problems.append(f"{where}: value set {score.value_set!r} is not defined in value_sets")
    if score.max_missing != 0:
        problems.append(f"{where}: a value-set index needs every item (max_missing: 0)")
    if score.transform != "none":
        problems.append(f"{where}: a value-set index cannot be transformed")
    for item in score.items:
        scale = instrument.scale_of(item)
        low, high = instrument.scored_range(item)
        if not scale.integer or (low, high) != (1, 3) or item in instrument.reverse:
            problems.append(
                f"{where}: item {item} must have integer levels 1-3 (not reversed) for a value set"
            )
    for set_name, value_set in instrument.value_sets.items():
        lacking = sorted(set(score.items) - {int(k) for k in value_set["decrements"]})
        if lacking:
            problems.append(f"value_sets.{set_name}: no decrements for item(s) {lacking}")
    return problems


def _classification_problems(
    instrument: Instrument, cname: str, classification: Classification
) -> list[str]:
    where = f"classifications.{cname}"
    problems = []
    referenced = [classification.score] if classification.score else []
    referenced += [c["score"] for rule in classification.rules for c in rule["when"]]
    for ref in referenced:
        if ref not in instrument.scores:
            problems.append(f"{where} refers to unknown score {ref!r}")
    if bool(classification.breaks) == bool(classification.rules):
        problems.append(f"{where}: give either breaks (with score) or rules")
    if classification.breaks:
        if classification.score is None:
            problems.append(f"{where}: breaks need the score they cut")
        if len(classification.labels) != len(classification.breaks) + 1:
            problems.append(f"{where}: needs one more label than breaks")
        if list(classification.breaks) != sorted(set(classification.breaks)):
            problems.append(f"{where}: breaks must be strictly increasing")
        if len(set(classification.labels)) != len(classification.labels):
            problems.append(f"{where}: labels must be unique")
    if classification.rules and classification.labels:
        rule_labels = {rule["label"] for rule in classification.rules}
        if rule_labels != set(classification.labels) or len(classification.labels) != len(
            set(classification.labels)
        ):
            problems.append(f"{where}: labels must list each rule label once")
    return problems
