"""PREPARE analysis data: scored outcomes joined to the patients, checked against the config.

Every PREPARE analysis starts from :func:`analysis_data`, which returns a
:class:`PrepareData`: the patients (one row each, arm as a 0/1
``treatment`` indicator, 1 = the second configured arm) and the long table
(one row per patient and time point observed, with the patient columns and,
when the dates exist, ``years`` since randomisation for random slopes).
:func:`check_settings` (in :mod:`.settings`) compares the config with
the data and reports every mismatch at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError

DAYS_PER_YEAR = 365.25


@dataclass
class PrepareData:
    """The PREPARE data ready for analysis.

    Attributes
    ----------
    patients : DataFrame
        One row per randomised patient, with ``treatment`` (0/1).
    long : DataFrame
        One row per patient and observed time point; ``timepoint`` is an
        ordered categorical with the configured time points.
    arms : list of str
        Control arm first.
    timepoints : list of str
        Baseline first.
    """

    patients: pd.DataFrame
    long: pd.DataFrame
    arms: list[str]
    timepoints: list[str]

    @property
    def baseline(self) -> str:
        """The baseline time point."""
        return self.timepoints[0]

    @property
    def follow_ups(self) -> list[str]:
        """The time points after baseline."""
        return self.timepoints[1:]

    def wide(self, columns: Sequence[str], timepoints: Sequence[str] | None = None):
        """Score columns spread to one row per patient (columns ``<column>_<timepoint>``).

        Every randomised patient has a row (index ``patient_id``); values not
        observed are missing.
        """
        timepoints = list(timepoints or self.timepoints)
        frame = self.long[["patient_id", "timepoint", *columns]].copy()
        frame["timepoint"] = frame["timepoint"].astype(str)
        spread = frame.pivot(index="patient_id", columns="timepoint", values=list(columns))
        out = pd.DataFrame(index=pd.Index(self.patients["patient_id"], name="patient_id"))
        for column in columns:
            for t in timepoints:
                key = (column, t)
                values = spread[key] if key in spread.columns else pd.Series(dtype=float)
                out[f"{column}_{t}"] = values.reindex(out.index).astype(float)
        return out

    def changes(
        self, columns: Sequence[str], start: str, end: str, extra: Sequence[str] = ()
    ) -> pd.DataFrame:
        """Start value, end value and change (end - start) per patient.

        Returns
        -------
        DataFrame
            ``patient_id, arm, treatment``, the patient columns in ``extra``
            and, per score, ``<column>_start``, ``<column>_end`` and
            ``<column>_change``; one row per randomised patient.
        """
        keep = ["patient_id", "arm", "treatment", *[c for c in extra if c not in ("arm",)]]
        frame = self.patients[list(dict.fromkeys(keep))].set_index("patient_id")
        wide = self.wide(columns, [start, end])
        for column in columns:
            frame[f"{column}_start"] = wide[f"{column}_{start}"]
            frame[f"{column}_end"] = wide[f"{column}_{end}"]
            frame[f"{column}_change"] = frame[f"{column}_end"] - frame[f"{column}_start"]
        return frame.reset_index()


def analysis_data(
    patients: pd.DataFrame, outcomes: pd.DataFrame, arms: Sequence[str], timepoints: Sequence[str]
) -> PrepareData:
    """Join scored outcomes and patients into the analysis tables.

    Parameters
    ----------
    patients : DataFrame
        Validated patients table (``patient_id``, ``arm`` and patient columns).
    outcomes : DataFrame
        Scored outcome table (``patient_id``, ``timepoint``, scores).
    arms : sequence of str
        The two arms; the first is the control (``treatment`` = 0).
    timepoints : sequence of str
        Time points in order; the first is baseline.

    Returns
    -------
    PrepareData

    Raises
    ------
    ConfigError
        If columns are missing, arms or time points are not those of the
        config, or an outcome row names an unknown patient (all listed).
    """
    problems = []
    for name, frame, required in (
        ("patients", patients, ("patient_id", "arm")),
        ("outcomes", outcomes, ("patient_id", "timepoint")),
    ):
        absent = [c for c in required if c not in frame.columns]
        if absent:
            problems.append(f"the PREPARE {name} table lacks column(s) {absent}")
    if problems:
        raise ConfigError("cannot analyse PREPARE:\n" + "\n".join(problems))
    unknown_arms = sorted(set(patients["arm"].dropna().astype(str)) - set(arms))
    if unknown_arms:
        problems.append(f"arm(s) {unknown_arms} in the data are not in prepare.arms {list(arms)}")
    if patients["arm"].isna().any():
        problems.append(f"{int(patients['arm'].isna().sum())} patient(s) have no arm")
    unknown_times = sorted(set(outcomes["timepoint"].dropna().astype(str)) - set(timepoints))
    if unknown_times:
        problems.append(
            f"time point(s) {unknown_times} in the data are not in prepare.timepoints "
            f"{list(timepoints)}"
        )
    strangers = sorted(set(outcomes["patient_id"]) - set(patients["patient_id"]))
    if strangers:
        problems.append(
            f"{len(strangers)} patient(s) in the outcomes are not in the patients table "
            f"(first: {strangers[:3]})"
        )
    if patients["patient_id"].duplicated().any():
        problems.append("patient_id is not unique in the patients table")
    if outcomes.duplicated(["patient_id", "timepoint"]).any():
        problems.append("the outcomes table has more than one row per patient and time point")
    if problems:
        raise ConfigError("cannot analyse PREPARE:\n" + "\n".join(problems))
    patients = patients.copy()
    patients["arm"] = patients["arm"].astype(str)
    patients["treatment"] = (patients["arm"] == arms[1]).astype(int)
    patients = patients.sort_values("patient_id").reset_index(drop=True)
    overlap = [c for c in patients.columns if c in outcomes.columns and c != "patient_id"]
    long = outcomes.merge(patients.drop(columns=overlap), on="patient_id", validate="m:1")
    long["timepoint"] = pd.Categorical(long["timepoint"].astype(str), categories=list(timepoints))
    if {"response_date", "randomisation_date"} <= set(long.columns):
        delta = long["response_date"] - long["randomisation_date"]
        long["years"] = delta.dt.days / DAYS_PER_YEAR
    long = long.sort_values(["patient_id", "timepoint"]).reset_index(drop=True)
    return PrepareData(patients, long, list(arms), list(timepoints))


def numeric_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric copy of patient columns; text columns become 0/1 indicators (first level dropped).

    Used where a model needs numbers only (imputation, mediation covariates).
    """
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(float)
            continue
        levels = sorted(values.dropna().astype(str).unique())
        for level in levels[1:]:
            indicator = (values.astype(str) == level).astype(float)
            out[f"{column}_{level}"] = indicator.where(values.notna(), np.nan)
    return out
