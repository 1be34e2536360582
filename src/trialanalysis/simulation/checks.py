"""Validation of the simulation parameters (``config/simulation.yaml``).

:func:`check_simulation_config` validates against
``schemas/simulation.schema.yaml`` (filling defaults) and then cross-checks
what a schema cannot: clinics per allocation cluster, the schedule (the same
checks as a power spec's), one period effect per period of the schedule,
the time points every score needs, and the PREPARE mediators. Every problem
is reported at once with its key.
"""

from __future__ import annotations

from collections.abc import Mapping

from trialanalysis.config import validate_with_schema
from trialanalysis.errors import ConfigError
from trialanalysis.power.spec import schedule_problems

SIMULATION_SCHEMA = "simulation.schema.yaml"
THERAPIST_TIMEPOINTS = ("baseline", "post_training", "3m", "12m")
PATIENT_FOLLOWUPS = ("3m", "6m", "12m")
PREPARE_FOLLOWUPS = ("post_intervention", "3m", "12m", "24m")
PREPARE_AFTER_SURGERY = ("3m", "12m", "24m")


def check_simulation_config(config: Mapping, source: str = "simulation config") -> dict:
    """Validate simulation parameters and fill in defaults.

    Parameters
    ----------
    config : mapping
        The parsed ``config/simulation.yaml`` (with any overrides merged in).
    source : str
        Name of its origin, for messages.

    Returns
    -------
    dict
        A validated copy with defaults filled in.

    Raises
    ------
    ConfigError
        Listing every problem with its key path.
    """
    checked = validate_with_schema(config, SIMULATION_SCHEMA, source, "simulation config")
    problems = _betterback_problems(checked["betterback"]) + _prepare_problems(checked["prepare"])
    groups = {"betterback": ["control", "intervention"], "prepare": checked["prepare"]["arms"]}
    for trial, names in groups.items():
        harms = checked[trial].get("adverse_events", {})
        for key in ("rate", "serious", "related"):
            if key in harms:
                problems += _missing_keys(harms[key], names, f"{trial}/adverse_events/{key}")
    if problems:
        lines = "\n".join(f"{source}: {p}" for p in problems)
        raise ConfigError(f"invalid simulation config:\n{lines}")
    return checked


def _missing_keys(mapping: Mapping, needed, where: str) -> list[str]:
    missing = [k for k in needed if k not in mapping]
    return [f"{where}: no value for {missing}"] if missing else []


def _betterback_problems(spec: Mapping) -> list[str]:
    where = "betterback"
    problems = []
    clusters, schedule = spec["clusters"], spec["schedule"]
    if sum(clusters.values()) != spec["clinics"]:
        problems.append(
            f"{where}/clusters: the clusters hold {sum(clusters.values())} clinics but "
            f"{where}/clinics is {spec['clinics']}"
        )
    if set(schedule) != set(clusters):
        problems.append(
            f"{where}/schedule: needs one row per cluster of {where}/clusters "
            f"({', '.join(clusters)}), has {', '.join(schedule)}"
        )
    problems += schedule_problems(schedule, f"{where}/schedule")
    periods = max(len(row) for row in schedule.values())
    therapist = spec["therapist"]
    problems += _missing_keys(
        therapist["missing"], THERAPIST_TIMEPOINTS[1:], f"{where}/therapist/missing"
    )
    for column, score in therapist["scores"].items():
        merged = {**therapist["defaults"], **score}
        key = f"{where}/therapist/scores/{column}"
        problems += _missing_keys(
            merged, ("mean", "sd_clinic", "sd_therapist", "sd_residual", "item_sd"), key
        )
        problems += _missing_keys(merged.get("mean", {}), THERAPIST_TIMEPOINTS, f"{key}/mean")
    patient = spec["patient"]
    problems += _missing_keys(
        patient["dropout"]["rate"], PATIENT_FOLLOWUPS, f"{where}/patient/dropout/rate"
    )
    for column, score in patient["scores"].items():
        problems += _patient_score_problems(score, f"{where}/patient/scores/{column}", periods)
    return problems


def _patient_score_problems(score: Mapping, key: str, periods: int) -> list[str]:
    problems = []
    followups = [t for t in score["timepoints"] if t != "baseline"]
    if "baseline" in score["timepoints"]:
        if "baseline" not in score:
            problems.append(f"{key}: timepoints include baseline but there is no baseline")
        elif score["baseline"]["sd_clinic"] > score["baseline"]["sd"]:
            problems.append(f"{key}/baseline: sd_clinic is larger than sd")
    if not followups:
        return problems
    problems += _missing_keys(
        score, ("mean", "treatment_effect", "period_effect", "sd_clinic", "sd_patient",
                "sd_residual"), key
    )  # fmt: skip
    for part in ("mean", "treatment_effect"):
        if part in score:
            problems += _missing_keys(score[part], followups, f"{key}/{part}")
    if "period_effect" in score and len(score["period_effect"]) != periods:
        problems.append(
            f"{key}/period_effect: {len(score['period_effect'])} values, but "
            f"betterback/schedule has {periods} periods; give one value per period"
        )
    return problems


def _prepare_problems(spec: Mapping) -> list[str]:
    where = "prepare"
    problems = _missing_keys(spec["dropout"]["rate"], PREPARE_FOLLOWUPS, f"{where}/dropout/rate")
    if spec["age"]["min"] > spec["age"]["max"]:
        problems.append(f"{where}/age: min is larger than max")
    if spec["block_size"] % len(spec["arms"]):
        problems.append(f"{where}/block_size: must be a multiple of the {len(spec['arms'])} arms")
    scores = spec["scores"]
    defaults = spec["defaults"]
    for column, score in scores.items():
        key = f"{where}/scores/{column}"
        merged = {**defaults, **score}
        problems += _missing_keys(
            merged, ("sd_patient", "sd_residual", "severity_loading", "item_sd"), key
        )
        problems += _missing_keys(
            score["followup_change"], PREPARE_AFTER_SURGERY, f"{key}/followup_change"
        )
        problems += _missing_keys(
            score["followup_effect"], score["followup_change"], f"{key}/followup_effect"
        )
        for mediator in score.get("mediators", {}):
            if mediator not in scores:
                problems.append(f"{key}/mediators: {mediator!r} is not a simulated score")
            elif scores[mediator].get("mediators"):
                problems.append(
                    f"{key}/mediators: {mediator!r} has mediators itself; a mediator cannot"
                )
    return problems
