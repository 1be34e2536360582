"""Table settings shared by the trial analyses: column labels, rendering and suppression."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trialanalysis.reporting.labels import score_label


def column_labels(instruments: Mapping) -> dict[str, str]:
    """Column -> label for every score (with its direction), classification and mapped item."""
    labels = {}
    for instrument in instruments.values():
        for number, column in instrument.item_columns.items():
            if number in instrument.item_labels:
                labels[column] = instrument.item_labels[number]
        for score in instrument.scores.values():
            labels[score.column] = score_label(score)
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
    **declared,
) -> dict:
    """Return a table's declaration of its counts of individuals (the rule is the config's).

    See :class:`~trialanalysis.reporting.suppression.CountDeclaration`; the
    threshold is ``privacy.min_cell_size`` for every table, never set here.
    """
    declaration = {"count_columns": list(count_columns), **declared}
    if dependent_columns:
        declaration["dependent_columns"] = dependent_columns
    if complementary_groups:
        declaration["complementary_groups"] = list(complementary_groups)
    return declaration
