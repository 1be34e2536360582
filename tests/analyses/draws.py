"""Validated and scored data of the example and of other simulated draws, as the rules get them."""

import functools
import tempfile
from pathlib import Path

from trialanalysis.cli.simulate import simulate_to_folder
from trialanalysis.config import load_config
from trialanalysis.steps.shared import score_step, validate_step

ROOT = Path(__file__).resolve().parents[2]
SCORED = {"betterback": ("patient_outcomes",), "prepare": ("outcomes",)}
EXAMPLE = None


def draw_config(data_dir: Path | str) -> dict:
    """The shipped config with absolute paths, reading ``data_dir``."""
    return load_config(
        ROOT / "config" / "config.yaml",
        overrides={
            "data_dir": str(data_dir),
            "instruments_dir": str(ROOT / "config" / "instruments"),
        },
    )


@functools.cache
def draw_inputs(seed: int | None = EXAMPLE) -> dict[str, str]:
    """Validate and score a data set; return the rule inputs of both trials by name.

    ``seed`` None is the shipped example (``data/example``); another seed is a
    fresh simulated draw written by :func:`simulate_to_folder`.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"draw_{seed}_"))
    data_dir = ROOT / "data" / "example"
    if seed is not None:
        data_dir = folder / "raw"
        simulate_to_folder(
            data_dir, ROOT / "config" / "simulation.yaml", ROOT / "config" / "instruments", seed
        )
    config = draw_config(data_dir)
    outputs = {
        (trial, table): str(folder / "data" / trial / f"{table}.csv")
        for trial in ("betterback", "prepare")
        for table in config[trial]["files"]
    }
    validate_step(config, outputs, str(folder / "summary.csv"))
    paths = {f"{trial}/{table}": path for (trial, table), path in outputs.items()}
    for trial, tables in SCORED.items():
        for table in tables:
            target = folder / "scores" / trial / f"{table}.csv"
            score_step(config, trial, table, outputs[(trial, table)], str(target))
            paths[f"{trial}/{table}_scores"] = str(target)
    return paths


def prepare_inputs(seed: int | None = EXAMPLE) -> dict[str, str]:
    """Inputs of the PREPARE rules (``patients``, ``outcomes``)."""
    paths = draw_inputs(seed)
    return {"patients": paths["prepare/patients"], "outcomes": paths["prepare/outcomes_scores"]}


def betterback_inputs(seed: int | None = EXAMPLE) -> dict[str, str]:
    """Inputs of the BetterBack patient rules (``patients``, ``clinics``, ``patient_scores``)."""
    paths = draw_inputs(seed)
    return {
        "patients": paths["betterback/patients"],
        "clinics": paths["betterback/clinics"],
        "patient_scores": paths["betterback/patient_outcomes_scores"],
    }
