"""Baseline characteristics of completers and non-completers, by arm or condition.

A completer has the primary outcome observed at the primary time point.
Differences between completers and non-completers at baseline show on what
dropout depends (e.g. patients lost at follow-up with worse baseline
scores): under MAR, those variables must be in the model or the imputation
model. Numbers: mean (SD), categories: n (%); no tests. The standardised
difference (non-completers minus completers, pooled SD) is given for
numeric characteristics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

STATUS = ("completer", "non_completer")


def completers_table(
    frame: pd.DataFrame,
    group: str,
    groups: Sequence[str],
    completer: pd.Series,
    variables: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Summaries of ``variables`` by group and completion status.

    Parameters
    ----------
    frame : DataFrame
        One row per patient with ``group`` and the ``variables``.
    group : str
        Arm or condition column.
    groups : sequence of str
        Its values, in column order.
    completer : boolean Series
        Aligned with ``frame``.
    variables : sequence of str
        Baseline columns (numeric: mean and SD; other: levels).
    labels : mapping, optional
        Column -> label.

    Returns
    -------
    DataFrame
        ``variable, label, level, summary`` and per group and status
        ``<group>_<status>_n``, ``_percent``, ``_mean``, ``_sd``, and per
        group ``<group>_std_difference``; the first row counts patients.
    """
    labels = dict(labels or {})
    status = np.where(np.asarray(completer, dtype=bool), STATUS[0], STATUS[1])
    cells = {
        (g, s): frame[(frame[group].astype(str) == g).to_numpy() & (status == s)]
        for g in groups
        for s in STATUS
    }
    rows = [{"variable": "patients", "label": "Patients", "level": "", "summary": "n",
             **{f"{g}_{s}_n": len(part) for (g, s), part in cells.items()}}]  # fmt: skip
    for variable in variables:
        label = labels.get(variable, variable.replace("_", " "))
        values = frame[variable]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            row = {"variable": variable, "label": label, "level": "", "summary": "mean (SD)"}
            for (g, s), part in cells.items():
                observed = part[variable].dropna().astype(float)
                row[f"{g}_{s}_n"] = len(observed)
                row[f"{g}_{s}_mean"] = observed.mean() if len(observed) else np.nan
                row[f"{g}_{s}_sd"] = observed.std(ddof=1) if len(observed) > 1 else np.nan
            for g in groups:
                row[f"{g}_std_difference"] = _standardised(
                    cells[(g, STATUS[1])][variable], cells[(g, STATUS[0])][variable]
                )
            rows.append(row)
            continue
        for level in sorted(values.dropna().astype(str).unique()):
            row = {"variable": variable, "label": label, "level": level, "summary": "n (%)"}
            for (g, s), part in cells.items():
                observed = part[variable].dropna().astype(str)
                count = int((observed == level).sum())
                row[f"{g}_{s}_n"] = count
                row[f"{g}_{s}_percent"] = 100 * count / len(observed) if len(observed) else np.nan
            rows.append(row)
    columns = ["variable", "label", "level", "summary"]
    for g in groups:
        columns += [f"{g}_{s}_{k}" for s in STATUS for k in ("n", "percent", "mean", "sd")]
        columns.append(f"{g}_std_difference")
    return pd.DataFrame(rows).reindex(columns=columns)


def _standardised(a: pd.Series, b: pd.Series) -> float:
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    if len(a) < 2 or len(b) < 2:
        return np.nan
    pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else np.nan


def completer_suppression(groups: Sequence[str], min_cell_size: int) -> dict:
    """Small-cell suppression of the rendered table (counts and values derived from them)."""
    counts = [f"{g}_{s}_n" for g in groups for s in STATUS]
    return {
        "count_columns": counts,
        "min_cell_size": int(min_cell_size),
        "dependent_columns": {
            c: [c[:-2] + k for k in ("_percent", "_mean", "_sd")] for c in counts
        },
        "complementary_groups": ["variable"],
    }
