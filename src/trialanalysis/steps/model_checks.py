"""Workflow steps of the model checks of the primary models, for both trials.

Each refits the trial's primary model(s) as the analysis step does, and
writes their residuals (standardised; normalized for an MMRM), the random
effects (BLUPs), the floor and ceiling shares of every outcome at every time
point (bounds from the instrument definitions), a figure of QQ plots and
residuals against fitted values, and a report fragment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.analyses.betterback.patients import primary_fit
from trialanalysis.analyses.betterback.settings import BetterBackSettings
from trialanalysis.analyses.prepare.models import fit_outcome_model
from trialanalysis.analyses.prepare.settings import PrepareSettings
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.scoring import score_range
from trialanalysis.models.floor_ceiling import floor_ceiling_table
from trialanalysis.models.mmrm import MMRMResult
from trialanalysis.models.residuals import residual_table
from trialanalysis.reporting.assemble import write_fragment
from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.model_checks import residual_figure
from trialanalysis.reporting.sections import Block, FigureBlock, ReportEntry, TableBlock, TextBlock
from trialanalysis.steps.betterback import _patient_results, betterback_settings
from trialanalysis.steps.io import declare, write_csv
from trialanalysis.steps.prepare import load_analysis, score_labels

RESIDUAL_TEXT = (
    "Model checks of the primary model(s): normal QQ plots of the standardised residuals "
    "(conditional on the random effects, divided by the residual SD; for an MMRM the "
    "normalized residuals, each patient's residuals premultiplied by the inverse Cholesky "
    'factor of the estimated covariance, as nlme\'s `residuals(type = "normalized")`), of '
    "the random effects (BLUPs divided by their SD) and residuals against fitted values."
)


def score_bounds(config: Mapping, columns: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Lowest and highest possible value of score columns, from the instrument definitions."""
    options = config.get("scoring", {}).get("options", {})
    bounds = {}
    for instrument in load_instruments(config["instruments_dir"]).values():
        for score in instrument.scores.values():
            if score.column in columns:
                bounds[score.column] = score_range(
                    instrument, score.name, options.get(instrument.name)
                )
    return {c: bounds[c] for c in columns if c in bounds}


def floor_ceiling_text(table: pd.DataFrame, threshold: float, key: str) -> str:
    """Sentence naming every outcome and time point above the threshold."""
    flagged = table[table["note"] != ""]
    head = (
        f"Floor and ceiling: share of responses at the lowest and highest possible score "
        f"(config `{key}.diagnostics.floor_ceiling_threshold`: notes above {threshold:g}%)"
    )
    if flagged.empty:
        return f"{head}: no outcome exceeds it at any time point."
    items = "; ".join(f"{r.outcome} at {r.timepoint}: {r.note}" for r in flagged.itertuples())
    return (
        f"{head}: {items}. A linear model still estimates the mean difference under "
        "randomisation, but its residuals are skewed near the bound (see the QQ plots) and "
        "an effect can be attenuated where many patients cannot improve further."
    )


def _write(outputs, residuals, blups, floor, titles) -> str:
    write_csv(residuals, outputs["residuals"])
    write_csv(blups, outputs["random_effects"])
    write_csv(floor, outputs["floor_ceiling"])
    return str(save_figure(residual_figure(residuals, blups, titles), outputs["figure"])[1])


def _random_effects(fit, model: str) -> pd.DataFrame:
    if isinstance(fit, MMRMResult):
        return pd.DataFrame(columns=["model", "group", "level", "term", "estimate", "cond_sd"])
    return fit.random_effects().assign(model=model)


def _blocks(text: str, outputs, png: str, caption: str) -> list[Block]:
    return [
        TextBlock(text),
        FigureBlock(png, caption=caption, data=[outputs["residuals"], outputs["random_effects"]]),
        TableBlock(
            outputs["floor_ceiling"],
            caption="Floor and ceiling shares per outcome and time point",
            suppression={},
            max_rows=200,
            columns=["outcome", "timepoint", "n", "floor_pct", "ceiling_pct", "note"],
        ),
    ]


@declare(
    inputs=("patients", "clinics", "patient_scores", "instruments"),
    outputs=("residuals", "random_effects", "floor_ceiling", "figure", "png", "fragment"),
    folders=("instruments",),
)
def betterback_model_checks_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Residuals, clinic effects and floor/ceiling of the BetterBack primary models."""
    trial = betterback_settings(config, settings)
    settings, timepoints, tables, results = _patient_results(
        config, inputs, betterback_model_checks_step.files, trial
    )
    residuals, blups, titles = [], [], {}
    for score, spec in results.specs.items():
        fit = primary_fit(results, settings, score) if spec.outcome.primary else None
        if fit is None:
            continue
        residuals.append(residual_table(fit).assign(model=score))
        blups.append(_random_effects(fit, score))
        titles[score] = f"{spec.outcome.label} ({settings['primary_timepoint']})"
    scores = tables["patient_scores"]
    outcomes = list(results.specs)
    threshold = trial.diagnostics["floor_ceiling_threshold"]
    floor = floor_ceiling_table(scores, score_bounds(config, outcomes), timepoints, threshold)
    residual_frame = pd.concat(residuals, ignore_index=True) if residuals else pd.DataFrame(
        columns=["row", "fitted", "residual", "standardized", "model"]
    )  # fmt: skip
    png = _write(outputs, residual_frame, pd.concat(blups, ignore_index=True), floor, titles)
    text = RESIDUAL_TEXT + "\n\n" + floor_ceiling_text(floor, threshold, "betterback.analyses")
    blocks = _blocks(
        text,
        outputs,
        png,
        "BetterBack primary models: residual QQ, clinic-effect "
        "QQ, residuals against fitted values",
    )
    write_fragment(
        outputs["fragment"],
        [ReportEntry("diagnostics", "BetterBack: model checks", blocks)],
    )


@declare(
    inputs=("patients", "outcomes", "instruments"),
    outputs=("residuals", "random_effects", "floor_ceiling", "figure", "png", "fragment"),
    folders=("instruments",),
)
def prepare_model_checks_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Residuals and floor/ceiling of the PREPARE primary model."""
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    labels = score_labels(config["instruments_dir"])
    primary = settings["primary_outcome"]
    model = fit_outcome_model(
        data, primary, settings["mixed_model"], settings["covariates"], settings["conf_level"]
    )
    residuals = residual_table(model.fit).assign(model=primary)
    blups = _random_effects(model.fit, primary)
    threshold = settings["diagnostics"]["floor_ceiling_threshold"]
    bounds = score_bounds(config, settings["outcomes"])
    floor = floor_ceiling_table(data.long, bounds, data.timepoints, threshold)
    titles = {primary: f"{labels.get(primary, primary)}: {model.covariance} model"}
    png = _write(outputs, residuals, blups, floor, titles)
    text = RESIDUAL_TEXT + "\n\n" + floor_ceiling_text(floor, threshold, "prepare.analyses")
    caption = f"PREPARE primary model (`{model.formula}`): residual QQ, residuals against fitted"
    write_fragment(
        outputs["fragment"],
        [
            ReportEntry(
                "diagnostics", "PREPARE: model checks", _blocks(text, outputs, png, caption)
            )
        ],
    )
