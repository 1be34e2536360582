"""Simulated screening logs (CONSORT: assessed for eligibility, excluded, included).

Every simulated patient was screened and included; beside them, people
screened but not included are drawn per reason as Poisson counts with mean
``excluded[reason] x patients``. ``not_eligible`` marks people who did not
meet the criteria (``eligible = no``); every other reason (declined, ...)
concerns eligible people. Screening dates fall within ``days`` before the
start of the trial's first patient. Screening IDs are not patient IDs, so
the log holds no link to anyone's data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

COLUMNS = ["screening_id", "screened_date", "eligible", "reason_excluded", "included"]
NOT_ELIGIBLE = "not_eligible"


def simulate_screening(
    patients: pd.DataFrame, spec: Mapping, start: str, prefix: str, rng: np.random.Generator
) -> pd.DataFrame:
    """Draw the screening log of one trial.

    Parameters
    ----------
    patients : DataFrame
        The trial's included patients (one screening row each).
    spec : mapping
        ``excluded`` (reason -> people excluded per included patient) and
        ``days`` (screening happens within this many days before the start).
    start : str
        Column of ``patients`` with the start date (enrolment or randomisation).
    prefix : str
        Prefix of the screening IDs.
    rng : numpy Generator
        The log's own stream (so the other tables do not change).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, sorted by date.
    """
    n = len(patients)
    reasons = [""] * n
    for reason, rate in spec["excluded"].items():
        reasons += [reason] * int(rng.poisson(rate * n))
    reasons = np.array(reasons, dtype=object)
    first = pd.to_datetime(patients[start]).min()
    last = pd.to_datetime(patients[start]).max()
    span = max(int((last - first).days), 0) + int(spec["days"])
    offsets = rng.integers(0, span + 1, size=len(reasons))
    dates = first - pd.to_timedelta(int(spec["days"]), unit="D") + pd.to_timedelta(offsets, "D")
    log = pd.DataFrame(
        {
            "screened_date": dates.strftime("%Y-%m-%d"),
            "eligible": np.where(reasons == NOT_ELIGIBLE, "no", "yes"),
            "reason_excluded": reasons,
            "included": np.where(reasons == "", "yes", "no"),
        }
    )
    log = log.iloc[rng.permutation(len(log))].sort_values("screened_date", kind="stable")
    log.insert(0, "screening_id", [f"{prefix}{i + 1:05d}" for i in range(len(log))])
    return log[COLUMNS].reset_index(drop=True)
