"""Table 1 of PREPARE: baseline characteristics by arm and overall, with no significance tests.

A baseline table of :mod:`trialanalysis.analyses.common.baseline`: numbers
as mean (SD), or median (IQR) where configured, of those observed; categories
as n (% of those observed); a missing row per characteristic. Counts of fewer
than ``privacy.min_cell_size`` patients are suppressed when the table is
rendered (with a second count of the same characteristic and arm, so the
first cannot be recovered from the arm total); the tidy CSV keeps the numbers
for the analysis record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.analyses.common.baseline import Variable, baseline_table
from trialanalysis.analyses.prepare.data import PrepareData


def table1(
    data: PrepareData,
    variables: Sequence[str],
    baseline_scores: Sequence[str],
    labels: Mapping[str, str] | None = None,
    medians: Sequence[str] = (),
    orders: Mapping[str, Sequence[str]] | None = None,
    category_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Baseline characteristics by arm.

    Parameters
    ----------
    data : PrepareData
    variables : sequence of str
        Patient columns.
    baseline_scores : sequence of str
        Score columns, summarised at baseline.
    labels : mapping, optional
        Column -> readable label (e.g. instrument score labels).
    medians : sequence of str
        Numbers summarised as median (IQR).
    orders, category_labels : mapping, optional
        Column -> categories in clinical order; column -> {code: label}.

    Returns
    -------
    DataFrame
        See :func:`~trialanalysis.analyses.common.baseline.baseline_table`; the
        first row counts the randomised patients.
    """
    labels = dict(labels or {})
    baseline = data.long[data.long["timepoint"] == data.baseline]
    frame = data.patients.merge(
        baseline[["patient_id", *baseline_scores]], on="patient_id", how="left"
    )
    chosen = []
    for column in [*variables, *baseline_scores]:
        label = labels.get(column, column.replace("_", " ").capitalize())
        if column in baseline_scores:
            label = f"{label}, at {data.baseline}"
        chosen.append(
            Variable(
                column,
                label,
                tuple((orders or {}).get(column) or ()),
                column in medians,
                (category_labels or {}).get(column),
            )
        )
    groups = {arm: frame[frame["arm"] == arm] for arm in data.arms}
    return baseline_table(groups, frame, chosen, "Randomised patients")
