"""Small PREPARE-shaped data sets whose answers the tests compute independently."""

from pathlib import Path

import numpy as np
import pandas as pd

from trialanalysis.analyses.prepare.data import analysis_data

GOLDEN = Path(__file__).parent / "golden"
ARMS = ["control", "treated"]


def golden_data():
    """The data set of golden/prepare_lmm_golden.R as PrepareData."""
    long = pd.read_csv(GOLDEN / "prepare_lmm_data.csv")
    patients = long.drop_duplicates("patient_id")[["patient_id", "arm", "sex"]]
    outcomes = long[["patient_id", "timepoint", "y"]]
    return analysis_data(patients, outcomes, ARMS, ["baseline", "post", "3m", "12m"])


def simulated_trial(n=80, seed=1, timepoints=("baseline", "post", "3m"), missing=0.0):
    """A small two-arm trial with a mediator, outcomes, sessions and an expectation score.

    Returns (patients, outcomes) as the workflow's validated and scored tables.
    """
    rng = np.random.default_rng(seed)
    treated = np.repeat([0, 1], n // 2)
    ids = [f"P{i:03d}" for i in range(n)]
    expectation = rng.integers(3, 11, n)
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "arm": np.where(treated == 1, ARMS[1], ARMS[0]),
            "sex": rng.choice(["female", "male"], n),
            "age": rng.integers(25, 80, n),
            "sessions_attended": np.where(treated == 1, rng.integers(4, 19, n), 0),
            "expectation": expectation,
        }
    )
    rows = []
    for i in range(n):
        base_m, base_y, base_z = rng.normal(50, 10), rng.normal(40, 12), rng.normal(10, 3)
        person = rng.normal(0, 4)
        for k, t in enumerate(timepoints):
            m = base_m + k * (5 + (6 + 1.5 * (expectation[i] - 7)) * treated[i]) + rng.normal(0, 4)
            z = base_z - k * treated[i] + rng.normal(0, 1)
            y = base_y - k * (2 + 2 * treated[i]) - 0.3 * (m - base_m) + person + rng.normal(0, 3)
            rows.append((ids[i], t, round(y, 2), round(m, 1), round(z, 1)))
    outcomes = pd.DataFrame(rows, columns=["patient_id", "timepoint", "odi_total", "ses_total",
                                           "hads_depression"])  # fmt: skip
    if missing:
        lost = (rng.random(len(outcomes)) < missing) & (outcomes["timepoint"] != timepoints[0])
        outcomes.loc[lost, ["odi_total", "ses_total", "hads_depression"]] = np.nan
    return patients, outcomes


def as_data(patients, outcomes, timepoints=("baseline", "post", "3m")):
    return analysis_data(patients, outcomes, ARMS, list(timepoints))
