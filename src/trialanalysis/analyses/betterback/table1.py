"""Baseline characteristics of the BetterBack trial at clinic, therapist and patient level.

By condition and without significance tests (CONSORT 2010, item 15; the
cluster extension asks for both levels). Patients belong to the condition
they were enrolled in; clinics and therapists are counted in every condition
in which they enrolled or treated patients (in a dog-leg design a clinic
contributes to both). Numbers give mean and SD, text gives n and % of those
with a value; ``<condition>_missing`` counts those without one (shown on the
first row of a characteristic).

Tables are wide with ``<condition>_n``, ``_percent``, ``_mean``, ``_sd`` and
``_missing`` columns, so small-cell suppression blanks a small count together
with the values derived from it. Missing counts are not suppressed: they
describe the data, not a characteristic of the people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.analyses.betterback.data import CONDITIONS, check_columns

STATISTICS = ("n", "percent", "mean", "sd", "missing")
DEFAULT_LABELS = {
    "age": "Age (years)",
    "sex": "Sex",
    "pain_duration": "Pain duration",
    "years_experience": "Years of experience",
}


def columns() -> list[str]:
    """Column names of a baseline table."""
    return ["level", "characteristic", "category"] + [
        f"{c}_{s}" for c in CONDITIONS for s in STATISTICS
    ]


def dependents() -> dict[str, list[str]]:
    """Values derived from each count column (blanked when the count is suppressed)."""
    return {f"{c}_n": [f"{c}_{s}" for s in STATISTICS[1:4]] for c in CONDITIONS}


def _describe(
    groups: Mapping[str, pd.DataFrame],
    column: str,
    level: str,
    label: str,
    order: Sequence[str] | None,
) -> list[dict]:
    first = next(iter(groups.values()))[column]
    rows = []
    if pd.api.types.is_numeric_dtype(first) and not pd.api.types.is_bool_dtype(first):
        row = {"level": level, "characteristic": label, "category": ""}
        for condition, frame in groups.items():
            values = frame[column].dropna().astype(float)
            row[f"{condition}_n"] = len(values)
            row[f"{condition}_mean"] = values.mean() if len(values) else float("nan")
            row[f"{condition}_sd"] = values.std(ddof=1) if len(values) > 1 else float("nan")
            row[f"{condition}_missing"] = int(frame[column].isna().sum())
        return [row]
    observed = pd.concat([f[column] for f in groups.values()]).dropna().astype(str).unique()
    categories = [c for c in (order or []) if c in observed]
    categories += sorted(c for c in observed if c not in categories)
    for category in categories:
        row = {"level": level, "characteristic": label, "category": category}
        for condition, frame in groups.items():
            values = frame[column].dropna().astype(str)
            count = int((values == category).sum())
            row[f"{condition}_n"] = count
            row[f"{condition}_percent"] = 100.0 * count / len(values) if len(values) else 0.0
            if not rows:
                row[f"{condition}_missing"] = int(frame[column].isna().sum())
        rows.append(row)
    return rows


def _table(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows).reindex(columns=columns())
    counts = [c for c in table.columns if c.endswith(("_n", "_missing"))]
    table[counts] = table[counts].astype("Int64")
    return table


def _count_row(level: str, label: str, counts: Mapping[str, int]) -> dict:
    row = {"level": level, "characteristic": label, "category": ""}
    row.update({f"{c}_n": int(n) for c, n in counts.items()})
    return row


def patient_table(
    design: pd.DataFrame,
    baseline_scores: pd.DataFrame,
    characteristics: Sequence[str],
    scores: Sequence[str],
    labels: Mapping[str, str],
    orders: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Patient characteristics and baseline scores by enrolment condition."""
    check_columns(characteristics, design.columns, "table1.patient_characteristics", "patients")
    check_columns(
        scores, baseline_scores.columns, "table1.patient_baseline_scores", "patient scores"
    )
    frame = design.merge(baseline_scores[["patient_id", *scores]], on="patient_id", how="left")
    groups = {c: frame[frame["condition"] == c] for c in CONDITIONS}
    rows = [_count_row("patients", "Patients", {c: len(g) for c, g in groups.items()})]
    for column in [*characteristics, *scores]:
        label = labels.get(column) or DEFAULT_LABELS.get(column, column)
        rows += _describe(groups, column, "patients", label, orders.get(column))
    return _table(rows)


def therapist_table(
    design: pd.DataFrame,
    therapists: pd.DataFrame,
    baseline_scores: pd.DataFrame,
    characteristics: Sequence[str],
    scores: Sequence[str],
    labels: Mapping[str, str],
) -> pd.DataFrame:
    """Therapists who treated patients in each condition, with their baseline scores."""
    check_columns(
        characteristics, therapists.columns, "table1.therapist_characteristics", "therapists"
    )
    check_columns(
        scores, baseline_scores.columns, "table1.therapist_baseline_scores", "therapist scores"
    )
    frame = therapists.merge(
        baseline_scores[["therapist_id", *scores]], on="therapist_id", how="left"
    )
    groups = {}
    for condition in CONDITIONS:
        treating = design.loc[design["condition"] == condition, "therapist_id"].unique()
        groups[condition] = frame[frame["therapist_id"].isin(treating)]
    rows = [
        _count_row(
            "therapists", "Therapists treating patients", {c: len(g) for c, g in groups.items()}
        )
    ]
    for column in [*characteristics, *scores]:
        label = labels.get(column) or DEFAULT_LABELS.get(column, column)
        rows += _describe(groups, column, "therapists", label, None)
    return _table(rows)


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
