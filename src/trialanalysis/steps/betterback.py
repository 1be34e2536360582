"""Workflow steps of the BetterBack analyses (see ``workflow/rules/betterback.smk``).

Design, table 1 and therapist analyses; the patient trial's Hussey & Hughes
models with ICCs and clinic effects, binary outcomes by GEE, and sensitivity
analyses. Each step takes the validated config (a plain dict with the keys
``betterback``, ``reporting``, ``privacy``, ``seed`` and ``instruments_dir``),
input paths, output paths and the resolved settings (``settings``, the
Snakefile's; resolved from the config when not given); it writes tidy CSV
tables, manuscript tables (into the ``tables`` folder), figures and a report
fragment.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trialanalysis.analyses.betterback import text
from trialanalysis.analyses.betterback.binary import COLUMNS as BINARY_COLUMNS
from trialanalysis.analyses.betterback.binary import binary_outcomes, responder_columns
from trialanalysis.analyses.betterback.clusters import (
    ICC_COLUMNS,
    clinic_effects,
    outcome_icc_table,
    variance_component_table,
)
from trialanalysis.analyses.betterback.data import (
    CONDITIONS,
    check_columns,
    patient_design,
    therapist_long,
)
from trialanalysis.analyses.betterback.figures import (
    caterpillar_figure,
    domain_profile_figure,
    forest_figure,
    period_figure,
    therapist_trajectory_figure,
    trajectory_figure,
)
from trialanalysis.analyses.betterback.inference import (
    both_condition_periods,
    inference_set,
    min_attainable_p,
)
from trialanalysis.analyses.betterback.patients import (
    analysed_patients,
    hussey_hughes,
    primary_fit,
)
from trialanalysis.analyses.betterback.periods import (
    DESIGN_EFFECT_COLUMNS,
    cluster_period_table,
    period_means,
    stepped_design_effects,
)
from trialanalysis.analyses.betterback.sensitivity import sensitivity_analyses
from trialanalysis.analyses.betterback.settings import BetterBackSettings, resolve_betterback
from trialanalysis.analyses.betterback.table1 import (
    clinic_table,
    columns,
    patient_table,
    therapist_table,
)
from trialanalysis.analyses.betterback.therapists import (
    associations,
    mixed_analysis,
    published_analysis,
)
from trialanalysis.analyses.betterback.trajectories import condition_trajectories
from trialanalysis.analyses.common.baseline import baseline_note, display
from trialanalysis.analyses.common.fits import DIAGNOSTICS_COLUMNS
from trialanalysis.analyses.common.settings import thaw
from trialanalysis.analyses.common.tables import column_labels, count_suppression
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.definitions import better_directions
from trialanalysis.reporting.assemble import SUMMARY_RANK, write_fragment
from trialanalysis.reporting.figures import design_schematic, save_figure
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.sections import (
    CodeBlock,
    FigureBlock,
    ReportEntry,
    TableBlock,
    TextBlock,
)
from trialanalysis.steps.io import (
    StepFiles,
    declare,
    publish_table,
    read_table_csv,
    read_tables,
    write_csv,
)

MISSING_COUNTS = {"columns": ".*_missing", "style": "integer"}
# the estimate columns the report shows of a model table
ESTIMATE_COLUMNS = ["estimate", "conf_low", "conf_high", "df", "p_value", "p_adjusted"]


def betterback_settings(
    config: Mapping, settings: BetterBackSettings | None = None
) -> BetterBackSettings:
    """Return the resolved BetterBack settings: those given, or resolved from ``config``.

    The Snakefile resolves the settings once, before any job runs, and gives
    them to each rule as ``params.settings``; a step called on its own (a
    test, a notebook) resolves them here
    (:func:`~trialanalysis.analyses.betterback.settings.resolve_betterback`), so
    it too reports every bad setting before it reads data.
    """
    if settings is None:
        return resolve_betterback(config, load_instruments(config["instruments_dir"]))
    if not isinstance(settings, BetterBackSettings):
        raise TypeError(f"settings must be BetterBackSettings, not {type(settings).__name__}")
    return settings


def instruments_and_labels(config: Mapping):
    """Return the instrument definitions and the column labels they give."""
    instruments = load_instruments(config["instruments_dir"])
    return instruments, column_labels(instruments)


def rounding_rules(config: Mapping, *extra: Mapping) -> list[dict]:
    """Return extra rounding rules followed by the configured ones."""
    return [*extra, *config["reporting"]["tables"]["rounding"]]


def diagnostics_table(*frames) -> pd.DataFrame:
    """Concatenate diagnostics rows into one table with the standard columns."""
    parts = [pd.DataFrame(f) for f in frames if f is not None and len(f)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return table.reindex(columns=DIAGNOSTICS_COLUMNS)


def diagnostics_entry(title: str, path: str, caption: str) -> ReportEntry:
    """Report entry of a diagnostics table, under the report's diagnostics section."""
    block = TableBlock(
        path,
        caption=caption,
        suppression={},
        max_rows=200,
        notes=["One row per fitted model; warnings and boundary fits are never dropped."],
    )
    return ReportEntry("diagnostics", title, [block])


def design_tables(inputs: Mapping[str, str], files: StepFiles) -> dict[str, pd.DataFrame]:
    """Read a step's CSV inputs; add ``design`` (patients with cluster and treatment)."""
    tables = read_tables(inputs, files)
    if "patients" in tables and "clinics" in tables:
        tables["design"] = patient_design(tables["patients"], tables["clinics"])
    return tables


# ---------------------------------------------------------------- design
@declare(inputs=("schedule", "clinics"), outputs=("svg", "png", "fragment"))
def betterback_design_step(schedule: str, clinics: str, output: str, fragment: str) -> None:
    """Draw the BetterBack cluster x period schematic (SVG and PNG) and its report entry."""
    figure = design_schematic(read_table_csv(schedule), read_table_csv(clinics))
    written = save_figure(figure, output)
    block = FigureBlock(
        str(written[0]),
        caption="BetterBack: condition of each allocation cluster per period "
        "(blank: cluster not observed)",
        data=[schedule, clinics],
    )
    write_fragment(fragment, [ReportEntry("design", "BetterBack", [block])])


# ---------------------------------------------------------------- table 1
@declare(
    inputs=(
        "patients",
        "clinics",
        "therapists",
        "patient_scores",
        "therapist_scores",
        "instruments",
    ),
    outputs=("clinics", "therapists", "patients", "tables", "fragment"),
    folders=("instruments",),
)
def betterback_table1_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Baseline characteristics at clinic, therapist and patient level by condition."""
    trial = betterback_settings(config, settings)
    settings = thaw(trial.table1)
    instruments, labels = instruments_and_labels(config)
    codes = run_labels(config)
    orders = {
        c.column: list(c.labels) for i in instruments.values() for c in i.classifications.values()
    }
    orders |= {k: list(v) for k, v in codes.categories.items()}  # clinical order from config
    tables = design_tables(inputs, betterback_table1_step.files)
    patient_scores = tables["patient_scores"]
    therapist_scores = tables["therapist_scores"]
    medians = settings["median_iqr"]
    built = {
        "patients": patient_table(
            tables["design"],
            patient_scores[patient_scores["timepoint"] == trial.patient_timepoints[0]],
            settings["patient_characteristics"],
            settings["patient_baseline_scores"],
            labels,
            orders,
            medians,
            codes.categories,
        ),
        "therapists": therapist_table(
            tables["design"],
            tables["therapists"],
            therapist_scores[therapist_scores["timepoint"] == trial.therapist_timepoints[0]],
            settings["therapist_characteristics"],
            settings["therapist_baseline_scores"],
            labels,
            medians,
            codes.categories,
        ),
        "clinics": clinic_table(tables["design"]),
    }
    captions = {
        "patients": "BetterBack: patient characteristics at baseline by condition",
        "therapists": "BetterBack: therapists by condition in which they treated patients",
        "clinics": "BetterBack: clinics and cluster sizes by condition",
    }
    note = baseline_note(
        "Clinics and therapists appear under every condition in which they enrolled or "
        "treated patients; Overall counts each once."
    )
    blocks = [TextBlock(note)]
    for name in ("patients", "therapists"):
        write_csv(built[name], outputs[name])
        shown = display(CONDITIONS, {c: codes(c) for c in CONDITIONS}, name == "patients")
        block = TableBlock(outputs[name], caption=captions[name], **shown)
        blocks.append(
            publish_table(built[name], outputs["tables"], f"table1_{name}", config, block)
        )
    write_csv(built["clinics"], outputs["clinics"])
    # the clinics table counts clinics (and sizes of clinics), not individuals
    clinic_counts = {"not_counts": [c for c in columns() if c.endswith("_n")]}
    clinics = TableBlock(
        outputs["clinics"],
        caption=captions["clinics"],
        columns=[c for c in built["clinics"].columns if c not in ("level", "category")],
        suppression=clinic_counts,
    )
    clinics = publish_table(built["clinics"], outputs["tables"], "clinics", config, clinics)
    write_fragment(
        outputs["fragment"],
        [
            ReportEntry("table1", "BetterBack: baseline characteristics", blocks),
            ReportEntry("design", "BetterBack: clinics", [clinics]),
        ],
    )


# ---------------------------------------------------------- therapist cohort
@declare(
    inputs=("therapists", "therapist_scores", "instruments"),
    outputs=(
        "anova",
        "pairwise",
        "emmeans",
        "contrasts",
        "associations",
        "diagnostics",
        "trajectories_figure",
        "trajectories_png",
        "profile_figure",
        "profile_png",
        "tables",
        "fragment",
    ),
    folders=("instruments",),
)
def betterback_therapists_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Therapist cohort: published RM-ANOVA, mixed models, associations, figures."""
    trial = betterback_settings(config, settings)
    settings = thaw(trial.therapists)
    timepoints = list(trial.therapist_timepoints)
    instruments, labels = instruments_and_labels(config)
    tables = read_tables(inputs, betterback_therapists_step.files)
    long = therapist_long(tables["therapists"], tables["therapist_scores"], timepoints)
    domains = []
    if settings["domains_instrument"]:
        name = settings["domains_instrument"]
        domains = [s.column for s in instruments[name].scores.values()]
    where = "betterback.analyses.therapists"
    check_columns(settings["scores"] + domains, long.columns, where, "therapist scores")
    check_columns(settings["associations"]["outcomes"], long.columns, where, "therapist scores")
    scores = list(settings["scores"])
    published = published_analysis(
        long, scores + domains, timepoints, settings["anova_p_adjust"], labels
    )
    models = mixed_analysis(long, scores, domains, timepoints, settings, labels)
    emmeans, contrasts, diagnostics = models.emmeans, models.contrasts, models.diagnostics
    assoc = associations(
        long,
        domains,
        settings["associations"],
        labels,
        settings["df_method"],
        settings["p_adjust"],
    )
    results = {
        "anova": published.anova,
        "pairwise": published.pairwise,
        "emmeans": emmeans,
        "contrasts": contrasts,
        "associations": assoc.table,
        "diagnostics": diagnostics_table(diagnostics, assoc.diagnostics),
    }
    for name, table in results.items():
        write_csv(table, outputs[name])
    shown = run_labels(config)
    figures = {
        # figures show labels of time points (the tables keep the codes)
        "trajectories_figure": therapist_trajectory_figure(
            shown.relabel(emmeans, ["timepoint"]), scores, [shown(t) for t in timepoints]
        ),
        "profile_figure": domain_profile_figure(
            shown.relabel(emmeans, ["timepoint"]), domains, [shown(t) for t in timepoints]
        ),
    }
    png = {k: str(save_figure(fig, outputs[k])[1]) for k, fig in figures.items()}
    fragment_therapists(config, settings, outputs, results, png, scores, domains, timepoints)


def fragment_therapists(config, settings, outputs, results, png, scores, domains, timepoints):
    """Write the therapist cohort's manuscript tables and report fragment."""
    contrasts = results["contrasts"]
    cohort = f"Therapists ({text.THERAPIST_DESIGN})"
    captions = {
        "anova": f"{cohort}, published analysis: repeated-measures ANOVA on complete cases",
        "pairwise": f"{cohort}, published analysis: paired comparisons with {timepoints[0]}",
        "contrasts": f"{cohort}, mixed model: change from {timepoints[0]} (EMM contrasts)",
        "associations": f"{cohort} at {settings['associations']['timepoint']}: domain "
        f"scores (per {settings['associations']['per']:g} points) and outcomes",
    }
    rounding = rounding_rules(
        config, {"columns": "partial_eta_sq|gg_epsilon", "style": "fixed", "digits": 3}
    )
    formula = " + ".join(["score ~ timepoint", *settings["random_effects"]])
    results_blocks = [
        TextBlock(
            f"Published analysis: repeated-measures ANOVA over {', '.join(timepoints)} "
            "on therapists with every questionnaire (complete cases), partial eta squared "
            "and Greenhouse-Geisser epsilon. Recommended analysis: a linear mixed model "
            f"per score, `{formula}`, on all available questionnaires (MAR), with "
            f"estimated marginal means and {settings['df_method']} degrees of freedom. "
            + text.multiplicity_text(settings)
        ),
        TableBlock(
            outputs["anova"],
            caption=captions["anova"],
            rounding=rounding,
            columns=[
                "label",
                "n_complete",
                "f_value",
                "df_effect",
                "df_error",
                "p_value",
                "partial_eta_sq",
                "gg_epsilon",
                "gg_p_value",
            ],
            labels={
                "partial_eta_sq": "Partial eta²",
                "gg_epsilon": "GG epsilon",
                "gg_p_value": "p (GG)",
                "f_value": "F",
            },
        ),
        TableBlock(
            outputs["pairwise"],
            caption=captions["pairwise"],
            max_rows=100,
            columns=[
                "label",
                "contrast",
                "estimate",
                "conf_low",
                "conf_high",
                "p_value",
                "p_adjusted",
                "n_complete",
            ],
        ),
        TableBlock(
            outputs["contrasts"],
            caption=captions["contrasts"],
            max_rows=100,
            columns=["label", "family", "contrast", *ESTIMATE_COLUMNS],
        ),
        FigureBlock(
            png["trajectories_figure"],
            caption="Therapist scores over time "
            f"(mixed-model means, 95% CI; {text.THERAPIST_DESIGN})",
            data=[outputs["emmeans"]],
        ),
        FigureBlock(
            png["profile_figure"],
            caption="DIBQ domain profile over time "
            f"(mixed-model means, 95% CI; {text.THERAPIST_DESIGN})",
            data=[outputs["emmeans"]],
        ),
        TableBlock(
            outputs["associations"],
            caption=captions["associations"],
            max_rows=100,
            columns=["outcome_label", "domain_label", *ESTIMATE_COLUMNS, "n_obs"],
        ),
    ]
    models = [
        {"trial": "betterback", "name": f"therapists_{score}", "outcome": score,
         "formula": " + ".join([f"{score} ~ timepoint", *settings["random_effects"]]),
         "df_method": settings["df_method"], "config_key": "betterback.analyses.therapists",
         "missing_data": "all available questionnaires (MAR)"}
        for score in scores
    ]  # fmt: skip
    if domains:
        models.append(
            {"trial": "betterback", "name": "therapists_domains",
             "outcome": f"each of {len(domains)} domains ({settings['domains_instrument']})",
             "formula": " + ".join(["<domain> ~ timepoint", *settings["random_effects"]]),
             "df_method": settings["df_method"], "config_key": "betterback.analyses.therapists",
             "missing_data": "all available questionnaires (MAR)"}
        )  # fmt: skip
    assoc = settings["associations"]
    for outcome in assoc["outcomes"]:
        models.append(
            {"trial": "betterback", "name": f"therapists_association_{outcome}",
             "outcome": outcome,
             "formula": " + ".join([f"{outcome} ~ <domain>", *assoc["random_effects"]]),
             "df_method": settings["df_method"],
             "config_key": "betterback.analyses.therapists.associations",
             "missing_data": f"one model per domain; therapists answering at {assoc['timepoint']}"}
        )  # fmt: skip
    for block in results_blocks:
        name = next((k for k in captions if getattr(block, "table", None) == outputs[k]), None)
        if name:
            publish_table(results[name], outputs["tables"], f"therapists_{name}", config, block)
    sections = [
        ReportEntry(
            "summary",
            f"BetterBack therapists: {text.THERAPIST_DESIGN} changes",
            [TextBlock(text.therapist_summary(contrasts, scores, run_labels(config).unverified))],
            rank=SUMMARY_RANK["cohort"],
        ),
        ReportEntry(
            "results",
            f"BetterBack: therapist cohort ({text.THERAPIST_DESIGN})",
            results_blocks,
            rank=SUMMARY_RANK["cohort"],
        ),
        diagnostics_entry(
            "BetterBack: therapist models", outputs["diagnostics"], "Therapist models"
        ),
    ]
    write_fragment(outputs["fragment"], sections, models)


# --------------------------------------------------------------- forest plot
@declare(inputs=("effects", "binary"), outputs=("figure", "png", "fragment"))
def betterback_forest_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Forest plot of every patient outcome (continuous and binary)."""
    effects = pd.read_csv(inputs["effects"])
    binary = pd.read_csv(inputs["binary"])
    continuous = effects.rename(columns={"outcome_sd": "sd"})
    shown = run_labels(config)
    figure = forest_figure(
        shown.relabel(continuous, ["timepoint"]),
        shown.relabel(binary, ["timepoint"]),
        better_directions(load_instruments(config["instruments_dir"])),
    )
    png = save_figure(figure, outputs["figure"])[1]
    block = FigureBlock(
        str(png),
        caption="Forest plot of all patient outcomes, one panel per direction of benefit "
        "(each says which side favours the intervention): continuous outcomes as standardised "
        "differences (effect / SD of the outcome at that time point; raw effect and 95% CI "
        "at right, with the multiplicity-adjusted p of the primary family, "
        f"{betterback_settings(config, settings).patients['multiplicity']['method']}), binary "
        "outcomes as odds ratios",
        data=[inputs["effects"], inputs["binary"]],
    )
    write_fragment(
        outputs["fragment"],
        [ReportEntry("results", "BetterBack: all patient outcomes", [block])],
    )


EFFECT_COLUMNS = [
    "label", "timepoint", "role", *ESTIMATE_COLUMNS, "n_obs", "n_control", "n_intervention",
    "n_clinics",
]  # fmt: skip
MISSING_DATA = (
    "all patients with the outcome at the follow-up{baseline}; valid when missingness "
    "depends only on the variables in the model (MAR)"
)
DESIGN_EFFECT_LABELS = {
    "design_effect_stepped": "Design effect, stepped (Hooper 2016)",
    "design_effect_parallel": "Design effect, parallel (Eldridge 2006)",
    "cac": "Cluster autocorrelation",
}
ICC_LABELS = {
    "icc": "ICC",
    "design_effect": "Design effect, parallel (Eldridge 2006)",
    "design_effect_low": "Design effect 95% CI lower",
    "design_effect_high": "Design effect 95% CI upper",
    "n_clusters": "Clinics",
    "n_patients": "Patients",
    "size_mean": "Patients per clinic (mean)",
    "size_cv": "Cluster size CV",
}
# columns of the binary effects table not shown in the report
BINARY_HIDDEN = (
    "outcome",
    "kind",
    "n_obs",
    "n_clinics",
    "risk_control",
    "risk_intervention",
    "rd_p_value",
    "formula",
)
BINARY_LABELS = {
    "n_control": "Control n",
    "events_control": "Control events",
    "n_intervention": "Intervention n",
    "events_intervention": "Intervention events",
    "odds_ratio": "OR",
    "or_conf_low": "OR 95% CI lower",
    "or_conf_high": "OR 95% CI upper",
    "or_p_value": "p (OR)",
    "risk_difference": "Risk difference",
    "rd_conf_low": "RD 95% CI lower",
    "rd_conf_high": "RD 95% CI upper",
    "n_unclassified": "Not classifiable (baseline 0)",
}


# -------------------------------------------------------------- patient trial
def _patient_results(
    config: Mapping, inputs: Mapping[str, str], files: StepFiles, trial: BetterBackSettings
):
    """Fit the patient models; return their settings, time points, input tables and results."""
    settings = thaw(trial.patients)
    timepoints = list(trial.patient_timepoints)
    _, labels = instruments_and_labels(config)
    tables = design_tables(inputs, files)
    results = hussey_hughes(
        tables["design"], tables["patient_scores"], settings, timepoints, labels
    )
    return settings, timepoints, tables, results


@declare(
    inputs=("patients", "clinics", "patient_scores", "instruments"),
    outputs=(
        "effects",
        "coefficients",
        "icc",
        "variance_components",
        "clinic_effects",
        "trajectories",
        "diagnostics",
        "primary_coefficients",
        "primary_data",
        "analysed",
        "design_effects",
        "trajectories_figure",
        "trajectories_png",
        "caterpillar_figure",
        "caterpillar_png",
        "tables",
        "fragment",
    ),
    folders=("instruments",),
)
def betterback_patients_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Hussey & Hughes models, ICCs, clinic effects, trajectories and the analysed patients."""
    trial = betterback_settings(config, settings)
    settings, timepoints, tables, results = _patient_results(
        config, inputs, betterback_patients_step.files, trial
    )
    effects = results.effects.copy()
    sds = {
        (score, t): frame.loc[frame["timepoint"] == t, score].std(ddof=1)
        for score, frame in results.data.items()
        for t in settings["timepoints"]
    }
    keys = zip(effects["outcome"], effects["timepoint"], strict=True)
    effects["outcome_sd"] = [sds[key] for key in keys]
    iccs = outcome_icc_table(results, settings, settings["df_method"])
    outcomes = [spec.outcome for spec in results.specs.values()]
    trajectories = condition_trajectories(
        tables["design"], tables["patient_scores"], outcomes, timepoints, settings["df_method"]
    )
    primary_rows = effects[effects["role"] == "primary"]
    written = {
        "effects": effects,
        "coefficients": results.coefficients,
        "icc": iccs.table,
        "variance_components": variance_component_table(results, settings),
        "clinic_effects": clinic_effects(results, settings),
        "trajectories": trajectories.table,
        "diagnostics": diagnostics_table(
            results.diagnostics, iccs.diagnostics, trajectories.diagnostics
        ),
        "analysed": analysed_patients(results, settings, primary_only=False),
        "design_effects": stepped_design_effects(results, settings),
    }
    for name, table in written.items():
        write_csv(table, outputs[name])
    _primary_files(results, settings, primary_rows, outputs)
    shown = run_labels(config)
    figures = {
        "trajectories_figure": trajectory_figure(
            shown.relabel(trajectories.table, ["timepoint"]), [shown(t) for t in timepoints]
        ),
        "caterpillar_figure": caterpillar_figure(written["clinic_effects"]),
    }
    png = {k: str(save_figure(fig, outputs[k])[1]) for k, fig in figures.items()}
    fragment_patients(config, settings, results, written, outputs, png)


def _primary_files(results, settings, primary_rows, outputs) -> None:
    """Write the primary models' coefficients and data, for the exploration notebook."""
    coefficients, frames = [], []
    for score in dict.fromkeys(primary_rows["outcome"]):
        fit = primary_fit(results, settings, score)
        spec = results.specs[score]
        coefficients.append(
            fit.coefficients.assign(model=f"{score}_{settings['primary_timepoint']}",
                                    formula=spec.formula)
        )  # fmt: skip
        data = results.data[score]
        if settings["model"] == "per_timepoint":
            data = data[data["timepoint"] == settings["primary_timepoint"]]
        frames.append(data.set_index(["patient_id", "timepoint"]))
    coefficient_table = pd.concat(coefficients, ignore_index=True) if coefficients else None
    write_csv(
        coefficient_table if coefficient_table is not None else pd.DataFrame(),
        outputs["primary_coefficients"],
    )
    if frames:
        data = frames[0]
        for frame in frames[1:]:
            data = data.combine_first(frame)
        data = data.reset_index().drop(columns=["enrolment_date"], errors="ignore")
    else:
        data = pd.DataFrame()
    write_csv(data, outputs["primary_data"])


def fragment_patients(config, settings, results, written, outputs, png) -> None:
    """Write the patient trial's manuscript tables and report fragment."""
    effects = written["effects"]
    formulas = "\n".join(f"{s}: {spec.formula}" for s, spec in results.specs.items())
    model_text = (
        "Hussey & Hughes model per outcome"
        + (" and follow-up" if settings["model"] == "per_timepoint" else " over all follow-ups")
        + f", fitted by REML with {settings['df_method']} degrees of freedom. Response: "
        f"{settings['response']} (`response` in the config); the treatment effect is the "
        "adjusted difference between intervention and routine care. An outcome without a "
        "baseline measurement is analysed as its follow-up value.\n\n"
        + text.df_policy_text(settings)
        + "\n\n"
        + text.design_note()
    )
    icc_rounding = rounding_rules(
        config, {"columns": "icc|conf_.*", "style": "fixed", "digits": 3}
    )
    results_blocks = [
        TextBlock(model_text),
        CodeBlock(formulas, caption="Models (lme4 notation)"),
        publish_table(
            effects,
            outputs["tables"],
            "patient_effects",
            config,
            TableBlock(
                outputs["effects"],
                max_rows=200,
                caption="BetterBack: treatment effects (intervention - control)",
                columns=["outcome", *EFFECT_COLUMNS],
                labels={"p_adjusted": "P adjusted"},
                notes=[
                    "Primary: the outcomes marked primary at the primary time point.",
                    "P adjusted: the primary family, "
                    f"{settings['multiplicity']['method']} "
                    "(betterback.analyses.patients.multiplicity).",
                ],
            ),
        ),
        FigureBlock(
            png["trajectories_figure"],
            caption="Mean outcomes by condition (95% CI; "
            "mixed model over all time points, not adjusted for period)",
            data=[outputs["trajectories"]],
        ),
    ]
    icc_blocks = [
        TextBlock(text.design_effect_note()),
        publish_table(
            written["design_effects"],
            outputs["tables"],
            "design_effects",
            config,
            TableBlock(
                outputs["design_effects"],
                labels=DESIGN_EFFECT_LABELS,
                caption="BetterBack: design effect of the stepped (dog-leg) design as run",
                columns=DESIGN_EFFECT_COLUMNS[1:],
            ),
        ),
        TextBlock(
            "ICC of each primary outcome (CONSORT cluster extension, item 17a): from "
            "the primary model and from the outcome alone, with profile-likelihood 95% CIs; "
            "the table's design effect is the parallel-trial one, 1 + ((CV² + 1) m − 1) ICC "
            "for the patients per clinic analysed (Eldridge 2006), for comparison only."
        ),
        publish_table(
            written["icc"],
            outputs["tables"],
            "patient_icc",
            config,
            TableBlock(
                outputs["icc"],
                caption="BetterBack: ICC and design effect",
                rounding=icc_rounding,
                labels=ICC_LABELS,
                columns=[
                    c
                    for c in ICC_COLUMNS
                    if c not in ("outcome", "size_min", "size_max", "formula")
                ],
            ),
        ),
        TableBlock(
            outputs["variance_components"],
            caption="Variance components of the primary models",
            rounding=icc_rounding,
        ),
        FigureBlock(
            png["caterpillar_figure"],
            caption="Clinic effects of the primary "
            "models (conditional modes ± 1.96 conditional SD)",
            data=[outputs["clinic_effects"]],
        ),
    ]
    models = [
        {"trial": "betterback", "name": f"patients_{score}", "outcome": score,
         "formula": spec.formula, "df_method": settings["df_method"],
         "config_key": "betterback.analyses.patients",
         "missing_data": MISSING_DATA.format(
             baseline=" and at baseline" if spec.outcome.baseline else "")}
        for score, spec in results.specs.items()
    ]  # fmt: skip
    sections = [
        ReportEntry(
            "summary",
            "BetterBack: primary outcomes",
            [TextBlock(text.primary_summary(effects, settings))],
            rank=SUMMARY_RANK["primary"],
        ),
        ReportEntry("results", "BetterBack: patient outcomes", results_blocks),
        ReportEntry("icc", "BetterBack: ICC, design effect", icc_blocks),
        diagnostics_entry("BetterBack: patient models", outputs["diagnostics"], "Patient models"),
    ]
    write_fragment(outputs["fragment"], sections, models)


# ----------------------------------------------------------- binary outcomes
@declare(
    inputs=("patients", "clinics", "care", "care_scores", "patient_scores", "instruments"),
    outputs=("effects", "coefficients", "diagnostics", "tables", "fragment"),
    folders=("instruments",),
)
def betterback_binary_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """GEE for referrals, CPQI indicators and responders."""
    trial = betterback_settings(config, settings)
    settings = thaw(trial.binary)
    baseline = trial.patient_timepoints[0]
    _, labels = instruments_and_labels(config)
    tables = design_tables(inputs, betterback_binary_step.files)
    data = tables["design"].merge(tables["care"], on="patient_id", how="left")
    data = data.merge(tables["care_scores"], on="patient_id", how="left", suffixes=("", "_score"))
    data, responder_labels = responder_columns(
        data, tables["patient_scores"], settings["responders"], baseline, labels
    )
    binary = binary_outcomes(data, settings, responder_labels, labels)
    effects, coefficients, diagnostics = binary.effects, binary.coefficients, binary.diagnostics
    write_csv(effects, outputs["effects"])
    write_csv(coefficients, outputs["coefficients"])
    write_csv(diagnostics_table(diagnostics), outputs["diagnostics"])
    counts = ["events_control", "n_control", "events_intervention", "n_intervention"]
    suppression = count_suppression(config, counts)
    rounding = rounding_rules(
        config, {"columns": "risk_.*|rd_conf_.*", "style": "fixed", "digits": 3}
    )
    blocks = [
        TextBlock(
            "Logistic GEE per outcome, `outcome ~ C(period) + treatment"
            + "".join(f" + {c}" for c in settings["covariates"])
            + f"`, {settings['correlation']} working correlation within clinics, "
            "Mancl-DeRouen bias-reduced sandwich and t with K - p df (K = clinics; "
            f"df policy: {trial.patients['df_policy']}, see the "
            "patient models). Odds ratios are "
            "population-averaged; risks and risk differences are standardised over the "
            "analysed patients. Referral outcomes and the first two CPQI indicators are "
            "complements (odds ratios reciprocal)."
        ),
        publish_table(
            effects,
            outputs["tables"],
            "binary_effects",
            config,
            TableBlock(
                outputs["effects"],
                rounding=rounding,
                suppression=suppression,
                caption="BetterBack: binary outcomes, GEE odds ratios and risk differences",
                columns=[c for c in BINARY_COLUMNS if c not in BINARY_HIDDEN],
                labels=BINARY_LABELS,
            ),
        ),
    ]
    sections = [
        ReportEntry("results", "BetterBack: binary outcomes", blocks),
        diagnostics_entry("BetterBack: binary outcomes (GEE)", outputs["diagnostics"], "GEE fits"),
    ]
    write_fragment(outputs["fragment"], sections)


# ------------------------------------------------------ sensitivity analyses
@declare(
    inputs=("patients", "clinics", "schedule", "patient_scores", "instruments"),
    outputs=("table", "randomization", "diagnostics", "tables", "fragment"),
    folders=("instruments",),
)
def betterback_sensitivity_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Cluster-level analysis, randomization test, missing data and boundary refits."""
    trial = betterback_settings(config, settings)
    settings, timepoints, tables, results = _patient_results(
        config, inputs, betterback_sensitivity_step.files, trial
    )
    sensitivity = thaw(trial.sensitivity)
    checks = sensitivity_analyses(
        results, settings, sensitivity, tables["schedule"], timepoints, int(config["seed"])
    )
    table, randomization, diagnostics = checks.table, checks.randomization, checks.diagnostics
    # the randomization tests are reported in the text (randomization.csv has them)
    table = table[table["analysis"] != "randomization test"].reset_index(drop=True)
    write_csv(table, outputs["table"])
    write_csv(randomization, outputs["randomization"])
    labels = dict(zip(checks.table["outcome"], checks.table["label"], strict=True))
    write_csv(diagnostics_table(diagnostics), outputs["diagnostics"])
    caption = f"BetterBack: sensitivity analyses at {settings['primary_timepoint']}"
    blocks = [
        TextBlock(
            "Each outcome's primary estimate beside: the cluster-level analysis (clinic "
            "means of covariate-adjusted residuals compared within periods); complete "
            "cases; all available follow-ups in one model; and, when a variance is "
            "estimated at zero, the model without it.\n\n" + text.design_note()
        ),
        TextBlock(text.randomization_text(randomization, labels)),
        publish_table(
            table,
            outputs["tables"],
            "sensitivity",
            config,
            TableBlock(
                outputs["table"],
                caption=caption,
                max_rows=200,
                columns=[
                    "label",
                    "analysis",
                    "estimate",
                    "conf_low",
                    "conf_high",
                    "df",
                    "p_value",
                    "n_obs",
                    "n_clinics",
                    "note",
                ],
            ),
        ),
    ]
    sections = [
        ReportEntry("sensitivity", "BetterBack: sensitivity analyses", blocks),
        diagnostics_entry(
            "BetterBack: sensitivity models", outputs["diagnostics"], "Sensitivity models"
        ),
    ]
    write_fragment(outputs["fragment"], sections)


# -------------------------------------------- what the inference rests on
CELL_LABELS = {
    "cluster_id": "Allocation unit",
    "n_clinics": "Clinics",
    "n_therapists": "Therapists",
    "patients_recruited": "Patients recruited",
    "patients_analysed": "Patients analysed",
    "contributes": "Treatment contrast",
}


@declare(
    inputs=("patients", "clinics", "schedule", "patient_scores", "instruments"),
    outputs=(
        "inference",
        "cluster_periods",
        "period_means",
        "diagnostics",
        "period_figure",
        "period_png",
        "tables",
        "fragment",
    ),
    folders=("instruments",),
)
def betterback_inference_step(
    config: Mapping,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    settings: BetterBackSettings | None = None,
) -> None:
    """Cluster-period table, secular trend and the inference sensitivity set."""
    trial = betterback_settings(config, settings)
    settings, _, tables, results = _patient_results(
        config, inputs, betterback_inference_step.files, trial
    )
    sensitivity = thaw(trial.sensitivity)
    schedule = tables["schedule"]
    timepoint = settings["primary_timepoint"]
    inference = inference_set(
        results, settings, sensitivity["inference"], sensitivity["outcomes"], schedule
    )
    written = {
        "inference": inference.table,
        "cluster_periods": cluster_period_table(
            schedule, tables["design"], analysed_patients(results, settings), timepoint
        ),
        "period_means": period_means(results, settings, schedule),
        "diagnostics": diagnostics_table(inference.diagnostics),
    }
    for name, frame in written.items():
        write_csv(frame, outputs[name])
    png = str(save_figure(period_figure(written["period_means"]), outputs["period_figure"])[1])
    note = text.inference_note(
        int(schedule["cluster_id"].nunique()),
        int(tables["design"]["clinic_id"].nunique()),
        both_condition_periods(schedule),
        min_attainable_p(tables["design"], schedule),
    )
    counts = ["n_clinics", "n_therapists", "patients_recruited", "patients_analysed"]
    blocks = [
        TextBlock(note),
        publish_table(
            written["cluster_periods"],
            outputs["tables"],
            "cluster_periods",
            config,
            TableBlock(
                outputs["cluster_periods"],
                labels=CELL_LABELS,
                suppression=count_suppression(config, counts[2:]),
                caption="BetterBack: clinics, therapists and patients per allocation unit "
                f"and period (analysed: in a primary model at {timepoint}; CONSORT-SW)",
            ),
        ),
        publish_table(
            inference.table,
            outputs["tables"],
            "inference",
            config,
            TableBlock(
                outputs["inference"],
                max_rows=200,
                caption=f"BetterBack: what the treatment effect rests on, at {timepoint} "
                "(betterback.analyses.sensitivity.inference)",
                columns=[
                    "label",
                    "description",
                    "estimate",
                    "std_error",
                    "conf_low",
                    "conf_high",
                    "df",
                    "df_method",
                    "p_value",
                    "n_obs",
                    "n_clinics",
                    "periods",
                    "note",
                ],
            ),
        ),
        FigureBlock(
            png,
            data=[outputs["period_means"]],
            caption="Adjusted mean change per period and condition from each primary model "
            "(the secular trend the period effects remove; cells the schedule has)",
        ),
        TableBlock(
            outputs["period_means"],
            caption="Adjusted means per period and "
            "condition, with the period coefficients (scheduled = the schedule has the cell; "
            "the others are model extrapolations)",
        ),
    ]
    sections = [
        ReportEntry("sensitivity", "BetterBack: what the inference rests on", blocks),
        diagnostics_entry(
            "BetterBack: inference sensitivity models",
            outputs["diagnostics"],
            "Inference sensitivity models",
        ),
    ]
    write_fragment(outputs["fragment"], sections)
