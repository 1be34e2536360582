"""Workflow steps of design and power (see ``workflow/rules/power.smk``).

``power_spec_step`` plans one power spec per scenario from the trial's
results, ``power_analytic_step`` computes the analytic grid,
``power_simulate_chunk_step`` simulates one chunk of one scenario,
``power_aggregate_step`` summarises all chunks and ``power_report_step``
writes the table, the figure and the report fragment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from trialanalysis.errors import ConfigError
from trialanalysis.power.analytic import analytic_power
from trialanalysis.power.figures import power_curves
from trialanalysis.power.report import COLUMNS, LABELS, METHOD_ORDER, assumptions
from trialanalysis.power.simulate import run_simulations, summarise_simulations
from trialanalysis.power.spec import load_power_spec
from trialanalysis.power.trial import (
    OBSERVED,
    SCENARIO_COLUMNS,
    observed_design,
    reference_effect,
    scenario_grid,
    scenario_specs,
)
from trialanalysis.reporting.assemble import write_fragment
from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.sections import FigureBlock, ReportEntry, TableBlock, TextBlock
from trialanalysis.steps.io import declare, publish_table, read_table_csv, write_csv


def resolve_settings(config: Mapping) -> dict:
    """Resolve the ``power`` settings with the trial's defaults (outcome, df method, seed).

    Raises
    ------
    ConfigError
        If ``power.outcome`` is not a primary outcome of the patient analyses.
    """
    settings = dict(config["power"])
    patients = config["betterback"]["analyses"]["patients"]
    primary = [o["score"] for o in patients["outcomes"] if o.get("primary")]
    outcome = settings["outcome"] or (primary[0] if primary else None)
    if outcome not in primary:
        raise ConfigError(
            f"power.outcome: {outcome!r} is not a primary outcome of "
            f"betterback.analyses.patients (primary: {primary}); only primary outcomes "
            "have the model data power is planned from"
        )
    settings.update(
        outcome=outcome,
        timepoint=patients["primary_timepoint"],
        df_method=settings["df_method"] or patients["df_method"],
        seed=config["seed"] if settings["seed"] is None else settings["seed"],
    )
    return settings


def scenario_ids(settings: Mapping) -> list[str]:
    """Ids of the scenarios the workflow computes (no ``observed`` with a planned schedule)."""
    ids = [s["id"] for s in scenario_grid(settings)]
    return [i for i in ids if not (i == OBSERVED and settings["schedule"])]


def n_chunks(settings: Mapping) -> int:
    """Return the number of simulation chunks per scenario."""
    return math.ceil(settings["sims"] / settings["chunk_size"])


def _read(path: str) -> pd.DataFrame:
    return read_table_csv(path)


@declare(inputs=("variance_components", "analysis_data", "schedule", "clinics"))
def power_spec_step(settings: Mapping, inputs: Mapping[str, str], output: str) -> None:
    """Plan the scenario specs from the trial's results; write them as YAML."""
    outcome = settings["outcome"]
    data = _read(inputs["analysis_data"])
    columns = [c for c in (outcome, f"{outcome}_baseline") if c in data.columns]
    trial = observed_design(
        _read(inputs["variance_components"]),
        data,
        _read(inputs["schedule"]),
        _read(inputs["clinics"]),
        outcome,
        settings["timepoint"],
        columns,
    )
    specs = scenario_specs(trial, settings, settings["seed"], settings["df_method"])
    for scenario in specs.values():
        load_power_spec(scenario["spec"], source="power")  # refuse impossible plans early
    summary = {
        "outcome": outcome,
        "timepoint": settings["timepoint"],
        "sd": trial.sd,
        "icc": trial.icc,
        "var_cluster": trial.var_cluster,
        "var_individual": trial.var_individual,
        "clinics": sum(trial.clusters_per_sequence.values()),
        "clusters_per_sequence": trial.clusters_per_sequence,
        "schedule": trial.schedule,
        "mean_recruited": trial.mean_recruited,
        "size_cv": trial.size_cv,
        "dropout": trial.dropout,
    }
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump({"trial": summary, "scenarios": specs}, Dumper=_PlainDumper, sort_keys=False)
    Path(output).write_text(text, encoding="utf-8")


class _PlainDumper(yaml.SafeDumper):
    """Safe YAML without anchors and aliases (each scenario reads on its own)."""

    def ignore_aliases(self, data) -> bool:
        return True


def _scenarios(path: str) -> tuple[dict, dict]:
    content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return content["trial"], content["scenarios"]


def _labelled(table: pd.DataFrame, scenario: str, meta: Mapping) -> pd.DataFrame:
    labels = {"scenario": scenario, **{k: meta[k] for k in SCENARIO_COLUMNS[1:]}}
    return table.assign(**labels)[[*SCENARIO_COLUMNS, *table.columns]]


@declare()
def power_analytic_step(scenarios: str, output: str) -> None:
    """Analytic power of every scenario and effect."""
    _, specs = _scenarios(scenarios)
    parts = [
        _labelled(analytic_power(load_power_spec(meta["spec"], source=name)), name, meta)
        for name, meta in specs.items()
    ]
    write_csv(pd.concat(parts, ignore_index=True), output)


@declare()
def power_simulate_chunk_step(
    scenarios: str, scenario: str, chunk: int, chunk_size: int, output: str
):
    """Simulate and analyse one chunk of one scenario (reproducible on its own)."""
    _, specs = _scenarios(scenarios)
    spec = load_power_spec(specs[scenario]["spec"], source=scenario)
    indices = range(chunk * chunk_size, min(spec.sims, (chunk + 1) * chunk_size))
    write_csv(run_simulations(spec, scenario, indices).assign(scenario=scenario), output)


@declare(inputs=("scenarios", "chunks"))
def power_aggregate_step(scenarios: str, chunks: Sequence[str], output: str) -> None:
    """Summarise every scenario's simulations (power, type I error, coverage, MC SEs)."""
    _, specs = _scenarios(scenarios)
    runs = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in chunks])
    parts = []
    for name, meta in specs.items():
        spec = load_power_spec(meta["spec"], source=name)
        sims = runs[runs["scenario"] == name].sort_values("sim")
        if len(sims) != spec.sims:
            raise ConfigError(f"power: scenario {name} has {len(sims)} of {spec.sims} simulations")
        parts.append(_labelled(summarise_simulations(sims, spec), name, meta))
    write_csv(pd.concat(parts, ignore_index=True), output)


@declare(
    inputs=("scenarios", "analytic", "simulation"),
    outputs=("table", "reference", "tables", "figure", "png", "fragment"),
)
def power_report_step(
    config: Mapping, settings: Mapping, inputs: Mapping[str, str], outputs: Mapping[str, str]
) -> None:
    """Power table (CSV/HTML/LaTeX/DOCX), power curves and the "Design and power" fragment."""
    trial, _ = _scenarios(inputs["scenarios"])
    tables = [pd.read_csv(inputs["analytic"])]
    if inputs.get("simulation"):
        tables.append(pd.read_csv(inputs["simulation"]))
    table = pd.concat(tables, ignore_index=True)
    write_power_report(config, settings, trial, table, reference_effect(settings), outputs)


def write_power_report(
    config: Mapping,
    settings: Mapping,
    trial: Mapping,
    table: pd.DataFrame,
    effect: float,
    outputs: Mapping[str, str],
) -> None:
    """Write the power table, the power curves and the report fragment."""
    table = table.assign(order=table["method"].map(METHOD_ORDER))
    table = table.sort_values(["scenario", "effect", "order"], ascending=[True, False, True])
    table = table.drop(columns="order").reset_index(drop=True)
    write_csv(table, outputs["table"])
    grid = table[table["scenario"] != OBSERVED]
    figure = power_curves(
        grid, effect, trial["clinics"], trial["mean_recruited"], settings["alpha"]
    )
    png = save_figure(figure, outputs["figure"])[1]
    simulated = bool((table["method"] == "simulation").any())
    reference = table[np.isclose(table["effect"], effect)]
    write_csv(reference, outputs["reference"])
    columns = [c for c in [*COLUMNS, "n_singular"] if c in reference.columns]
    block = publish_table(
        reference,
        outputs["tables"],
        "power",
        config,
        TableBlock(
            outputs["reference"],
            columns=columns,
            labels=LABELS,
            max_rows=300,
            caption=f"Design-based power at the effect of reference ({effect:g}) per scenario",
            rounding=[
                {
                    "columns": "power|power_mc_se|type1_.*|coverage|icc",
                    "style": "fixed",
                    "digits": 3,
                },
                *config["reporting"]["tables"]["rounding"],
            ],
            notes=[
                f"All effects: {outputs['table']}. Design-based power of each design under "
                "the assumed effect, not post-hoc power of the observed effect."
            ],
        ),
    )
    blocks = [
        TextBlock(assumptions(trial, settings, effect, simulated)),
        block,
        FigureBlock(
            str(png),
            caption="Power against clinics and against individuals per "
            "clinic-period, one line per ICC",
            data=[outputs["table"]],
        ),
    ]
    write_fragment(outputs["fragment"], [ReportEntry("design", "Design and power", blocks)])
