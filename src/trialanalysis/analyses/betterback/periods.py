"""The BetterBack design in numbers: cluster-period counts and the secular trend.

:func:`cluster_period_table` counts, for every allocation unit and period of
the schedule, the clinics, therapists and patients recruited and analysed,
with the period's dates and whether the cell holds a within-period comparison
of the conditions (CONSORT extension for stepped-wedge trials, items 3a and
13a; Hemming et al. 2018). In a dog-leg design only the periods holding both
conditions compare them directly; the other periods enter the treatment
effect only through the clinic random effect (within-clinic comparisons
across periods), which rests on a common secular trend.

:func:`period_means` gives the adjusted mean of each primary outcome per
period and condition from the primary model (estimated marginal means,
other covariates at their mean), with the period coefficients: the secular
trend the model removes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.analyses.betterback.patients import PatientResults, primary_fit
from trialanalysis.models.stepped_design import stepped_design_effect

CELL_COLUMNS = [
    "cluster_id",
    "period",
    "condition",
    "period_start",
    "period_end",
    "n_clinics",
    "n_therapists",
    "patients_recruited",
    "patients_analysed",
    "contributes",
]
WITHIN = "within-period comparison"
VIA_CLINIC = "through the clinic effect only"


def cluster_period_table(
    schedule: pd.DataFrame, design: pd.DataFrame, analysed: pd.DataFrame, timepoint: str
) -> pd.DataFrame:
    """Clinics, therapists and patients per allocation unit and period.

    Parameters
    ----------
    schedule : DataFrame
        ``cluster_id, period, condition, period_start, period_end``.
    design : DataFrame
        Recruited patients with ``patient_id, clinic_id, cluster_id,
        therapist_id, period``.
    analysed : DataFrame
        ``patient_id, timepoint, outcome`` of the primary models
        (:func:`~trialanalysis.analyses.betterback.patients.analysed_patients`).
    timepoint : str
        The primary time point: a patient counts as analysed when in at least
        one primary outcome's model there.

    Returns
    -------
    DataFrame
        :data:`CELL_COLUMNS`, one row per scheduled cluster-period, then a
        ``Total`` row.
    """
    keys = ["cluster_id", "period"]
    schedule = schedule.copy()
    for column in ("period_start", "period_end"):
        schedule[column] = pd.to_datetime(schedule[column]).dt.strftime("%Y-%m-%d")
    at = analysed.loc[analysed["timepoint"].astype(str) == str(timepoint), "patient_id"]
    recruited = design.assign(_analysed=design["patient_id"].astype(str).isin(set(at)))
    counts = recruited.groupby(keys).agg(
        n_clinics=("clinic_id", "nunique"),
        n_therapists=("therapist_id", "nunique"),
        patients_recruited=("patient_id", "nunique"),
        patients_analysed=("_analysed", "sum"),
    )
    table = schedule[[*keys, "condition", "period_start", "period_end"]].merge(
        counts.reset_index(), on=keys, how="left"
    )
    count_columns = CELL_COLUMNS[5:9]
    table[count_columns] = table[count_columns].fillna(0).astype(int)
    both = schedule.groupby("period")["condition"].nunique()
    table["contributes"] = table["period"].map(lambda p: WITHIN if both[p] > 1 else VIA_CLINIC)
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    total = {
        "cluster_id": "Total",
        "period": "",
        "condition": "",
        "period_start": str(schedule["period_start"].min()),
        "period_end": str(schedule["period_end"].max()),
        "n_clinics": int(design["clinic_id"].nunique()),
        "n_therapists": int(design["therapist_id"].nunique()),
        "patients_recruited": int(design["patient_id"].nunique()),
        "patients_analysed": int(recruited["_analysed"].sum()),
        "contributes": "",
    }
    table = pd.concat([table.astype({"period": object}), pd.DataFrame([total])])
    return table[CELL_COLUMNS].reset_index(drop=True)


MEAN_COLUMNS = [
    "outcome",
    "label",
    "period",
    "condition",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
    "period_effect",
    "scheduled",
    "df_method",
]


def period_means(
    results: PatientResults,
    settings: Mapping,
    schedule: pd.DataFrame,
    scores: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return the adjusted means per period and condition of each primary model.

    Only for ``model: per_timepoint`` (a repeated model has time-specific
    treatment terms; its means per period would mix follow-ups).

    Returns
    -------
    DataFrame
        :data:`MEAN_COLUMNS`; ``period_effect`` is the period's coefficient
        (0 for the first period), ``scheduled`` whether the schedule has the
        condition in that period (the others are model extrapolations).
    """
    if settings["model"] != "per_timepoint":
        return pd.DataFrame(columns=MEAN_COLUMNS)
    scheduled = set(zip(schedule["period"].astype(str), schedule["condition"], strict=True))
    tables = []
    for score, spec in results.specs.items():
        if not spec.outcome.primary or (scores is not None and score not in scores):
            continue
        fit = primary_fit(results, settings, score)
        if fit is None:
            continue
        means = fit.emmeans(["period", "treatment"], at={"treatment": [0, 1]}).table
        coefficients = fit.coefficients.set_index("term")["estimate"]
        means["period_effect"] = [
            coefficients.get(f"C(period)[T.{p}]", 0.0) for p in means["period"]
        ]
        means["condition"] = means["treatment"].map({0: "control", 1: "intervention"})
        means["scheduled"] = [
            (str(p), c) in scheduled
            for p, c in zip(means["period"], means["condition"], strict=True)
        ]
        tables.append(means.assign(outcome=score, label=spec.outcome.label))
    if not tables:
        return pd.DataFrame(columns=MEAN_COLUMNS)
    return pd.concat(tables, ignore_index=True)[MEAN_COLUMNS]


DESIGN_EFFECT_COLUMNS = [
    "outcome",
    "label",
    "icc",
    "cac",
    "design_effect_stepped",
    "design_effect_parallel",
    "n_clinics",
    "n_periods",
    "n_patients",
]


def stepped_design_effects(results: PatientResults, settings: Mapping) -> pd.DataFrame:
    """Design effect of the design as run, for each primary outcome.

    The stepped-design design effect (Hooper et al. 2016;
    :func:`~trialanalysis.models.stepped_design.stepped_design_effect`) uses
    the realised clinic x period treatment pattern and the patients analysed
    per clinic-period, with the clinic ICC of the primary model and a cluster
    autocorrelation of 1 (the primary model's clinic effect is constant over
    periods). Beside it, Eldridge's parallel-trial design effect for the same
    clinics (``1 + ((CV² + 1) m − 1) ICC``), which ignores the design.
    """
    rows = []
    for score, spec in results.specs.items():
        fit = primary_fit(results, settings, score) if spec.outcome.primary else None
        if fit is None or settings["model"] != "per_timepoint":
            continue
        iccs = fit.icc().set_index("group")
        if "clinic_id" not in iccs.index:
            continue
        icc = float(iccs.loc["clinic_id", "icc"])
        frame = fit.model.frame
        sizes = frame.groupby(["clinic_id", "period"]).size().unstack(fill_value=0)
        treatment = frame.groupby(["clinic_id", "period"])["treatment"].first().unstack()
        treatment = treatment.reindex_like(sizes)
        stepped = stepped_design_effect(treatment.to_numpy(float), sizes.to_numpy(float), icc)
        parallel = fit.design_effect(group="clinic_id", unit="patient_id").iloc[0]
        rows.append(
            {
                "outcome": score,
                "label": spec.outcome.label,
                "icc": icc,
                "cac": 1.0,
                "design_effect_stepped": stepped["design_effect"],
                "design_effect_parallel": float(parallel["design_effect"]),
                "n_clinics": stepped["n_clusters"],
                "n_periods": stepped["n_periods"],
                "n_patients": stepped["n_total"],
            }
        )
    return pd.DataFrame(rows, columns=DESIGN_EFFECT_COLUMNS)
