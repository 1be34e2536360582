"""Baseline characteristics of the BetterBack trial at clinic, therapist and patient level.

By condition and without significance tests (CONSORT 2010, item 15; the
cluster extension asks for both levels). Patients belong to the condition
they were enrolled in; clinics and therapists are counted in every condition
in which they enrolled or treated patients (in a dog-leg design a clinic
contributes to both). The patient and therapist tables are baseline tables
of :mod:`trialanalysis.analyses.common.baseline` (one column per condition
plus Overall, n (%) and mean (SD) with a missing row per characteristic);
the clinic table (cluster sizes) belongs to the design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.analyses.betterback.data import CONDITIONS, check_columns
from trialanalysis.analyses.common.baseline import Variable, baseline_table

STATISTICS = ("n", "mean", "sd")
DEFAULT_LABELS = {
    "age": "Age (years)",
    "sex": "Sex",
    "pain_duration": "Pain duration",
    "years_experience": "Years of experience",
}


def columns() -> list[str]:
    """Column names of the clinic table."""
    return ["level", "characteristic", "category"] + [
        f"{c}_{s}" for c in CONDITIONS for s in STATISTICS
    ]


def _variables(
    names: Sequence[str],
    labels: Mapping[str, str],
    orders: Mapping[str, Sequence[str]],
    medians: Sequence[str],
    category_labels: Mapping[str, Mapping[str, str]],
) -> list[Variable]:
    return [
        Variable(
            column,
            labels.get(column) or DEFAULT_LABELS.get(column, column),
            tuple(orders.get(column) or ()),
            column in medians,
            category_labels.get(column),
        )
        for column in names
    ]


def patient_table(
    design: pd.DataFrame,
    baseline_scores: pd.DataFrame,
    characteristics: Sequence[str],
    scores: Sequence[str],
    labels: Mapping[str, str],
    orders: Mapping[str, Sequence[str]],
    medians: Sequence[str] = (),
    category_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Patient characteristics and baseline scores by enrolment condition, and overall.

    Parameters
    ----------
    design : DataFrame
        Patients with ``condition`` (see
        :func:`~trialanalysis.analyses.betterback.data.patient_design`).
    baseline_scores : DataFrame
        Scores at the first patient time point.
    characteristics, scores : sequence of str
        Columns of the patients and of the scores.
    labels : mapping
        Column -> label; ``orders`` column -> categories in clinical order.
    medians : sequence of str
        Numbers summarised as median (IQR) instead of mean (SD).
    category_labels : mapping, optional
        Column -> {category code: label}.

    Returns
    -------
    DataFrame
        See :func:`~trialanalysis.analyses.common.baseline.baseline_table`.
    """
    check_columns(characteristics, design.columns, "table1.patient_characteristics", "patients")
    check_columns(
        scores, baseline_scores.columns, "table1.patient_baseline_scores", "patient scores"
    )
    frame = design.merge(baseline_scores[["patient_id", *scores]], on="patient_id", how="left")
    groups = {c: frame[frame["condition"] == c] for c in CONDITIONS}
    variables = _variables(
        [*characteristics, *scores], labels, orders, medians, category_labels or {}
    )
    return baseline_table(groups, frame, variables, "Patients")


def therapist_table(
    design: pd.DataFrame,
    therapists: pd.DataFrame,
    baseline_scores: pd.DataFrame,
    characteristics: Sequence[str],
    scores: Sequence[str],
    labels: Mapping[str, str],
    medians: Sequence[str] = (),
    category_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Therapists who treated patients in each condition (and overall), with baseline scores.

    A therapist who treated patients in both conditions is in both columns
    and once in Overall (so Overall is not the sum of the conditions).
    """
    check_columns(
        characteristics, therapists.columns, "table1.therapist_characteristics", "therapists"
    )
    check_columns(
        scores, baseline_scores.columns, "table1.therapist_baseline_scores", "therapist scores"
    )
    frame = therapists.merge(
        baseline_scores[["therapist_id", *scores]], on="therapist_id", how="left"
    )
    treating = frame[frame["therapist_id"].isin(design["therapist_id"].unique())]
    groups = {}
    for condition in CONDITIONS:
        mine = design.loc[design["condition"] == condition, "therapist_id"].unique()
        groups[condition] = frame[frame["therapist_id"].isin(mine)]
    variables = _variables([*characteristics, *scores], labels, {}, medians, category_labels or {})
    return baseline_table(groups, treating, variables, "Therapists treating patients")


def _count_row(level: str, label: str, counts: Mapping[str, int]) -> dict:
    row = {"level": level, "characteristic": label, "category": ""}
    row.update({f"{c}_n": int(n) for c, n in counts.items()})
    return row


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows).reindex(columns=columns())
    counts = [c for c in table.columns if c.endswith("_n")]
    table[counts] = table[counts].astype("Int64")
    return table


def clinic_table(design: pd.DataFrame) -> pd.DataFrame:
    """Clinics, allocation clusters and cluster sizes per condition."""
    rows = []
    counts, clusters, patients, therapists = {}, {}, {}, {}
    for condition in CONDITIONS:
        part = design[design["condition"] == condition]
        counts[condition] = part["clinic_id"].nunique()
        clusters[condition] = part["cluster_id"].nunique()
        patients[condition] = part.groupby("clinic_id").size()
        therapists[condition] = part.groupby("clinic_id")["therapist_id"].nunique()
    rows.append(_count_row("clinics", "Clinics enrolling patients", counts))
    rows.append(_count_row("clinics", "Allocation clusters", clusters))
    for label, values in (
        ("Patients per clinic", patients),
        ("Therapists treating per clinic", therapists),
    ):
        row = {"level": "clinics", "characteristic": label, "category": ""}
        for condition, series in values.items():
            row[f"{condition}_n"] = len(series)
            row[f"{condition}_mean"] = series.mean()
            row[f"{condition}_sd"] = series.std(ddof=1) if len(series) > 1 else float("nan")
        rows.append(row)
    return _table(rows)
