"""Workflow steps of the PREPARE analyses: read the tables, analyse, write results and fragments.

Each ``*_step`` takes the config (a plain dict with ``prepare``, ``seed``,
``privacy``, ``reporting`` and ``instruments_dir``), explicit paths and the
resolved settings (``settings``, the Snakefile's; resolved from the config
when not given), so a Snakemake script of a few lines calls it and a test can
call it directly.
The report entries are built in :mod:`trialanalysis.analyses.prepare.text`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from trialanalysis.analyses.common.settings import thaw
from trialanalysis.analyses.prepare import text as fragments
from trialanalysis.analyses.prepare.cace import cace_table
from trialanalysis.analyses.prepare.data import PrepareData, analysis_data
from trialanalysis.analyses.prepare.effect_sizes import effect_size_table
from trialanalysis.analyses.prepare.figures import forest_figure, path_diagram, trajectory_figure
from trialanalysis.analyses.prepare.mediation import run_mediation
from trialanalysis.analyses.prepare.missing import missing_data_analyses
from trialanalysis.analyses.prepare.models import (
    ancova_check,
    arm_differences,
    cell_means,
    coefficient_table,
    fit_outcome_model,
    least_squares_row,
    model_diagnostics,
    secondary_model_inputs,
)
from trialanalysis.analyses.prepare.multiplicity import primary_family_p
from trialanalysis.analyses.prepare.responders import dose_table, responder_table
from trialanalysis.analyses.prepare.settings import (
    PrepareSettings,
    resolve_prepare,
    resolve_settings,
)
from trialanalysis.analyses.prepare.table1 import table1
from trialanalysis.errors import ConfigError
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.definitions import better_directions
from trialanalysis.reporting.assemble import write_fragment
from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.labels import instrument_labels, run_labels
from trialanalysis.reporting.suppression import SuppressionRule
from trialanalysis.steps.io import declare, publish_table, read_table_csv, write_csv


def prepare_settings(config: Mapping, settings: PrepareSettings | None = None) -> PrepareSettings:
    """Return the resolved PREPARE settings: those given, or resolved from ``config``.

    The Snakefile resolves the settings once, before any job runs, and gives
    them to each rule as ``params.settings``; a step called on its own
    resolves them here
    (:func:`~trialanalysis.analyses.prepare.settings.resolve_prepare`), so it
    too reports every bad setting before it reads data.
    """
    if settings is None:
        return resolve_prepare(config, load_instruments(config["instruments_dir"]))
    if not isinstance(settings, PrepareSettings):
        raise TypeError(f"settings must be PrepareSettings, not {type(settings).__name__}")
    return settings


def load_analysis(
    config: Mapping, patients: str, outcomes: str, settings: PrepareSettings | None = None
) -> tuple[PrepareData, dict]:
    """Read patients and scored outcomes; return the data and the settings checked on them.

    Parameters
    ----------
    config : mapping
        The validated config (``instruments_dir``; ``prepare`` when
        ``settings`` are not given).
    patients, outcomes : path
        The validated patients and scored outcomes tables.
    settings : PrepareSettings, optional
        The resolved settings (the Snakefile's); default: resolved from ``config``.

    Returns
    -------
    PrepareData, dict
        The analysis data and a plain copy of ``prepare.analyses`` with the
        choices that depend on the data filled in
        (:func:`~trialanalysis.analyses.prepare.settings.resolve_settings`).
    """
    trial = prepare_settings(config, settings)
    data = analysis_data(
        read_table_csv(patients),
        read_table_csv(outcomes),
        list(trial.arms),
        list(trial.timepoints),
    )
    return data, resolve_settings(thaw(trial.analyses), data)


def score_labels(instruments_dir: str | Path) -> dict[str, str]:
    """Score column -> label with direction, from the instrument definitions."""
    return instrument_labels(load_instruments(instruments_dir))


@declare(
    inputs=("patients", "outcomes", "instruments"),
    outputs=("tables", "fragment"),
    folders=("instruments",),
)
def prepare_table1_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Write Table 1 by arm (``tables``: CSV and rendered formats) and its ``fragment``."""
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    labels = score_labels(config["instruments_dir"])
    chosen = settings["table1"]
    codes = run_labels(config)
    categories = {k: dict(v) for k, v in codes.categories.items()}
    table = table1(
        data, chosen["variables"], chosen["baseline_scores"], labels, chosen["median_iqr"],
        orders={k: list(v) for k, v in categories.items()}, category_labels=categories,
    )  # fmt: skip
    caption = "PREPARE: baseline characteristics by arm (no significance tests)"
    path = Path(next(p for p in outputs["tables"] if str(p).endswith(".csv")))
    arms = {arm: codes(arm) for arm in data.arms}
    sections = fragments.table1_sections(str(path), caption, arms)
    block = sections[0].blocks[1]
    publish_table(table, path.parent, path.stem, config, block)
    write_csv(table, path)
    write_fragment(outputs["fragment"], sections)


@declare(
    inputs=("patients", "outcomes", "instruments"),
    outputs=(
        "means",
        "differences",
        "coefficients",
        "ancova",
        "effect_sizes",
        "diagnostics",
        "analysed",
        "trajectories",
        "forest",
        "pngs",
        "fragment",
    ),
    folders=("instruments",),
)
def prepare_effects_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Mixed models of every outcome, EMMs, differences, ANCOVA check, effect sizes, figures.

    Outputs: ``means, differences, coefficients, ancova, effect_sizes,
    diagnostics, analysed`` (CSV), ``trajectories`` and ``forest`` (SVG, PNG
    beside) and ``fragment``.
    """
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    labels = score_labels(config["instruments_dir"])
    level, covariates = settings["conf_level"], settings["covariates"]
    primary, when = settings["primary_outcome"], settings["primary_timepoint"]
    means, differences, coefficients, checks, diagnostics, models = [], [], [], [], [], []
    analysed = []
    baseline_notes: list[str] = []
    rule = SuppressionRule.from_config(config)  # counts quoted in the notes
    for outcome in settings["outcomes"]:
        mixed, long, note = settings["mixed_model"], None, ""
        if outcome != primary:
            inputs_of = secondary_model_inputs(
                data, outcome, mixed, settings["missing_baseline"], rule.count
            )
            mixed, long, note = inputs_of.mixed, inputs_of.long, inputs_of.note
        model = fit_outcome_model(data, outcome, mixed, covariates, level, long)
        if note:
            baseline_notes.append(f"{outcome}: {note}")
        means.append(cell_means(model, data.baseline))
        analysed.append(analysed_patients(model, data).assign(outcome=outcome))
        difference = arm_differences(model)
        differences.append(difference)
        coefficients.append(coefficient_table(model))
        analysis = "primary" if outcome == primary else "secondary"
        diagnostics.append(model_diagnostics(model, f"{analysis} mixed model"))
        models.append(fragments.model_entry(model, settings, analysis))
        if when in model.follow_ups:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                check = ancova_check(data, outcome, when, covariates, level)
            checks += fragments.ancova_rows(difference, check, when)
            for covariance in settings["mixed_model"]["sensitivity"]:
                if covariance == model.covariance:
                    continue
                mixed = settings["mixed_model"]
                alt = fit_outcome_model(data, outcome, mixed, covariates, level, None, covariance)
                checks.append(fragments.model_row(arm_differences(alt), when, "sensitivity"))
                diagnostics.append(model_diagnostics(alt, f"sensitivity ({covariance})"))
            n_dropped = len(data.patients) - check["n"]
            diagnostics.append(
                least_squares_row(
                    f"ANCOVA check at {when}", outcome, check["n"], n_dropped, caught
                )
            )
        if outcome == primary:
            if when not in model.follow_ups:
                raise ConfigError(
                    f"the primary outcome {primary} has no observed value at the primary time "
                    f"point {when}; check prepare.analyses.primary_timepoint and the data"
                )
            primary_model = model
    write_csv(pd.concat(analysed, ignore_index=True), outputs["analysed"])
    results = {
        "means": pd.concat(means, ignore_index=True),
        "differences": pd.concat(differences, ignore_index=True),
        "coefficients": pd.concat(coefficients, ignore_index=True),
        "ancova": pd.DataFrame(checks),
        "diagnostics": pd.DataFrame(diagnostics),
    }
    results["differences"]["p_adjusted"] = primary_family_p(
        results["differences"], settings, data.follow_ups
    )
    results["effect_sizes"] = effect_size_table(data, results["differences"], level)
    for key, frame in results.items():
        write_csv(frame, outputs[key])
    shown = run_labels(config)
    figures = {
        # figures show labels of arms and time points (the tables keep the codes)
        "trajectories": trajectory_figure(
            shown.relabel(results["means"], ["arm", "timepoint"]),
            [shown(a) for a in data.arms],
            [shown(t) for t in data.timepoints],
            labels,
        ),
        "forest": forest_figure(
            shown.relabel(results["effect_sizes"], ["arm", "timepoint"]),
            shown.relabel(results["differences"], ["timepoint"]),
            [shown(t) for t in data.follow_ups],
            labels,
            better_directions(load_instruments(config["instruments_dir"])),
        ),
    }
    png = {key: str(save_figure(fig, outputs[key])[1]) for key, fig in figures.items()}
    write_fragment(
        outputs["fragment"],
        fragments.effects_sections(
            outputs,
            png,
            results,
            primary_model,
            settings,
            config["privacy"]["min_cell_size"],
            len(data.patients),
            baseline_notes,
        ),
        models,
    )


def analysed_patients(model, data: PrepareData) -> pd.DataFrame:
    """``patient_id, timepoint`` of the rows in one outcome's model (and their baselines).

    With the baseline as covariate, the baseline visit of every patient with
    a follow-up in the model is counted as analysed too.
    """
    used = model.used[["patient_id", "timepoint"]]
    if model.design == "covariate":
        baseline = pd.DataFrame(
            {"patient_id": used["patient_id"].unique(), "timepoint": data.baseline}
        )
        used = pd.concat([baseline, used], ignore_index=True)
    order = {t: i for i, t in enumerate(data.timepoints)}
    used = used.assign(_order=used["timepoint"].map(order))
    used = used.sort_values(["patient_id", "_order"]).drop(columns="_order")
    return used.drop_duplicates().reset_index(drop=True)


@declare(inputs=("patients", "outcomes"), outputs=("responders", "dose", "fragment"))
def prepare_responders_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Write responders by arm and the per-protocol dose comparison (``responders``, ``dose``)."""
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    level = settings["conf_level"]
    responders, dose = settings["responders"], settings["dose"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = responder_table(data, responders["definitions"], responders["timepoints"], level)
        doses = dose_table(data, dose["outcomes"], dose["timepoints"], dose["threshold"], level)
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    write_csv(table, outputs["responders"])
    write_csv(doses, outputs["dose"])
    write_fragment(
        outputs["fragment"],
        fragments.responder_sections(
            outputs, data.arms, settings, config["privacy"]["min_cell_size"], messages
        ),
    )


@declare(
    inputs=("patients", "outcomes", "instruments"),
    outputs=("effects", "paths", "diagnostics", "diagram", "png", "fragment"),
    folders=("instruments",),
)
def prepare_mediation_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Mediation analyses (``effects``, ``paths``, ``diagnostics``, ``diagram`` SVG + PNG)."""
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    labels = score_labels(config["instruments_dir"])
    mediation = settings["mediation"]
    results = run_mediation(data, mediation, config["seed"], settings["conf_level"])
    effects, paths = results.effects, results.paths
    write_csv(effects, outputs["effects"])
    write_csv(paths, outputs["paths"])
    write_csv(results.diagnostics, outputs["diagnostics"])
    exposure = f"{data.arms[1]}\nvs {data.arms[0]}".replace("_", " ")
    png = save_figure(path_diagram(effects, paths, exposure, labels), outputs["diagram"])[1]
    write_fragment(outputs["fragment"], fragments.mediation_sections(outputs, str(png), mediation))


@declare(
    inputs=("patients", "outcomes"),
    outputs=("comparison", "imputations", "diagnostics", "fragment"),
)
def prepare_missing_data_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Likelihood-based, multiple-imputation and complete-case analyses side by side.

    Outputs: ``comparison``, ``imputations``, ``diagnostics`` (CSV) and ``fragment``.
    """
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    results = missing_data_analyses(data, settings, config["seed"])
    write_csv(results.comparison, outputs["comparison"])
    write_csv(results.imputations, outputs["imputations"])
    write_csv(results.diagnostics, outputs["diagnostics"])
    write_fragment(
        outputs["fragment"], fragments.missing_data_sections(outputs, settings, config["seed"])
    )


@declare(
    inputs=("patients", "outcomes", "instruments"),
    outputs=("table", "fragment"),
    folders=("instruments",),
)
def prepare_cace_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Complier-average causal effect beside ITT and the per-protocol dose comparison.

    Outputs: ``table`` (CSV) and ``fragment``.
    """
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    cace, level = settings["cace"], settings["conf_level"]
    dose = dose_table(
        data, cace["outcomes"], cace["timepoints"], settings["dose"]["threshold"], level
    )
    table = cace_table(
        data, cace["outcomes"], cace["timepoints"], cace["threshold"], dose, cace["vcov"], level
    )
    write_csv(table, outputs["table"])
    write_fragment(
        outputs["fragment"], fragments.cace_sections(outputs, table, settings, data.arms)
    )
