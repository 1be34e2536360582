"""A small valid dataset of both trials, built here (not by the simulator).

``valid_tables()`` returns every raw table as a DataFrame of text cells, so a
test can change one cell and write the files in any format with ``write``.
Item values are drawn within the ranges of the instrument definitions.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pandas as pd

from trialanalysis.ingest.settings import DEFAULT_SETTINGS
from trialanalysis.instruments.definitions import load_instruments

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS_DIR = REPO / "config" / "instruments"
BB_TP = DEFAULT_SETTINGS["betterback"]["timepoints"]
PR_TP = DEFAULT_SETTINGS["prepare"]["timepoints"]


def _items(rng, instruments, names, skip=()) -> dict[str, str | None]:
    values = {}
    for name in names:
        instrument = instruments[name]
        for item, column in instrument.item_columns.items():
            if name in skip:
                values[column] = None
                continue
            scale = instrument.scale_of(item)
            if scale.integer:
                values[column] = str(int(rng.integers(int(scale.min), int(scale.max) + 1)))
            else:
                values[column] = f"{rng.uniform(scale.min, scale.max):.2f}"
    return values


def _day(base: str, days: int) -> str:
    return (dt.date.fromisoformat(base) + dt.timedelta(days=days)).isoformat()


def valid_tables() -> dict[tuple[str, str], pd.DataFrame]:
    """Every raw table of both trials, valid, as text cells (a fresh copy)."""
    return {key: frame.copy() for key, frame in _valid_tables().items()}


@functools.cache
def _valid_tables() -> dict[tuple[str, str], pd.DataFrame]:
    rng = np.random.default_rng(20240601)
    instruments = load_instruments(INSTRUMENTS_DIR)
    bb_instr = DEFAULT_SETTINGS["betterback"]["instruments"]
    pr_instr = DEFAULT_SETTINGS["prepare"]["instruments"]
    clinics = pd.DataFrame(
        {"clinic_id": ["C01", "C02", "C03", "C04"], "cluster_id": ["A", "A", "B", "B"]}
    )
    schedule = pd.DataFrame(
        [
            ("A", "1", "control", "2017-01-01", "2017-06-30"),
            ("A", "2", "intervention", "2017-07-01", "2017-12-31"),
            ("A", "3", "intervention", "2018-01-01", "2018-06-30"),
            ("B", "2", "control", "2017-07-01", "2017-12-31"),
            ("B", "3", "intervention", "2018-01-01", "2018-06-30"),
        ],
        columns=["cluster_id", "period", "condition", "period_start", "period_end"],
    )
    therapists = pd.DataFrame(
        [
            ("T01", "C01", "female", "34", "8.5", "2017-06-15"),
            ("T02", "C01", "male", "51", "25", "2017-06-15"),
            ("T03", "C02", "female", "29", "3", "2017-06-16"),
            ("T04", "C03", "female", "45", "20", None),
            ("T05", "C04", "male", "38", "12", "2017-12-14"),
            ("T06", "C04", "female", "60", "35", "2017-12-14"),
            ("T07", "C02", "male", "42", "15", "2017-06-16"),  # treats no patient
        ],
        columns=["therapist_id", "clinic_id", "sex", "age", "years_experience", "training_date"],
    )
    responses = []
    for therapist in therapists["therapist_id"]:
        for k, tp in enumerate(BB_TP["therapist"]):
            row = {"therapist_id": therapist, "timepoint": tp}
            row["response_date"] = _day("2017-05-01", [0, 50, 140, 400][k])
            row.update(_items(rng, instruments, bb_instr["therapist_responses"]))
            responses.append(row)
    # (clinic, therapist, period, condition, enrolment) for each patient
    plan = [
        ("C01", "T01", 1, "control", "2017-02-01"),
        ("C01", "T02", 1, "control", "2017-03-10"),
        ("C02", "T03", 1, "control", "2017-04-20"),
        ("C01", "T01", 2, "intervention", "2017-08-01"),
        ("C02", "T03", 2, "intervention", "2017-09-15"),
        ("C03", "T04", 2, "control", "2017-08-20"),
        ("C04", "T05", 2, "control", "2017-10-05"),
        ("C04", "T06", 3, "intervention", "2018-02-01"),
        ("C03", "T04", 3, "intervention", "2018-03-12"),
        ("C04", "T05", 3, "intervention", "2018-04-30"),
    ]
    patients, outcomes, care = [], [], []
    durations = ["lt3m", "3to12m", "gt12m"]
    for i, (clinic, therapist, period, condition, enrolled) in enumerate(plan, start=1):
        pid = f"P{i:03d}"
        patients.append(
            {
                "patient_id": pid,
                "clinic_id": clinic,
                "therapist_id": therapist,
                "period": str(period),
                "condition": condition,
                "enrolment_date": enrolled,
                "sex": ["female", "male"][i % 2],
                "age": str(25 + 3 * i),
                "pain_duration": durations[i % 3],
            }
        )
        for k, tp in enumerate(BB_TP["patient"]):
            if i == 4 and tp == "6m":
                continue  # a missed visit: no row
            row = {"patient_id": pid, "timepoint": tp}
            row["response_date"] = _day(enrolled, [0, 91, 182, 365][k])
            skip = ("pei",) if tp == "baseline" else ()
            row.update(_items(rng, instruments, bb_instr["patient_outcomes"], skip))
            if i == 2 and tp == "3m":
                row["odi_4"] = None  # a missing item
            outcomes.append(row)
        care.append({"patient_id": pid, **_items(rng, instruments, bb_instr["care"])})
    arms = DEFAULT_SETTINGS["prepare"]["arms"]
    diagnoses = ["disc_herniation", "spinal_stenosis", "spondylolisthesis"]
    pr_patients, pr_outcomes = [], []
    for i in range(1, 9):
        pid = f"R{i:03d}"
        randomised = _day("2012-01-10", 17 * i)
        pr_patients.append(
            {
                "patient_id": pid,
                "arm": arms[i % 2],
                "diagnosis": diagnoses[i % 3],
                "sex": ["male", "female"][i % 2],
                "age": str(40 + 4 * i),
                "randomisation_date": randomised,
                "surgery_date": None if i == 5 else _day(randomised, 80),
                "sessions_attended": str(0 if i % 2 == 0 else 10 + i),
                "expectation": str(i % 11),
            }
        )
        for k, tp in enumerate(PR_TP):
            row = {"patient_id": pid, "timepoint": tp}
            row["response_date"] = _day(randomised, [-7, 70, 170, 445, 810][k])
            row.update(_items(rng, instruments, pr_instr["outcomes"]))
            pr_outcomes.append(row)
    frames = {
        ("betterback", "clinics"): clinics,
        ("betterback", "schedule"): schedule,
        ("betterback", "therapists"): therapists,
        ("betterback", "therapist_responses"): pd.DataFrame(responses),
        ("betterback", "patients"): pd.DataFrame(patients),
        ("betterback", "patient_outcomes"): pd.DataFrame(outcomes),
        ("betterback", "care"): pd.DataFrame(care),
        ("prepare", "patients"): pd.DataFrame(pr_patients),
        ("prepare", "outcomes"): pd.DataFrame(pr_outcomes),
    }
    return {key: frame.astype(object).where(frame.notna(), None) for key, frame in frames.items()}


def config_for(root: Path, files: dict | None = None, **sections) -> dict:
    """A config pointing at ``root``; ``files`` maps (trial, table) to a relative path."""
    config = {"data_dir": str(root), "instruments_dir": str(INSTRUMENTS_DIR)}
    for (trial, table), rel in (files or {}).items():
        config.setdefault(trial, {}).setdefault("files", {})[table] = rel
    for key, value in sections.items():
        config[key] = value
    return config


def write_csv(root: Path, tables, **options) -> dict:
    """Write tables as CSV in the default layout; return the config."""
    for (trial, table), frame in tables.items():
        path = root / trial / f"{table}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, **options)
    return config_for(root)
