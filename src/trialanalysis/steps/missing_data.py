"""Workflow steps of the missing-data analyses beyond MAR, for both trials.

- :func:`betterback_missing_data_step`: multiple imputation at every
  follow-up using earlier follow-ups (beside the likelihood analysis), the
  delta-adjusted analysis with its tipping points at the primary time point,
  and completers versus non-completers at baseline;
- :func:`prepare_tipping_point_step`: the delta-adjusted analysis of the
  primary outcome and completers versus non-completers at baseline.

Each writes tidy CSV, a tipping-point figure and a report fragment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialanalysis.analyses.betterback.data import baseline_covariates
from trialanalysis.analyses.betterback.missing import delta_adjusted, impute, mi_effects
from trialanalysis.analyses.betterback.settings import BetterBackSettings
from trialanalysis.analyses.betterback.table1 import DEFAULT_LABELS
from trialanalysis.analyses.common.completers import (
    completer_variables,
    completers_display,
    completers_table,
)
from trialanalysis.analyses.common.settings import thaw
from trialanalysis.analyses.prepare.settings import PrepareSettings
from trialanalysis.analyses.prepare.tipping import LABEL, delta_adjusted_analysis
from trialanalysis.reporting.assemble import write_fragment
from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.model_checks import tipping_point_figure
from trialanalysis.reporting.sections import FigureBlock, ReportEntry, TableBlock, TextBlock
from trialanalysis.steps.betterback import _patient_results, betterback_settings
from trialanalysis.steps.io import declare, write_csv
from trialanalysis.steps.prepare import load_analysis, score_labels

# the tipping-point columns the report shows for both trials
TIPPING_COLUMNS = [
    "outcome",
    "timepoint",
    "arms",
    "significance_low",
    "significance_high",
    "significance_low_sd",
    "significance_high_sd",
]
ARMS_TEXT = {
    "intervention": "the intervention arm",
    "control": "the control arm",
    "both": "both arms",
}


def tipping_text(points: pd.DataFrame, labels: Mapping[str, str], grid_sd: Sequence) -> str:
    """One sentence per outcome: the tipping point(s) or that none lies in the grid."""
    span = f"{min(min(grid_sd), 0):g} to {max(max(grid_sd), 0):g} baseline SDs"
    lines = []
    for row in points.to_dict("records"):
        found = [
            f"{row[k]:.2f} ({row[f'{k}_sd']:.2f} SD)"
            for k in ("significance_low", "significance_high")
            if np.isfinite(row[k])
        ]
        name = labels.get(row["outcome"], row["outcome"])
        if found:
            lines.append(
                f"- {name} at {row['timepoint']}: the conclusion (95% CI excluding 0 or not) "
                f"changes at delta = {' and '.join(found)}."
            )
        else:
            lines.append(
                f"- {name} at {row['timepoint']}: no tipping point within {span} "
                f"(delta from {row['baseline_sd'] * min(min(grid_sd), 0):.2f} to "
                f"{row['baseline_sd'] * max(max(grid_sd), 0):.2f}); the conclusion holds."
            )
    return "\n".join(lines)


# ------------------------------------------------------------------ BetterBack
@declare(
    inputs=("patients", "clinics", "patient_scores", "instruments"),
    outputs=("imputation", "delta_grid", "tipping", "completers", "figure", "png", "fragment"),
    folders=("instruments",),
)
def betterback_missing_data_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """MI with earlier follow-ups, delta adjustment, completers table (BetterBack).

    Outputs: ``imputation``, ``delta_grid``, ``tipping``, ``completers``
    (CSV), ``figure`` (SVG, PNG beside) and ``fragment``.
    """
    trial = betterback_settings(config, settings)
    settings, timepoints, tables, results = _patient_results(
        config, inputs, betterback_missing_data_step.files, trial
    )
    sensitivity = thaw(trial.sensitivity)
    imputation, delta = sensitivity["multiple_imputation"], sensitivity["delta_adjustment"]
    key = "betterback.analyses.sensitivity"
    specs = {s: spec for s, spec in results.specs.items() if spec.outcome.primary}
    labels = {s: spec.outcome.label for s, spec in results.specs.items()}
    scores = tables["patient_scores"]
    design, covariates = baseline_covariates(
        tables["design"], scores, settings["covariates"], timepoints[0], key
    )
    primary = settings["primary_timepoint"]
    observed = scores[scores["timepoint"].astype(str) == primary].set_index("patient_id")
    complete = observed[list(specs)].notna().all(axis=1)
    completer = design["patient_id"].map(complete).fillna(False).astype(bool)
    base = scores[scores["timepoint"].astype(str) == timepoints[0]].set_index("patient_id")
    frame = design.join(base[list(specs)], on="patient_id")
    characteristics = list(trial.table1["patient_characteristics"])
    variables = completer_variables(
        [*characteristics, *specs],
        {**DEFAULT_LABELS, **labels},
        run_labels(config).categories,
    )
    completers = completers_table(
        frame, "condition", ["control", "intervention"], completer, variables
    )
    likelihood = results.effects[results.effects["outcome"].isin(list(specs))].assign(
        analysis="likelihood (each follow-up, baseline-adjusted; MAR given baseline)"
    )
    columns = ["outcome", "timepoint", "analysis", "estimate", "std_error", "df", "p_value",
               "conf_low", "conf_high", "riv", "fmi", "m"]  # fmt: skip
    if imputation["m"]:
        completed, missing = impute(
            design, scores, list(specs), timepoints, covariates, imputation, int(config["seed"])
        )
        pooled = mi_effects(design, completed, specs, settings, list(specs), timepoints)
        grid, points = delta_adjusted(
            design, completed, missing, specs, settings, delta, list(specs), timepoints
        )
    else:
        pooled, grid, points = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    table = pd.concat([likelihood, pooled], ignore_index=True).reindex(columns=columns)
    order = {t: i for i, t in enumerate(settings["timepoints"])}
    table = table.sort_values(
        ["outcome", "timepoint"], key=lambda c: c.map(order) if c.name == "timepoint" else c,
        kind="stable",
    )  # fmt: skip
    for name, written in (("imputation", table), ("delta_grid", grid), ("tipping", points),
                          ("completers", completers)):  # fmt: skip
        write_csv(written, outputs[name])
    arms = ARMS_TEXT[delta["arms"]]
    note = f"delta added to imputed values in {arms}"
    png = None
    if len(grid):
        fig = tipping_point_figure(grid, points, {s: labels[s] for s in specs}, note)
        png = str(save_figure(fig, outputs["figure"])[1])
    else:
        save_figure(tipping_point_figure(grid, points, {}, note), outputs["figure"])
    analysed = likelihood[likelihood["timepoint"] == primary].set_index("outcome")["n_obs"]
    population = (
        f"Primary analysis population at {primary}: all enrolled patients with the outcome at "
        f"baseline and at {primary} ("
        + ", ".join(f"{labels[s]}: {int(analysed[s])}" for s in specs if s in analysed.index)
        + f" of {len(design)} enrolled); the likelihood analysis assumes MAR given the "
        "baseline value, period and clinic. "
    )
    _betterback_fragment(
        config, settings, outputs, specs, labels, points, png, delta, imputation, population
    )


def _betterback_fragment(
    config, settings, outputs, specs, labels, points, png, delta, imputation, population
):
    primary = settings["primary_timepoint"]
    m = imputation["m"]
    key = "betterback.analyses.sensitivity"
    method = population + (
        f"Multiple imputation (config `{key}.multiple_imputation`: m = {m}, "
        f"{imputation['iterations']} iterations, {imputation['donors']} donors; seed "
        f"{config['seed']}): every enrolled patient's primary outcomes at baseline and at every "
        "follow-up imputed together by chained predictive mean matching, with calendar period "
        "and clinic as fixed-effect indicators (the clustering enters the imputation model as "
        "clinic fixed effects; treatment is dropped from it when it is a combination of clinic "
        "and period, as in a dog-leg design) and numeric covariates. A 6- or 12-month score is "
        "thereby imputed from the earlier follow-ups, so dropout that depends on them is MAR "
        "given the imputation model; the likelihood analysis of each follow-up conditions on "
        "baseline only. Each completed data set is analysed by the primary model; Rubin's "
        "rules with Barnard-Rubin df.\n\n"
        f"Beyond MAR (config `{key}.delta_adjustment`): the imputed values of each primary "
        f"outcome at {primary} in {ARMS_TEXT[delta['arms']]} are shifted by delta (grid "
        f"{', '.join(f'{g:g}' for g in delta['grid_sd'])} baseline SDs and 0) and the analysis "
        "is pooled again; the tipping point is the delta at which the 95% CI reaches 0 "
        f"(Brent's method, tolerance {delta['tolerance_sd']:g} SD). Positive delta: missing "
        "patients doing worse than MAR predicts (for these outcomes higher is worse)."
    )
    blocks = [TextBlock(method)]
    if m:
        blocks.append(TextBlock(tipping_text(points, labels, delta["grid_sd"])))
    blocks += [
        TableBlock(
            outputs["imputation"],
            caption="BetterBack: likelihood (MAR given "
            "baseline) and multiple imputation with earlier follow-ups, per follow-up",
            columns=[
                "outcome",
                "timepoint",
                "analysis",
                "estimate",
                "conf_low",
                "conf_high",
                "p_value",
                "fmi",
                "m",
            ],
            suppression={},
            max_rows=100,
        ),
        TableBlock(
            outputs["tipping"],
            caption="BetterBack: tipping points (delta in "
            "outcome units and baseline SDs; empty = none within the grid)",
            suppression={},
            columns=[*TIPPING_COLUMNS, "sign_low", "sign_high"],
        ),
    ]
    if png:
        blocks.append(
            FigureBlock(
                png,
                caption="BetterBack: delta-adjusted pooled effect "
                "(95% CI) against delta; dashed: tipping points",
                data=[outputs["delta_grid"], outputs["tipping"]],
            )
        )
    blocks.append(
        _completers_block(
            config,
            outputs["completers"],
            ["control", "intervention"],
            f"BetterBack: baseline of patients with every primary "
            f"outcome at {primary} (completers) and without",
        )
    )
    models = [
        {"trial": "betterback", "name": f"mi_{score}", "outcome": score, "formula": spec.formula,
         "df_method": settings["df_method"],
         "config_key": f"{key}.multiple_imputation",
         "missing_data": f"refitted on {m} imputed data sets (chained PMM with earlier "
         "follow-ups and clinic fixed effects), Rubin's rules; delta-adjusted (MNAR) "
         "tipping-point analysis at the primary time point."}
        for score, spec in specs.items()
    ] if m else []  # fmt: skip
    sections = [ReportEntry("sensitivity", "BetterBack: missing data beyond MAR", blocks)]
    write_fragment(outputs["fragment"], sections, models)


def _completers_block(
    config: Mapping, path: str, groups: Sequence[str], caption: str
) -> TableBlock:
    codes = run_labels(config)
    return TableBlock(
        path,
        caption=caption,
        **completers_display(groups, {g: codes(g) for g in groups}),
        notes=[
            "Cells as in the baseline tables: mean (SD) or n (%) of those with a value; the "
            "Missing rows count those without one. Standardised difference: non-completers "
            "minus completers, in pooled SDs. No tests."
        ],
        max_rows=200,
    )


# ------------------------------------------------------------------- PREPARE
@declare(
    inputs=("patients", "outcomes", "instruments"),
    outputs=("tipping", "delta_grid", "completers", "figure", "png", "fragment"),
    folders=("instruments",),
)
def prepare_tipping_point_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: PrepareSettings | None = None,
) -> None:
    """Delta-adjusted MI and tipping point of the PREPARE primary outcome; completers table.

    Outputs: ``delta_grid``, ``tipping``, ``completers`` (CSV), ``figure``
    (SVG, PNG beside) and ``fragment``.
    """
    data, settings = load_analysis(config, inputs["patients"], inputs["outcomes"], settings)
    labels = score_labels(config["instruments_dir"])
    outcome, when = settings["primary_outcome"], settings["primary_timepoint"]
    tipping = delta_adjusted_analysis(data, settings, int(config["seed"]))
    grid, points = tipping.grid, tipping.points
    observed = data.wide([outcome], [when])[f"{outcome}_{when}"].notna()
    completer = data.patients["patient_id"].map(observed).fillna(False).astype(bool)
    baseline = data.wide(list(dict.fromkeys([outcome, *settings["outcomes"]])), [data.baseline])
    baseline.columns = [c.removesuffix(f"_{data.baseline}") for c in baseline.columns]
    frame = data.patients.join(baseline, on="patient_id")
    variables = [*settings["table1"]["variables"], *baseline.columns]
    variables = completer_variables(variables, labels, run_labels(config).categories)
    completers = completers_table(frame, "arm", data.arms, completer, variables)
    for name, written in (("delta_grid", grid), ("tipping", points), ("completers", completers)):
        write_csv(written, outputs[name])
    delta, mi = settings["delta_adjustment"], settings["multiple_imputation"]
    note = f"delta added to imputed values in {ARMS_TEXT[delta['arms']]}"
    fig = tipping_point_figure(grid, points, {outcome: labels.get(outcome, outcome)}, note)
    png = str(save_figure(fig, outputs["figure"])[1])
    row = points.iloc[0]
    label = LABEL.format(m=mi["m"], outcome=outcome, timepoint=when, arms=delta["arms"])
    text = (
        f"Beyond MAR (config `prepare.analyses.delta_adjustment`): {label}. The data are "
        "imputed as in the multiple-imputation analysis (same seed and settings, "
        f"`prepare.analyses.multiple_imputation`), so delta = 0 is MI under MAR of all "
        f"{len(data.patients)} randomised patients; {100 * row['share_imputed']:.1f}% of "
        f"{outcome} values at {when} are imputed. Each completed data set is analysed by "
        f"ANCOVA at {when} (OLS, `{outcome}[{when}] ~ treatment + {outcome}[baseline]`; on "
        "complete data the unstructured MMRM gives the same estimate) and pooled by Rubin's "
        f"rules; delta runs over {', '.join(f'{g:g}' for g in delta['grid_sd'])} and 0 "
        f"baseline SDs (SD {row['baseline_sd']:.2f}); the tipping point is found by Brent's "
        f"method (tolerance {delta['tolerance_sd']:g} SD). Positive delta: missing patients "
        "doing worse than MAR predicts.\n\n" + tipping_text(points, labels, delta["grid_sd"])
    )
    blocks = [
        TextBlock(text),
        TableBlock(
            outputs["tipping"],
            caption="PREPARE: tipping point of the primary outcome (empty = none within the grid)",
            suppression={},
            columns=[*TIPPING_COLUMNS, "share_imputed", "m"],
        ),
        FigureBlock(
            png,
            caption="PREPARE: delta-adjusted pooled difference (95% CI) "
            "against delta; dashed: tipping points",
            data=[outputs["delta_grid"]],
        ),
        _completers_block(
            config,
            outputs["completers"],
            data.arms,
            f"PREPARE: baseline of patients with {outcome} at {when} "
            "(completers) and without, by arm",
        ),
    ]
    sections = [ReportEntry("sensitivity", "PREPARE: missing data beyond MAR", blocks)]
    write_fragment(outputs["fragment"], sections)
