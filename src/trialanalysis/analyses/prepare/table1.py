"""Table 1 of PREPARE: baseline characteristics by arm, with no significance tests.

Numeric columns are summarised as mean (SD) with the number observed; text
columns as n (%) per level (percent of those observed; a ``(missing)`` row
when values are missing). Counts of fewer than ``privacy.min_cell_size``
patients are suppressed when the table is rendered (with a second count of
the same variable and arm, so the first cannot be recovered from the arm
total); the tidy CSV keeps the numbers for the analysis record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialanalysis.analyses.prepare.data import PrepareData

STATISTICS = ("n", "percent", "mean", "sd")


def table1(
    data: PrepareData,
    variables: Sequence[str],
    baseline_scores: Sequence[str],
    labels: Mapping[str, str] | None = None,
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

    Returns
    -------
    DataFrame
        ``variable, label, level, summary`` and per arm ``<arm>_n``,
        ``<arm>_percent``, ``<arm>_mean``, ``<arm>_sd``; the first row counts
        the randomised patients.
    """
    labels = dict(labels or {})
    patients = data.patients
    baseline = data.long[data.long["timepoint"] == data.baseline].set_index("patient_id")
    rows = [_count_row(patients, data.arms)]
    sources = [(v, patients.set_index("patient_id")[v], "patients") for v in variables]
    sources += [
        (s, baseline[s].reindex(patients["patient_id"]), f"at {data.baseline}")
        for s in baseline_scores
    ]
    arms = patients.set_index("patient_id")["arm"]
    for variable, values, where in sources:
        label = labels.get(variable, variable.replace("_", " ").capitalize())
        if where != "patients":
            label = f"{label}, {where}"
        by_arm = {arm: values[arms.reindex(values.index) == arm] for arm in data.arms}
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            rows.append(_numeric_row(variable, label, by_arm))
        else:
            rows += _level_rows(variable, label, by_arm, values)
    columns = ["variable", "label", "level", "summary"]
    columns += [f"{arm}_{s}" for arm in data.arms for s in STATISTICS]
    return pd.DataFrame(rows).reindex(columns=columns)


def _count_row(patients: pd.DataFrame, arms: Sequence[str]) -> dict:
    row = {"variable": "patients", "label": "Randomised patients", "level": "", "summary": "n"}
    for arm in arms:
        row[f"{arm}_n"] = int((patients["arm"] == arm).sum())
    return row


def _numeric_row(variable: str, label: str, by_arm: Mapping[str, pd.Series]) -> dict:
    row = {"variable": variable, "label": label, "level": "", "summary": "mean (SD)"}
    for arm, values in by_arm.items():
        observed = values.dropna().astype(float)
        row[f"{arm}_n"] = len(observed)
        row[f"{arm}_mean"] = float(observed.mean()) if len(observed) else np.nan
        row[f"{arm}_sd"] = float(observed.std(ddof=1)) if len(observed) > 1 else np.nan
    return row


def _level_rows(variable, label, by_arm, values) -> list[dict]:
    levels = sorted(values.dropna().astype(str).unique())
    has_missing = values.isna().any()
    rows = []
    for level in [*levels, *(["(missing)"] if has_missing else [])]:
        row = {"variable": variable, "label": label, "level": level, "summary": "n (%)"}
        for arm, mine in by_arm.items():
            observed = mine.dropna().astype(str)
            if level == "(missing)":
                row[f"{arm}_n"] = int(mine.isna().sum())
            else:
                count = int((observed == level).sum())
                row[f"{arm}_n"] = count
                row[f"{arm}_percent"] = 100 * count / len(observed) if len(observed) else np.nan
        rows.append(row)
    return rows


def table1_suppression(arms: Sequence[str], min_cell_size: int, marker=None) -> dict:
    """Return the small-cell suppression settings for rendering Table 1.

    See :func:`~trialanalysis.reporting.tables.suppress_small_cells`.
    """
    settings = {
        "count_columns": [f"{arm}_n" for arm in arms],
        "min_cell_size": int(min_cell_size),
        "dependent_columns": {f"{arm}_n": [f"{arm}_{s}" for s in STATISTICS[1:]] for arm in arms},
        "complementary_groups": ["variable"],
    }
    if marker is not None:
        settings["marker"] = marker
    return settings


def table1_labels(arms: Sequence[str]) -> dict:
    """Column headers of the rendered Table 1."""
    headers = {"n": "n", "percent": "%", "mean": "mean", "sd": "SD"}
    out = {"label": "Characteristic", "level": "", "summary": "Summary"}
    for arm in arms:
        name = arm.replace("_", " ")
        out |= {f"{arm}_{s}": f"{name}: {h}" for s, h in headers.items()}
    return out
