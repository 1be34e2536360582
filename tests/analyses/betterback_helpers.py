"""Shared set-up of the BetterBack analysis tests: validated and scored example data."""

import functools
import tempfile
from pathlib import Path

import pandas as pd

from trialanalysis.config import load_config
from trialanalysis.steps.io import read_table_csv
from trialanalysis.steps.shared import score_step, validate_step

ROOT = Path(__file__).resolve().parents[2]
TRUTH = pd.read_csv(ROOT / "data" / "example" / "truth.csv")
TABLES = (
    "clinics",
    "schedule",
    "therapists",
    "therapist_responses",
    "patients",
    "patient_outcomes",
    "care",
)
SCORED = ("therapist_responses", "patient_outcomes", "care")


def example_config(**betterback_analyses) -> dict:
    """The shipped config with absolute paths; ``betterback.analyses`` parts replaced."""
    config = load_config(
        ROOT / "config" / "config.yaml",
        overrides={
            "data_dir": str(ROOT / "data" / "example"),
            "instruments_dir": str(ROOT / "config" / "instruments"),
        },
    )
    config["betterback"]["analyses"].update(betterback_analyses)
    return config


@functools.cache
def example_inputs() -> dict[str, str]:
    """Validate and score the example data once (as the workflow does); return the CSV paths."""
    folder = Path(tempfile.mkdtemp(prefix="betterback_inputs_"))
    config = example_config()
    outputs = {
        (trial, table): str(folder / "data" / trial / f"{table}.csv")
        for trial in ("betterback", "prepare")
        for table in config[trial]["files"]
    }
    validate_step(config, outputs, str(folder / "summary.csv"))
    paths = {t: outputs[("betterback", t)] for t in TABLES}
    for table in SCORED:
        target = folder / "scores" / f"{table}.csv"
        score_step(config, "betterback", table, paths[table], str(target))
        paths[f"{table}_scores"] = str(target)
    return paths


def inputs_for(*names: str) -> dict[str, str]:
    """Step inputs under the names the rules use."""
    paths = example_inputs()
    aliases = {
        "patient_scores": "patient_outcomes_scores",
        "therapist_scores": "therapist_responses_scores",
        "care_scores": "care_scores",
    }
    return {name: paths[aliases.get(name, name)] for name in names}


def read(name: str) -> pd.DataFrame:
    """Read one of the prepared tables."""
    return read_table_csv(example_inputs()[name])
