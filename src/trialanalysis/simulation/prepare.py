"""Simulated PREPARE trial: pre-surgery physiotherapy versus waiting list.

Change from baseline to after the intervention is built so that self-efficacy
(and, to a lesser degree, depression and fear-avoidance) mediate part of the
effect of physiotherapy, as Fors et al. (2020) reported. The model is written
out in ``config/simulation.yaml`` next to its parameters.
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
    item_blocks,
    mixed,
    monotone_dropout,
)

TIMEPOINTS = ("baseline", "post_intervention", "3m", "12m", "24m")
DAYS_AFTER_SURGERY = {"3m": 91, "12m": 365, "24m": 730}


def mediation_order(scores: Mapping[str, Mapping]) -> list[str]:
    """Score columns ordered so that every mediator comes before its outcomes.

    Raises
    ------
    ConfigError
        If a mediator is not simulated or itself has mediators.
    """
    for column, s in scores.items():
        for mediator in s.get("mediators", {}):
            if mediator not in scores:
                raise ConfigError(f"prepare.scores.{column}: mediator {mediator!r} not simulated")
            if scores[mediator].get("mediators"):
                raise ConfigError(
                    f"prepare.scores.{mediator} is a mediator and cannot have mediators itself"
                )
    return sorted(scores, key=lambda c: (bool(scores[c].get("mediators")), list(scores).index(c)))


def simulate_prepare(
    spec: Mapping, instruments: Mapping[str, Instrument], rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """Simulate the PREPARE raw tables.

    Parameters
    ----------
    spec : mapping
        The ``prepare`` section of the simulation config.
    instruments : mapping of str to Instrument
        Instrument definitions.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict of str to DataFrame
        ``patients`` and ``outcomes``.
    """
    patients = _patients(spec, rng)
    outcomes = _outcomes(spec, patients, instruments, rng)
    return {"patients": patients, "outcomes": outcomes}


def _patients(spec, rng) -> pd.DataFrame:
    n, block = spec["patients"], spec["block_size"]
    arms = spec["arms"]
    if block % len(arms):
        raise ConfigError(f"prepare.block_size {block} is not a multiple of {len(arms)} arms")
    blocks = [rng.permutation(np.repeat(arms, block // len(arms))) for _ in range(-(-n // block))]
    arm = np.concatenate(blocks)[:n]
    start = pd.Timestamp(spec["start_date"])
    randomised = start + pd.to_timedelta(
        np.sort(rng.integers(0, spec["recruitment_days"], n)), unit="D"
    )
    wait = spec["days_to_surgery"]
    to_surgery = np.maximum(np.rint(rng.normal(wait["mean"], wait["sd"], n)), wait["min"])
    surgery = pd.Series(randomised + pd.to_timedelta(to_surgery, unit="D"))
    surgery[rng.random(n) < spec["not_operated"]] = pd.NaT
    treated = arm == arms[1]
    adherence = rng.beta(*spec["adherence_beta"], n)
    sessions = np.where(treated, rng.binomial(spec["planned_sessions"], adherence), 0)
    expectation = spec["expectation"]
    return pd.DataFrame(
        {
            "patient_id": [f"PR{i:03d}" for i in range(1, n + 1)],
            "arm": arm,
            "diagnosis": categorical(rng, n, spec["diagnosis"]),
            "sex": np.where(rng.random(n) < spec["female"], "female", "male"),
            "age": bounded_normal(rng, n, spec["age"]).astype(int),
            "randomisation_date": pd.Series(randomised).dt.strftime("%Y-%m-%d"),
            "surgery_date": surgery.dt.strftime("%Y-%m-%d"),
            "sessions_attended": sessions.astype(int),
            "expectation": np.clip(
                np.rint(rng.normal(expectation["mean"], expectation["sd"], n)), 0, 10
            ).astype(int),
        }
    )


def _outcomes(spec, patients, instruments, rng) -> pd.DataFrame:
    n = len(patients)
    treated = (patients["arm"] == spec["arms"][1]).to_numpy(float)
    expectation = patients["expectation"].to_numpy(float)
    centred_expectation = expectation - spec["expectation"]["mean"]
    severity, recovery = rng.normal(size=n), rng.normal(size=n)
    scores = {k: {**spec["defaults"], **v} for k, v in spec["scores"].items()}
    wide: dict[str, dict[str, np.ndarray]] = {}
    change: dict[str, np.ndarray] = {}
    for column in mediation_order(scores):
        s = scores[column]
        b = s["baseline"]
        loading = s["severity_loading"]
        baseline = b["mean"] + b["sd"] * mixed(rng, loading, severity)
        delta = (
            s["change_control"]
            + s["direct_effect"] * treated
            + s.get("expectation_moderation", 0.0) * treated * centred_expectation
            + rng.normal(0, s["sd_change"], n)
        )
        for mediator, path in s.get("mediators", {}).items():
            delta += path * (change[mediator] - scores[mediator]["change_control"])
        change[column] = delta
        person = s["sd_patient"] * mixed(rng, loading, recovery)
        values = {"baseline": baseline, "post_intervention": baseline + delta}
        for t, mean_change in s["followup_change"].items():
            values[t] = (
                baseline
                + mean_change
                + s["followup_effect"][t] * treated
                + person
                + rng.normal(0, s["sd_residual"], n)
            )
        wide[column] = values
    frame = patients[["patient_id"]].merge(pd.DataFrame({"timepoint": TIMEPOINTS}), how="cross")
    targets = pd.DataFrame(
        {c: np.column_stack([wide[c][t] for t in TIMEPOINTS]).ravel() for c in scores}
    )
    items = item_blocks(
        targets,
        list(scores),
        instruments,
        rng,
        item_sd={c: s["item_sd"] for c, s in scores.items()},
        item_offset_sd=spec["item_offset_sd"],
        item_missing=spec["item_missing"],
    )
    frame["response_date"] = _response_dates(spec, patients, rng)
    frame = pd.concat([frame, items], axis=1)
    keep = monotone_dropout(frame, TIMEPOINTS, spec["dropout"], patients["age"].to_numpy(), rng)
    return frame[keep].reset_index(drop=True)


def _response_dates(spec, patients, rng) -> np.ndarray:
    n = len(patients)
    randomised = pd.to_datetime(patients["randomisation_date"])
    surgery = pd.to_datetime(patients["surgery_date"])
    # Patients not operated are followed from the planned surgery date.
    anchor = surgery.fillna(randomised + pd.Timedelta(days=spec["days_to_surgery"]["mean"]))
    post = randomised + pd.to_timedelta(
        spec["days_to_post_intervention"] + rng.integers(0, 8, n), unit="D"
    )
    # The post-intervention questionnaire is always answered before surgery.
    post = post.where(surgery.isna() | (post < surgery), surgery - pd.Timedelta(days=1))
    columns = [randomised - pd.to_timedelta(rng.integers(0, 8, n), unit="D"), post]
    for t in TIMEPOINTS[2:]:
        jitter = rng.integers(0, 15, n)
        columns.append(anchor + pd.to_timedelta(DAYS_AFTER_SURGERY[t] + jitter, unit="D"))
    stacked = np.column_stack([c.dt.strftime("%Y-%m-%d").to_numpy() for c in columns])
    return stacked.ravel()
