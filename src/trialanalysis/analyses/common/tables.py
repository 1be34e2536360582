"""Table settings shared by the trial analyses: column labels, rendering and suppression."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def column_labels(instruments: Mapping) -> dict[str, str]:
    """Column -> label for every score, classification and mapped item column."""
    labels = {}
    for instrument in instruments.values():
        for number, column in instrument.item_columns.items():
            if number in instrument.item_labels:
                labels[column] = instrument.item_labels[number]
        for score in instrument.scores.values():
            labels[score.column] = score.label
        for classification in instrument.classifications.values():
            labels[classification.column] = classification.label
    return labels


def table_settings(config: Mapping) -> dict:
    """Return the rendering settings of manuscript tables from the validated config."""
    tables = config["reporting"]["tables"]
    return {
        "rules": tables["rounding"],
        "formats": tables["formats"],
        "missing": tables["missing"],
    }


def count_suppression(
    config: Mapping,
    count_columns: Sequence[str],
    dependent_columns: Mapping | Sequence | None = None,
    complementary_groups: Sequence[str] | None = None,
) -> dict:
    """Suppression settings (``privacy.min_cell_size``) for tables that count individuals."""
    settings = config["reporting"]["tables"]["suppression"]
    suppression = {
        "count_columns": list(count_columns),
        "min_cell_size": int(config["privacy"]["min_cell_size"]),
        "dependent_columns": dependent_columns,
        "suppress_zero": bool(settings["suppress_zero"]),
        "marker": settings["marker"],
    }
    if complementary_groups:
        suppression["complementary_groups"] = list(complementary_groups)
    return suppression
