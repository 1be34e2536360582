"""Baseline tables of both trials: one column per arm or condition plus Overall.

Each characteristic gives its summary rows and a ``Missing`` row: a number
is summarised as mean (SD), or median (IQR) where configured, of those with
a value; a category as n (% of those with a value). The tidy table keeps the
numbers apart (``<group>_n``, ``_percent``, ``_observed``, ``_mean``, ``_sd``,
``_median``, ``_q1``, ``_q3``), so small-cell suppression
(:func:`trialanalysis.reporting.suppression.suppress_counts`, applied when the
table is rendered) hides a small count with the values derived from it; the
rendered table combines them into one cell per group (:func:`display`).

Suppression declared here: the categories and the missing row of one
characteristic are parts of the group's total (complementary suppression);
the Overall count is the sum of the groups' where the groups do not overlap
(patients), so a small count cannot be recovered from it either. The number
observed behind a mean (``_observed``) is a count too (a mean of fewer than
``privacy.min_cell_size`` individuals is blanked), but it is not shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

OVERALL = "overall"
STATISTICS = ("n", "percent", "observed", "mean", "sd", "median", "q1", "q3")
MISSING = "Missing"
#: Columns and variables that happen after randomisation, never baseline characteristics.
POST_RANDOMISATION = ("sessions_attended", "surgery_date", "therapy_sessions")


@dataclass(frozen=True)
class Variable:
    """One baseline characteristic.

    Attributes
    ----------
    column : str
        Column of the frame.
    label : str
        Shown in the table.
    order : tuple of str
        Categories in clinical order (others follow, sorted).
    median : bool
        Summarise a number as median (IQR) instead of mean (SD).
    category_labels : mapping
        Category code -> label (default: the code with spaces for underscores).
    """

    column: str
    label: str
    order: tuple[str, ...] = ()
    median: bool = False
    category_labels: Mapping[str, str] | None = None


def table_columns(groups: Sequence[str]) -> list[str]:
    """Columns of a baseline table for these groups (Overall last)."""
    names = [*groups, OVERALL]
    head = ["variable", "characteristic", "category", "row_label", "category_label"]
    return head + [f"{g}_{s}" for g in names for s in STATISTICS]


def baseline_table(
    groups: Mapping[str, pd.DataFrame],
    overall: pd.DataFrame,
    variables: Sequence[Variable],
    count_label: str,
) -> pd.DataFrame:
    """Summarise each variable in each group and overall.

    Parameters
    ----------
    groups : mapping of str to DataFrame
        Rows of each arm or condition (they may overlap, e.g. therapists who
        treated patients in both conditions).
    overall : DataFrame
        Every row once.
    variables : sequence of Variable
    count_label : str
        Label of the first row, the number in each group (e.g. ``"Patients"``).

    Returns
    -------
    DataFrame
        Columns :func:`table_columns`; counts as nullable integers.
    """
    frames = {**groups, OVERALL: overall}
    rows = [
        {
            "variable": "n",
            "characteristic": count_label,
            "category": "",
            "row_label": f"{count_label}, n",
            "category_label": "",
            **{f"{g}_n": len(f) for g, f in frames.items()},
        }
    ]
    for variable in variables:
        rows += _describe(frames, variable)
    table = pd.DataFrame(rows).reindex(columns=table_columns(list(groups)))
    counts = [c for c in table.columns if c.endswith(("_n", "_observed"))]
    table[counts] = table[counts].astype("Int64")
    return table


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _describe(frames: Mapping[str, pd.DataFrame], variable: Variable) -> list[dict]:
    column = variable.column
    base = {"variable": column, "characteristic": variable.label}
    missing = {
        **base,
        "category": "missing",
        "row_label": "",
        "category_label": MISSING,
        **{f"{g}_n": int(f[column].isna().sum()) for g, f in frames.items()},
    }
    overall = frames[OVERALL][column]
    if _is_number(overall):
        kind = "median (IQR)" if variable.median else "mean (SD)"
        row = {**base, "category": "", "row_label": f"{variable.label}, {kind}"}
        row["category_label"] = ""
        for group, frame in frames.items():
            values = frame[column].dropna().astype(float)
            row[f"{group}_observed"] = len(values)
            if not len(values):
                continue
            if variable.median:
                q1, median, q3 = np.percentile(values, [25, 50, 75])
                row |= {f"{group}_median": median, f"{group}_q1": q1, f"{group}_q3": q3}
            else:
                row[f"{group}_mean"] = values.mean()
                if len(values) > 1:
                    row[f"{group}_sd"] = values.std(ddof=1)
        return [row, missing]
    observed = overall.dropna().astype(str).unique()
    categories = [c for c in variable.order if c in observed]
    categories += sorted(c for c in observed if c not in categories)
    labels = dict(variable.category_labels or {})
    rows = []
    for category in categories:
        row = {
            **base,
            "category": category,
            "row_label": "" if rows else f"{variable.label}, n (%)",
            "category_label": labels.get(category, category.replace("_", " ")),
        }
        for group, frame in frames.items():
            values = frame[column].dropna().astype(str)
            count = int((values == category).sum())
            row[f"{group}_n"] = count
            row[f"{group}_percent"] = 100.0 * count / len(values) if len(values) else np.nan
        rows.append(row)
    return [*rows, missing]


def display(
    groups: Sequence[str],
    group_labels: Mapping[str, str] | None = None,
    additive: bool = True,
) -> dict:
    """How a baseline table is rendered: a report table block without its path and caption.

    Parameters
    ----------
    groups : sequence of str
        The arms or conditions (Overall is added).
    group_labels : mapping, optional
        Group -> column header (default: the code with spaces, capitalised).
    additive : bool
        The groups do not overlap, so Overall is their sum (declared to the
        suppression, which then also protects small counts from it).

    Returns
    -------
    dict
        ``columns``, ``combine``, ``labels`` and ``suppression`` of the block.
    """
    names = [*groups, OVERALL]
    headers = {OVERALL: "Overall", **(group_labels or {})}
    combine = {
        f"{g}_shown": [
            f"{{{g}_mean}} ({{{g}_sd}})",
            f"{{{g}_mean}}",
            f"{{{g}_median}} ({{{g}_q1}} to {{{g}_q3}})",
            f"{{{g}_n}} ({{{g}_percent}}%)",
            f"{{{g}_n}}",
            f"{{{g}_observed}}",
        ]
        for g in names
    }
    labels = {"row_label": "Characteristic", "category_label": ""}
    labels |= {f"{g}_shown": headers.get(g, g.replace("_", " ").capitalize()) for g in names}
    suppression = {
        "count_columns": [f"{g}_{s}" for g in names for s in ("n", "observed")],
        "dependent_columns": {
            **{f"{g}_n": [f"{g}_percent"] for g in names},
            **{f"{g}_observed": [f"{g}_{s}" for s in STATISTICS[3:]] for g in names},
        },
        "complementary_groups": ["variable"],
    }
    if additive:
        suppression["row_totals"] = [
            {"total": f"{OVERALL}_{s}", "parts": [f"{g}_{s}" for g in groups]}
            for s in ("n", "observed")
        ]
    return {
        "columns": ["row_label", "category_label", *combine],
        "combine": combine,
        "labels": labels,
        "suppression": suppression,
    }


def baseline_note(extra: str = "") -> str:
    """Return the text above a trial's baseline tables (what the cells show)."""
    text = (
        "Numbers are mean (SD), or median (IQR) where configured, of those with a value; "
        "categories n (% of those with a value); the Missing row counts those without one. "
        "No significance tests (CONSORT item 15)."
    )
    return f"{text} {extra}".strip()


def check_baseline(variables: Sequence[str], key: str) -> list[str]:
    """Problems with variables that are not baseline characteristics (post-randomisation)."""
    late = [v for v in variables if v in POST_RANDOMISATION]
    if not late:
        return []
    return [
        f"{key}: {late} happen after randomisation and are not baseline characteristics; "
        "report them with the outcomes (e.g. adherence) instead"
    ]
