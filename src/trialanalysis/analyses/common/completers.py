"""Baseline characteristics of completers and non-completers, by arm or condition.

A completer has the primary outcome observed at the primary time point.
Differences between completers and non-completers at baseline show on what
dropout depends (e.g. patients lost at follow-up with worse baseline
scores): under MAR, those variables must be in the model or the imputation
model. The cells are those of the baseline tables
(:mod:`trialanalysis.analyses.common.baseline`: mean (SD), n (%), a missing
row; no tests), one column per arm and status; the standardised difference
(non-completers minus completers, pooled SD) is given for numeric
characteristics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialanalysis.analyses.common.baseline import OVERALL, Variable, baseline_table, display

STATUS = ("completer", "non_completer")
STATUS_LABELS = {"completer": "completers", "non_completer": "non-completers"}


def completer_groups(groups: Sequence[str]) -> list[str]:
    """Column groups of the table: ``<group>_completer``, ``<group>_non_completer`` per group."""
    return [f"{g}_{s}" for g in groups for s in STATUS]


def completer_variables(
    columns: Sequence[str],
    labels: Mapping[str, str] | None = None,
    category_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Variable]:
    """Characteristics of a completers table, labelled, categories in their configured order.

    Parameters
    ----------
    columns : sequence of str
        Baseline columns.
    labels : mapping, optional
        Column -> label (default: the column with spaces, capitalised).
    category_labels : mapping, optional
        Column -> {category code: label}, in clinical order.
    """
    labels, category_labels = dict(labels or {}), dict(category_labels or {})
    return [
        Variable(
            column,
            labels.get(column) or column.replace("_", " ").capitalize(),
            tuple(category_labels.get(column) or ()),
            False,
            category_labels.get(column),
        )
        for column in dict.fromkeys(columns)
    ]


def completers_table(
    frame: pd.DataFrame,
    group: str,
    groups: Sequence[str],
    completer: pd.Series,
    variables: Sequence[Variable],
) -> pd.DataFrame:
    """Summaries of ``variables`` by group and completion status.

    Parameters
    ----------
    frame : DataFrame
        One row per patient with ``group`` and the variables' columns.
    group : str
        Arm or condition column.
    groups : sequence of str
        Its values, in column order.
    completer : boolean Series
        Aligned with ``frame``.
    variables : sequence of Variable
        From :func:`completer_variables`.

    Returns
    -------
    DataFrame
        The columns of :func:`~trialanalysis.analyses.common.baseline.baseline_table`
        for the groups :func:`completer_groups` (first row ``variable`` ``n``:
        the patients), and ``<group>_std_difference`` per group on the rows
        of numeric characteristics.
    """
    status = np.where(np.asarray(completer, dtype=bool), STATUS[0], STATUS[1])
    in_group = {g: (frame[group].astype(str) == g).to_numpy() for g in groups}
    parts = {f"{g}_{s}": frame[in_group[g] & (status == s)] for g in groups for s in STATUS}
    table = baseline_table(parts, frame, variables, "Patients")
    numeric = table["row_label"].str.endswith(("mean (SD)", "median (IQR)"))
    for g in groups:
        table[f"{g}_std_difference"] = [
            _standardised(parts[f"{g}_{STATUS[1]}"][v], parts[f"{g}_{STATUS[0]}"][v])
            if is_number
            else np.nan
            for v, is_number in zip(table["variable"], numeric, strict=True)
        ]
    return table


def completers_display(groups: Sequence[str], group_labels: Mapping[str, str]) -> dict:
    """How a completers table is rendered: ``columns``, ``combine``, ``labels``, ``suppression``.

    One cell per group and status (mean (SD) or n (%), as the baseline
    tables), then the group's standardised difference, blanked with a mean
    of too few patients; no Overall column.

    Parameters
    ----------
    groups : sequence of str
        The arms or conditions.
    group_labels : mapping
        Group -> label (``control`` -> ``Control``).
    """
    names = completer_groups(groups)
    headers = {
        f"{g}_{s}": f"{group_labels.get(g, g)}, {STATUS_LABELS[s]}" for g in groups for s in STATUS
    }
    shown = display(names, headers, additive=False)
    shown["combine"].pop(f"{OVERALL}_shown")
    dependent = shown["suppression"]["dependent_columns"]
    columns = ["row_label", "category_label"]
    for g in groups:
        for s in STATUS:  # the difference would give a hidden mean away
            dependent[f"{g}_{s}_observed"].append(f"{g}_std_difference")
        columns += [f"{g}_{s}_shown" for s in STATUS] + [f"{g}_std_difference"]
        shown["labels"][f"{g}_std_difference"] = f"{group_labels.get(g, g)}, std. difference"
    return {**shown, "columns": columns}


def _standardised(a: pd.Series, b: pd.Series) -> float:
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    if len(a) < 2 or len(b) < 2:
        return np.nan
    pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else np.nan
