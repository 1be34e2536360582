"""BetterBack analysis data sets built from the validated and scored tables.

Treatment is 1 for patients enrolled while their clinic's allocation cluster
was in the intervention condition, 0 in routine care (control); ``period`` is
the calendar period of enrolment. A patient's follow-up rows carry the
baseline value of the outcome (``<score>_baseline``) and the change from
baseline (``<score>_change``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError

TREATED = "intervention"
CONDITIONS = ("control", "intervention")
DESIGN_COLUMNS = [
    "patient_id",
    "clinic_id",
    "therapist_id",
    "cluster_id",
    "period",
    "condition",
    "treatment",
]


def patient_design(patients: pd.DataFrame, clinics: pd.DataFrame) -> pd.DataFrame:
    """Patients with their allocation cluster and the 0/1 ``treatment`` column."""
    frame = patients.merge(clinics[["clinic_id", "cluster_id"]], on="clinic_id", how="left")
    frame["treatment"] = (frame["condition"] == TREATED).astype(int)
    return frame.sort_values("patient_id").reset_index(drop=True)


def check_columns(wanted: Sequence[str], available: Sequence[str], where: str, table: str) -> None:
    """Raise a :class:`ConfigError` naming every configured column the data lack."""
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ConfigError(
            f"{where}: column(s) {missing} are not in the {table} table; available: "
            f"{', '.join(sorted(map(str, available)))}"
        )


def baseline_covariates(
    design: pd.DataFrame,
    outcomes: pd.DataFrame,
    covariates: Sequence[str],
    baseline: str,
    where: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Add covariates to the design: patient columns as they are, scores at baseline.

    Returns
    -------
    (DataFrame, list of str)
        The design with the covariate columns, and the column names to use in
        formulas (``<score>_baseline`` for questionnaire scores).
    """
    frame = design.copy()
    names = []
    unknown = []
    base_rows = outcomes[outcomes["timepoint"] == baseline].set_index("patient_id")
    for covariate in covariates:
        if covariate in design.columns:
            names.append(covariate)
        elif covariate in outcomes.columns:
            column = f"{covariate}_baseline"
            if column not in frame.columns:
                frame[column] = frame["patient_id"].map(base_rows[covariate])
            names.append(column)
        else:
            unknown.append(covariate)
    if unknown:
        raise ConfigError(
            f"{where}: covariate(s) {unknown} are neither patient columns "
            f"({', '.join(map(str, design.columns))}) nor questionnaire scores "
            f"({', '.join(c for c in outcomes.columns if c not in ('patient_id', 'timepoint'))})"
        )
    return frame, names


def has_baseline(outcomes: pd.DataFrame, score: str, baseline: str) -> bool:
    """Whether a score was measured at baseline (e.g. PEI is asked at follow-ups only)."""
    return bool(outcomes.loc[outcomes["timepoint"] == baseline, score].notna().any())


def outcome_data(
    design: pd.DataFrame,
    outcomes: pd.DataFrame,
    score: str,
    timepoints: Sequence[str],
    baseline: str,
) -> pd.DataFrame:
    """Long data of one outcome: one row per patient and follow-up time point.

    Columns: the design columns, ``timepoint``, ``<score>`` (value at the
    follow-up), ``<score>_baseline`` and ``<score>_change`` (missing when the
    outcome has no baseline value). Patients without a questionnaire at a
    time point have a row with a missing value, so the rows used by a model
    are counted against all patients.
    """
    wide = outcomes.pivot(index="patient_id", columns="timepoint", values=score)
    rows = []
    for timepoint in timepoints:
        part = design.copy()
        part["timepoint"] = timepoint
        values = wide[timepoint] if timepoint in wide.columns else pd.Series(dtype=float)
        part[score] = part["patient_id"].map(values).astype(float)
        base = wide[baseline] if baseline in wide.columns else pd.Series(dtype=float)
        part[f"{score}_baseline"] = part["patient_id"].map(base).astype(float)
        rows.append(part)
    frame = pd.concat(rows, ignore_index=True)
    frame[f"{score}_change"] = frame[score] - frame[f"{score}_baseline"]
    frame["timepoint"] = frame["timepoint"].astype("string")
    return frame


def responder_status(
    baseline: pd.Series, followup: pd.Series, percent: float, direction: str
) -> pd.Series:
    """1 if the follow-up improved on baseline by at least ``percent`` % of baseline.

    Missing when either value is missing or the baseline is 0 (no relative
    improvement is defined).
    """
    change = (baseline - followup) if direction == "decrease" else (followup - baseline)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = 100.0 * change / baseline.abs()
    status = (relative >= percent - 1e-9).astype(float)
    status[relative.isna() | (baseline == 0)] = np.nan
    return status


def therapist_long(
    therapists: pd.DataFrame, responses: pd.DataFrame, timepoints: Sequence[str]
) -> pd.DataFrame:
    """Therapist questionnaires with the therapist's clinic, time points in design order."""
    frame = responses.merge(therapists[["therapist_id", "clinic_id"]], on="therapist_id")
    frame = frame[frame["timepoint"].isin(timepoints)].copy()
    order = {t: i for i, t in enumerate(timepoints)}
    frame["_order"] = frame["timepoint"].map(order)
    frame = frame.sort_values(["therapist_id", "_order"]).drop(columns="_order")
    return frame.reset_index(drop=True)
