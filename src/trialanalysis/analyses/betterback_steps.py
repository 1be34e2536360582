"""Workflow steps of the BetterBack analyses (see ``workflow/rules/betterback.smk``).

Each step takes the validated config (a plain dict with the keys
``betterback``, ``reporting``, ``privacy``, ``seed`` and ``instruments_dir``),
input paths and output paths; it writes tidy CSV tables, manuscript tables
(into the ``tables`` folder), figures and a report fragment.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trialanalysis.analyses import betterback_text as text
from trialanalysis.analyses.betterback_data import (
    CONDITIONS,
    check_columns,
    patient_design,
    read_tables,
    therapist_long,
)
from trialanalysis.analyses.betterback_figures import (
    domain_profile_figure,
    forest_figure,
    therapist_trajectory_figure,
)
from trialanalysis.analyses.betterback_table1 import (
    clinic_table,
    columns,
    dependents,
    patient_table,
    therapist_table,
)
from trialanalysis.analyses.betterback_therapists import (
    associations,
    mixed_analysis,
    published_analysis,
)
from trialanalysis.analyses.common import (
    DIAGNOSTICS_COLUMNS,
    column_labels,
    count_suppression,
    publish_table,
)
from trialanalysis.errors import ConfigError
from trialanalysis.instruments import load_instruments
from trialanalysis.pipeline import write_csv
from trialanalysis.reporting.assemble import write_fragment
from trialanalysis.reporting.figures import save_figure

MISSING_COUNTS = {"columns": ".*_missing", "style": "integer"}


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


def diagnostics_block(path: str, caption: str) -> dict:
    """Report block of a diagnostics table."""
    return {
        "table": path,
        "caption": caption,
        "suppression": {},
        "max_rows": 200,
        "notes": ["One row per fitted model; warnings and boundary fits are never dropped."],
    }


def design_tables(inputs: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """Read the inputs; add ``design`` (patients with cluster and treatment)."""
    tables = read_tables(inputs)
    if "patients" in tables and "clinics" in tables:
        tables["design"] = patient_design(tables["patients"], tables["clinics"])
    return tables


# ---------------------------------------------------------------- table 1
def table1_step(config: Mapping, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Baseline characteristics at clinic, therapist and patient level by condition."""
    settings = config["betterback"]["analyses"]["table1"]
    timepoints = config["betterback"]["timepoints"]
    instruments, labels = instruments_and_labels(config)
    orders = {
        c.column: list(c.labels) for i in instruments.values() for c in i.classifications.values()
    }
    tables = design_tables(inputs)
    patient_scores = tables["patient_scores"]
    therapist_scores = tables["therapist_scores"]
    built = {
        "clinics": clinic_table(tables["design"]),
        "therapists": therapist_table(
            tables["design"],
            tables["therapists"],
            therapist_scores[therapist_scores["timepoint"] == timepoints["therapist"][0]],
            settings["therapist_characteristics"],
            settings["therapist_baseline_scores"],
            labels,
        ),
        "patients": patient_table(
            tables["design"],
            patient_scores[patient_scores["timepoint"] == timepoints["patient"][0]],
            settings["patient_characteristics"],
            settings["patient_baseline_scores"],
            labels,
            orders,
        ),
    }
    suppression = count_suppression(
        config,
        list(dependents()),
        dependents(),
        ["level", "characteristic"],
        part_columns=[[f"{c}_n", f"{c}_missing"] for c in CONDITIONS],
    )
    # the clinics table counts clinics (and sizes of clinics), not individuals
    clinic_counts = {"not_counts": [c for c in columns() if c.endswith(("_n", "_missing"))]}
    captions = {
        "clinics": "BetterBack: clinics and cluster sizes by condition",
        "therapists": "BetterBack: therapists by condition in which they treated patients",
        "patients": "BetterBack: patient characteristics at baseline by condition",
    }
    blocks = [
        {
            "text": "Counts, n (%) for categories and mean (SD) for numbers; no significance "
            "tests (CONSORT). Clinics and therapists appear under every condition in which "
            "they enrolled or treated patients."
        }
    ]
    for name, table in built.items():
        write_csv(table, outputs[name])
        block = {
            "table": outputs[name],
            "caption": captions[name],
            "columns": [c for c in table.columns if c != "level"],
            "suppression": suppression if name != "clinics" else clinic_counts,
            "rounding": rounding_rules(config, MISSING_COUNTS),
            "max_rows": 200,
        }
        blocks.append(publish_table(table, outputs["tables"], f"table1_{name}", config, block))
    write_fragment(
        outputs["fragment"],
        [
            {
                "section": "table1",
                "title": "BetterBack: clinics, therapists, patients",
                "blocks": blocks,
            }
        ],
    )


# ---------------------------------------------------------- therapist cohort
def therapists_step(
    config: Mapping, inputs: Mapping[str, str], outputs: Mapping[str, str]
) -> None:
    """Therapist cohort: published RM-ANOVA, mixed models, associations, figures."""
    settings = config["betterback"]["analyses"]["therapists"]
    timepoints = list(config["betterback"]["timepoints"]["therapist"])
    instruments, labels = instruments_and_labels(config)
    tables = read_tables(inputs)
    long = therapist_long(tables["therapists"], tables["therapist_scores"], timepoints)
    domains = []
    if settings["domains_instrument"]:
        name = settings["domains_instrument"]
        if name not in instruments:
            raise ConfigError(
                f"betterback.analyses.therapists.domains_instrument: no instrument {name!r} "
                f"({', '.join(sorted(instruments))})"
            )
        domains = [s.column for s in instruments[name].scores.values()]
    where = "betterback.analyses.therapists"
    check_columns(settings["scores"] + domains, long.columns, where, "therapist scores")
    check_columns(settings["associations"]["outcomes"], long.columns, where, "therapist scores")
    if settings["associations"]["timepoint"] not in timepoints:
        raise ConfigError(
            f"{where}.associations.timepoint {settings['associations']['timepoint']!r} is not "
            f"a therapist time point ({', '.join(timepoints)})"
        )
    scores = list(settings["scores"])
    anova, pairwise = published_analysis(
        long, scores + domains, timepoints, settings["anova_p_adjust"], labels
    )
    emmeans, contrasts, diagnostics = mixed_analysis(
        long, scores, domains, timepoints, settings, labels
    )
    assoc, assoc_diagnostics = associations(
        long,
        domains,
        settings["associations"],
        labels,
        settings["df_method"],
        settings["p_adjust"],
    )
    results = {
        "anova": anova,
        "pairwise": pairwise,
        "emmeans": emmeans,
        "contrasts": contrasts,
        "associations": assoc,
        "diagnostics": diagnostics_table(diagnostics, assoc_diagnostics),
    }
    for name, table in results.items():
        write_csv(table, outputs[name])
    figures = {
        "trajectories_figure": therapist_trajectory_figure(emmeans, scores, timepoints),
        "profile_figure": domain_profile_figure(emmeans, domains, timepoints),
    }
    png = {k: str(save_figure(fig, outputs[k])[1]) for k, fig in figures.items()}
    fragment_therapists(config, settings, outputs, results, png, scores, domains, timepoints)


def fragment_therapists(config, settings, outputs, results, png, scores, domains, timepoints):
    """Write the therapist cohort's manuscript tables and report fragment."""
    contrasts = results["contrasts"]
    captions = {
        "anova": "Therapists, published analysis: repeated-measures ANOVA on complete cases",
        "pairwise": f"Therapists, published analysis: paired comparisons with {timepoints[0]}",
        "contrasts": f"Therapists, mixed model: change from {timepoints[0]} (EMM contrasts)",
        "associations": f"Therapists at {settings['associations']['timepoint']}: domain "
        f"scores (per {settings['associations']['per']:g} points) and outcomes",
    }
    rounding = rounding_rules(
        config, {"columns": "partial_eta_sq|gg_epsilon", "style": "fixed", "digits": 3}
    )
    formula = " + ".join(["score ~ timepoint", *settings["random_effects"]])
    results_blocks = [
        {
            "text": f"Published analysis: repeated-measures ANOVA over {', '.join(timepoints)} "
            "on therapists with every questionnaire (complete cases), partial eta squared "
            "and Greenhouse-Geisser epsilon. Recommended analysis: a linear mixed model "
            f"per score, `{formula}`, on all available questionnaires (MAR), with "
            f"estimated marginal means and {settings['df_method']} degrees of freedom. "
            + text.multiplicity_text(settings)
        },
        {"table": outputs["anova"], "caption": captions["anova"], "rounding": rounding,
         "columns": ["label", "n_complete", "f_value", "df_effect", "df_error", "p_value",
                     "partial_eta_sq", "gg_epsilon", "gg_p_value"],
         "labels": {"partial_eta_sq": "Partial eta²", "gg_epsilon": "GG epsilon",
                    "gg_p_value": "p (GG)", "f_value": "F"}},
        {"table": outputs["pairwise"], "caption": captions["pairwise"], "max_rows": 100,
         "columns": ["label", "contrast", "estimate", "conf_low", "conf_high", "p_value",
                     "p_adjusted", "n_complete"]},
        {"table": outputs["contrasts"], "caption": captions["contrasts"], "max_rows": 100,
         "columns": ["label", "family", "contrast", "estimate", "conf_low", "conf_high", "df",
                     "p_value", "p_adjusted"]},
        {"figure": png["trajectories_figure"], "caption": "Therapist scores over time "
         "(mixed-model means, 95% CI)", "data": [outputs["emmeans"]]},
        {"figure": png["profile_figure"], "caption": "DIBQ domain profile over time "
         "(mixed-model means, 95% CI)", "data": [outputs["emmeans"]]},
        {"table": outputs["associations"], "caption": captions["associations"],
         "max_rows": 100, "columns": ["outcome_label", "domain_label", "estimate", "conf_low",
                                      "conf_high", "df", "p_value", "p_adjusted", "n_obs"]},
    ]  # fmt: skip
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
        name = next((k for k in captions if block.get("table") == outputs[k]), None)
        if name:
            publish_table(results[name], outputs["tables"], f"therapists_{name}", config, block)
    sections = [
        {"section": "summary", "title": "BetterBack: therapists",
         "blocks": [{"text": text.therapist_summary(contrasts, scores)}]},
        {"section": "results", "title": "BetterBack: therapist cohort", "blocks": results_blocks},
        {"section": "diagnostics", "title": "BetterBack: therapist models",
         "blocks": [diagnostics_block(outputs["diagnostics"], "Therapist models")]},
    ]  # fmt: skip
    write_fragment(outputs["fragment"], sections, models)


# --------------------------------------------------------------- forest plot
def forest_step(config: Mapping, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Forest plot of every patient outcome (continuous and binary)."""
    effects = pd.read_csv(inputs["effects"])
    binary = pd.read_csv(inputs["binary"])
    continuous = effects.rename(columns={"outcome_sd": "sd"})
    figure = forest_figure(continuous, binary)
    png = save_figure(figure, outputs["figure"])[1]
    block = {
        "figure": str(png),
        "caption": "Forest plot of all patient outcomes: continuous outcomes as standardised "
        "differences (effect / SD of the outcome at that time point; raw effect and 95% CI "
        "at right), binary outcomes as odds ratios",
        "data": [inputs["effects"], inputs["binary"]],
    }
    write_fragment(
        outputs["fragment"],
        [{"section": "results", "title": "BetterBack: all patient outcomes", "blocks": [block]}],
    )
