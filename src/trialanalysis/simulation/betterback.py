"""Simulated BetterBack trial: clinics in a dog-leg design, therapists, patients.

The data-generating model is written out in ``config/simulation.yaml`` next to
its parameters. Tables follow the raw data layout of ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import Instrument
from trialanalysis.simulation.common import (
    bounded_normal,
    categorical,
    expit,
    item_blocks,
    logit,
    mixed,
    monotone_dropout,
)

THERAPIST_TIMEPOINTS = ("baseline", "post_training", "3m", "12m")
THERAPIST_DAYS = {"baseline": -7, "post_training": 2, "3m": 91, "12m": 365}
PATIENT_TIMEPOINTS = ("baseline", "3m", "6m", "12m")
PATIENT_DAYS = {"baseline": 0, "3m": 91, "6m": 182, "12m": 365}


def _iso(days_since: pd.Series, start: pd.Timestamp) -> pd.Series:
    return (start + pd.to_timedelta(days_since, unit="D")).dt.strftime("%Y-%m-%d")


def _design(spec: Mapping, rng: np.random.Generator):
    """Clinics, their clusters, and the cluster x period schedule."""
    clusters = spec["clusters"]
    labels = np.repeat(list(clusters), list(clusters.values()))
    width = len(str(spec["clinics"]))
    clinics = pd.DataFrame(
        {
            "clinic_id": [f"C{i:0{width}d}" for i in range(1, spec["clinics"] + 1)],
            "cluster_id": rng.permutation(labels),
        }
    )
    start = pd.Timestamp(spec["start_date"])
    rows = []
    for cluster, conditions in spec["schedule"].items():
        for period, condition in enumerate(conditions, start=1):
            if condition is None:
                continue
            first = start + pd.Timedelta(days=(period - 1) * spec["period_days"])
            rows.append(
                {
                    "cluster_id": cluster,
                    "period": period,
                    "condition": condition,
                    "period_start": first,
                    "period_end": first + pd.Timedelta(days=spec["period_days"] - 1),
                }
            )
    schedule = pd.DataFrame(rows).sort_values(["cluster_id", "period"], ignore_index=True)
    return clinics, schedule


def _split(rng, total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` units over groups proportional to weights, at least ``minimum`` each."""
    base = np.full(len(weights), minimum)
    if total < base.sum():
        raise ConfigError(f"cannot give each of {len(weights)} groups {minimum} of {total} units")
    return base + rng.multinomial(total - base.sum(), weights / weights.sum())


def simulate_betterback(
    spec: Mapping, instruments: Mapping[str, Instrument], rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """Simulate the BetterBack raw tables.

    Parameters
    ----------
    spec : mapping
        The ``betterback`` section of the simulation config.
    instruments : mapping of str to Instrument
        Instrument definitions (item columns, ranges, reverse keys).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict of str to DataFrame
        ``clinics``, ``schedule``, ``therapists``, ``therapist_responses``,
        ``patients``, ``patient_outcomes`` and ``care``.
    """
    clinics, schedule = _design(spec, rng)
    cv = spec["clinic_size_cv"]
    size = rng.gamma(1.0 / cv**2, cv**2, len(clinics))
    therapists = _therapists(spec, clinics, schedule, size, rng)
    responses = _therapist_responses(spec["therapist"], therapists, clinics, instruments, rng)
    patients = _patients(spec, clinics, schedule, therapists, size, rng)
    outcomes, severity = _patient_outcomes(spec, patients, clinics, instruments, rng)
    care = _care(spec["care"], patients, clinics, severity, rng)
    fmt = {"period_start": "%Y-%m-%d", "period_end": "%Y-%m-%d"}
    for column, pattern in fmt.items():
        schedule[column] = schedule[column].dt.strftime(pattern)
    return {
        "clinics": clinics,
        "schedule": schedule,
        "therapists": therapists,
        "therapist_responses": responses,
        "patients": patients,
        "patient_outcomes": outcomes,
        "care": care,
    }


def _therapists(spec, clinics, schedule, size, rng) -> pd.DataFrame:
    counts = _split(rng, spec["therapists"], size, minimum=2)
    clinic_ids = np.repeat(clinics["clinic_id"].to_numpy(), counts)
    n = len(clinic_ids)
    first_intervention = (
        schedule[schedule["condition"] == "intervention"]
        .groupby("cluster_id")["period_start"]
        .min()
    )
    cluster = clinics.set_index("clinic_id").loc[clinic_ids, "cluster_id"].to_numpy()
    age = bounded_normal(rng, n, {"mean": 42, "sd": 10, "min": 24, "max": 66})
    experience = np.minimum(np.rint(rng.gamma(2.0, 6.0, n)), age - 23)
    training = first_intervention.loc[cluster].to_numpy() - pd.Timedelta(days=14)
    return pd.DataFrame(
        {
            "therapist_id": [f"T{i:03d}" for i in range(1, n + 1)],
            "clinic_id": clinic_ids,
            "sex": np.where(rng.random(n) < 0.75, "female", "male"),
            "age": age.astype(int),
            "years_experience": experience.astype(int),
            "training_date": pd.Series(training).dt.strftime("%Y-%m-%d"),
        }
    )


def _therapist_responses(spec, therapists, clinics, instruments, rng) -> pd.DataFrame:
    scores = {k: {**spec["defaults"], **v} for k, v in spec["scores"].items()}
    n, clinic_index = len(therapists), pd.Index(clinics["clinic_id"])
    clinic_of = clinic_index.get_indexer(therapists["clinic_id"])
    frame = therapists[["therapist_id"]].merge(
        pd.DataFrame({"timepoint": THERAPIST_TIMEPOINTS}), how="cross"
    )
    t_index = np.tile(np.arange(len(THERAPIST_TIMEPOINTS)), n)
    who = np.repeat(np.arange(n), len(THERAPIST_TIMEPOINTS))
    targets = pd.DataFrame(index=frame.index)
    for column, s in scores.items():
        clinic_re = rng.normal(0, s["sd_clinic"], len(clinics))[clinic_of]
        person_re = rng.normal(0, s["sd_therapist"], n)
        means = np.array([s["mean"][t] for t in THERAPIST_TIMEPOINTS])
        residual = rng.normal(0, s["sd_residual"], len(frame))
        targets[column] = means[t_index] + clinic_re[who] + person_re[who] + residual
    items = item_blocks(
        targets,
        list(scores),
        instruments,
        rng,
        item_sd={c: s["item_sd"] for c, s in scores.items()},
        item_offset_sd=spec["item_offset_sd"],
        item_missing=spec["item_missing"],
    )
    training = pd.to_datetime(therapists["training_date"]).to_numpy()[who]
    offset = frame["timepoint"].map(THERAPIST_DAYS).to_numpy() + rng.integers(0, 6, len(frame))
    frame["response_date"] = pd.Series(training + pd.to_timedelta(offset, unit="D")).dt.strftime(
        "%Y-%m-%d"
    )
    frame = pd.concat([frame, items], axis=1)
    p_missing = frame["timepoint"].map({"baseline": 0.0, **spec["missing"]}).to_numpy()
    return frame[rng.random(len(frame)) >= p_missing].reset_index(drop=True)


def _patients(spec, clinics, schedule, therapists, size, rng) -> pd.DataFrame:
    pspec = spec["patient"]
    observed = clinics.merge(schedule, on="cluster_id")
    periods_per_clinic = observed.groupby("clinic_id", sort=True).size()
    per_clinic = _split(rng, spec["patients"], size, minimum=2 * int(periods_per_clinic.max()))
    rows = []
    for clinic_id, n_clinic in zip(clinics["clinic_id"], per_clinic, strict=True):
        periods = observed[observed["clinic_id"] == clinic_id]
        counts = _split(rng, int(n_clinic), np.ones(len(periods)), minimum=2)
        staff = therapists.loc[therapists["clinic_id"] == clinic_id, "therapist_id"].to_numpy()
        for (_, period), m in zip(periods.iterrows(), counts, strict=True):
            length = (period["period_end"] - period["period_start"]).days + 1
            enrol = period["period_start"] + pd.to_timedelta(
                np.sort(rng.integers(0, length, m)), unit="D"
            )
            rows.append(
                pd.DataFrame(
                    {
                        "clinic_id": clinic_id,
                        "therapist_id": rng.choice(staff, m),
                        "period": period["period"],
                        "condition": period["condition"],
                        "enrolment_date": enrol,
                    }
                )
            )
    patients = pd.concat(rows, ignore_index=True).sort_values(
        ["enrolment_date", "clinic_id"], kind="stable", ignore_index=True
    )
    n = len(patients)
    patients.insert(0, "patient_id", [f"P{i:04d}" for i in range(1, n + 1)])
    patients["enrolment_date"] = patients["enrolment_date"].dt.strftime("%Y-%m-%d")
    patients["sex"] = np.where(rng.random(n) < pspec["female"], "female", "male")
    patients["age"] = bounded_normal(rng, n, pspec["age"]).astype(int)
    patients["pain_duration"] = categorical(rng, n, pspec["pain_duration"])
    return patients


def _patient_outcomes(spec, patients, clinics, instruments, rng):
    pspec = spec["patient"]
    n = len(patients)
    clinic_of = pd.Index(clinics["clinic_id"]).get_indexer(patients["clinic_id"])
    treated = (patients["condition"] == "intervention").to_numpy(float)
    period = patients["period"].to_numpy() - 1
    severity, recovery = rng.normal(size=n), rng.normal(size=n)
    frame = patients[["patient_id"]].merge(
        pd.DataFrame({"timepoint": PATIENT_TIMEPOINTS}), how="cross"
    )
    tp = frame["timepoint"].to_numpy()
    who = np.repeat(np.arange(n), len(PATIENT_TIMEPOINTS))
    targets = pd.DataFrame(index=frame.index)
    for column, s in pspec["scores"].items():
        values = np.full(len(frame), np.nan)
        loading = s.get("severity_loading", 0.0)
        baseline = np.zeros(n)
        if "baseline" in s["timepoints"]:
            b = s["baseline"]
            within = np.sqrt(b["sd"] ** 2 - b["sd_clinic"] ** 2)
            clinic0 = rng.normal(0, b["sd_clinic"], len(clinics))[clinic_of]
            baseline = b["mean"] + clinic0 + within * mixed(rng, loading, severity)
            values[tp == "baseline"] = baseline
        followups = [t for t in s["timepoints"] if t != "baseline"]
        if followups:
            deviation = baseline - s["baseline"]["mean"] if "baseline" in s else 0.0
            clinic = rng.normal(0, s["sd_clinic"], len(clinics))[clinic_of]
            person = s["sd_patient"] * mixed(rng, loading, recovery)
            common = (
                np.asarray(s["period_effect"])[period]
                + s.get("baseline_slope", 0.0) * deviation
                + clinic
                + person
            )
            for t in followups:
                mean = s["mean"][t] + s["treatment_effect"][t] * treated
                values[tp == t] = mean + common + rng.normal(0, s["sd_residual"], n)
        targets[column] = values
    items = item_blocks(
        targets,
        list(pspec["scores"]),
        instruments,
        rng,
        item_sd={c: s.get("item_sd", 0.8) for c, s in pspec["scores"].items()},
        item_offset_sd=pspec["item_offset_sd"],
        item_missing=pspec["item_missing"],
    )
    enrol = pd.to_datetime(patients["enrolment_date"]).to_numpy()[who]
    offset = frame["timepoint"].map(PATIENT_DAYS).to_numpy() + rng.integers(0, 8, len(frame))
    frame["response_date"] = pd.Series(enrol + pd.to_timedelta(offset, unit="D")).dt.strftime(
        "%Y-%m-%d"
    )
    frame = pd.concat([frame, items], axis=1)
    keep = monotone_dropout(
        frame, PATIENT_TIMEPOINTS, pspec["dropout"], patients["age"].to_numpy(), rng
    )
    return frame[keep].reset_index(drop=True), severity


def _care(spec, patients, clinics, severity, rng) -> pd.DataFrame:
    clinic_of = pd.Index(clinics["clinic_id"]).get_indexer(patients["clinic_id"])
    treated = (patients["condition"] == "intervention").to_numpy(float)
    care = patients[["patient_id"]].copy()
    for column, s in spec.items():
        clinic = rng.normal(0, s["sd_clinic"], len(clinics))[clinic_of]
        lp = (
            logit(s["control_rate"])
            + np.log(s["odds_ratio"]) * treated
            + clinic
            + s["severity_loading"] * severity
        )
        care[column] = (rng.random(len(patients)) < expit(lp)).astype(int)
    return care
