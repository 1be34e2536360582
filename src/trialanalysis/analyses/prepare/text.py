"""Report entries of the PREPARE analyses (see :mod:`trialanalysis.reporting.assemble`).

Text here states what was run, with the settings taken from the config and
the numbers from the result tables, so the report cannot drift from the
analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.analyses.common.text import DF_TEXT
from trialanalysis.analyses.prepare.effect_sizes import BETWEEN_STANDARDISER, WITHIN_STANDARDISER
from trialanalysis.analyses.prepare.mediation import MODEL_7, assumptions_text
from trialanalysis.analyses.prepare.missing import COMPLETE_CASES, LIKELIHOOD, imputation_label
from trialanalysis.analyses.prepare.models import RANDOM_INTERCEPT, covariance_label
from trialanalysis.analyses.prepare.responders import DOSE_LABEL
from trialanalysis.models.covariance import STRUCTURES
from trialanalysis.models.multiplicity import METHOD_TEXT
from trialanalysis.reporting.assemble import SUMMARY_RANK
from trialanalysis.reporting.estimands import estimand_text
from trialanalysis.reporting.sections import FigureBlock, ReportEntry, TableBlock, TextBlock
from trialanalysis.reporting.tables import p_text

KEY = "prepare.analyses"
MODEL_COLUMNS = ["term", "estimate", "std_error", "df", "p_value", "conf_low", "conf_high"]
DIFFERENCE_COLUMNS = [
    "outcome", "timepoint", "estimate", "conf_low", "conf_high", "df", "p_value",
    "n_control", "n_intervention", "p_adjusted",
]  # fmt: skip
RESPONDER_LABELS = {
    "risk_difference": "Risk difference", "rd_conf_low": "RD 95% CI lower",
    "rd_conf_high": "RD 95% CI upper", "odds_ratio": "Odds ratio",
    "or_conf_low": "OR 95% CI lower", "or_conf_high": "OR 95% CI upper",
}  # fmt: skip
DESIGN_TEXT = {
    "covariate": (
        "ANCOVA-type repeated-measures model: the follow-up values are the response and the "
        "baseline value is a covariate{by_time}; patients without a baseline value are left "
        "out. Baseline means by arm are observed (descriptive) values."
    ),
    "response": (
        "Constrained longitudinal data analysis (cLDA): every time point, baseline included, is "
        "a response and both arms share one baseline mean, as randomisation implies; patients "
        "with any observed value contribute."
    ),
}


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ci(row: Mapping, digits: int = 2) -> str:
    return (
        f"{row['estimate']:.{digits}f} (95% CI {row['conf_low']:.{digits}f} to "
        f"{row['conf_high']:.{digits}f})"
    )


def model_entry(model, settings: Mapping, analysis: str) -> dict:
    """Describe one fitted mixed model for the methods section."""
    return {
        "trial": "prepare",
        "name": f"{analysis}_{model.outcome}",
        "outcome": model.outcome,
        "formula": model.formula,
        "df_method": settings["mixed_model"]["df_method"],
        "reml": settings["mixed_model"]["reml"],
        "covariance": covariance_label(model.covariance, settings["mixed_model"]["random_slope"])
        + f", time points {', '.join(model.timepoints)}",
        "missing_data": "all available observations (missing at random given the model)",
        "config_key": f"{KEY}.mixed_model",
    }


_KEEP = ["estimate", "std_error", "df", "p_value", "conf_low", "conf_high"]


def model_row(differences: pd.DataFrame, timepoint: str, role: str = "main") -> dict:
    """Return one model's between-arm difference at one time point, labelled by the model."""
    row = differences[differences["timepoint"] == timepoint].iloc[0]
    kind = "linear mixed model" if row["covariance"] == RANDOM_INTERCEPT else "MMRM"
    analysis = f"{role}: {kind} ({row['design']}; {row['covariance']})"
    return {"outcome": row["outcome"], "timepoint": timepoint, "analysis": analysis,
            **{k: row[k] for k in _KEEP},
            "n": int(row["n_control"] + row["n_intervention"])}  # fmt: skip


def ancova_rows(differences: pd.DataFrame, ancova: Mapping, timepoint: str) -> list[dict]:
    """Put the main model's estimate at the primary time point beside the ANCOVA check."""
    check = {k: ancova[k] for k in ["outcome", "timepoint", "analysis", *_KEEP, "n"]}
    return [model_row(differences, timepoint), check]


def table1_sections(csv: str, caption: str, arms: Mapping[str, str]) -> list[ReportEntry]:
    """Table 1 entry: the baseline table by arm (code -> header) and overall."""
    from trialanalysis.analyses.common.baseline import baseline_note, display

    block = TableBlock(csv, caption=caption, **display(list(arms), arms), max_rows=200)
    text = baseline_note("Differences at baseline of a randomised trial are due to chance.")
    return [ReportEntry("table1", "PREPARE", [TextBlock(text), block])]


def itt_label(model, n_randomised: int) -> str:
    """Who the "intention to treat" analysis includes, and how missing follow-ups are handled."""
    who = (
        "a baseline value and at least one follow-up value"
        if model.design == "covariate"
        else "at least one value"
    )
    n = model.used["patient_id"].nunique()
    return (
        f"intention to treat: all randomised patients with {who} of {model.outcome} "
        f"({n} of {n_randomised}), missing follow-ups handled by the likelihood under MAR"
    )


def _primary_text(
    differences: pd.DataFrame, ancova: pd.DataFrame, model, settings, n_randomised: int
) -> str:
    primary, when = settings["primary_outcome"], settings["primary_timepoint"]
    row = differences[
        (differences["outcome"] == primary) & (differences["timepoint"] == when)
    ].iloc[0]
    check = ancova[(ancova["outcome"] == primary) & (ancova["analysis"].str.startswith("ANCOVA"))]
    method = settings["mixed_model"]["df_method"]
    df_name = DF_TEXT.get(method, method)
    text = (
        f"PREPARE primary estimand: the difference in mean {primary} between {model.arms[1]} "
        f"and {model.arms[0]} ({model.contrast_label}) at {when} (after the intervention, "
        f"before surgery), {itt_label(model, n_randomised)}; estimated by "
        f"{_model_kind(model, settings)} "
        f"(`{model.formula}`, {df_name} df): {_ci(row)}, "
        f"{p_text(row['p_value'])}; {int(row['n_control'])} {model.arms[0]} and "
        f"{int(row['n_intervention'])} {model.arms[1]} patients observed at {when}."
    )
    if not check.empty:
        text += f" ANCOVA check at {when} (complete cases): {_ci(check.iloc[0])}."
    strategy = settings.get("multiplicity") or {"method": "none", "family": []}
    family = strategy.get("family") or [when]
    if len(family) > 1 and "p_adjusted" in row:
        text += (
            f" Primary family {primary} at {', '.join(family)}: "
            f"{METHOD_TEXT[strategy['method']]}, adjusted p = {row['p_adjusted']:.3g}."
        )
    estimand = settings.get("estimand")
    if estimand:
        text += "\n\n" + estimand_text(estimand, "PREPARE primary estimand")
    return text


def _model_kind(model, settings: Mapping) -> str:
    if model.covariance == RANDOM_INTERCEPT:
        label = covariance_label(model.covariance, settings["mixed_model"]["random_slope"])
        return f"a linear mixed model with a {label}"
    name = model.covariance
    return (
        f"a mixed model for repeated measures (MMRM) with {STRUCTURES[name]} ({name}) covariance"
    )


def _covariance_text(mixed: Mapping) -> str:
    main = mixed["covariance"]
    text = (
        f"Within-patient covariance over time (config `{KEY}.mixed_model.covariance`: {main}): "
        f"{covariance_label(main, mixed['random_slope'])}"
    )
    if main == "us":
        text += (
            ": a separate variance per time point and a separate correlation for every pair, "
            "as in R's mmrm (`us(timepoint | patient_id)`), with no random effects"
        )
    text += "."
    others = [c for c in mixed["sensitivity"] if c != main]
    if others:
        text += (
            f" Sensitivity (config `{KEY}.mixed_model.sensitivity`): the same model with "
            + "; ".join(covariance_label(c, mixed["random_slope"]) for c in others)
            + ", reported beside the ANCOVA check at the primary time point."
        )
    return text


def _counts(columns: Sequence[str], min_cell_size: int) -> dict:
    """Suppress small counts of patients only (model estimates stay)."""
    return {"count_columns": list(columns), "min_cell_size": int(min_cell_size),
            "dependent_columns": []}  # fmt: skip


def effects_sections(
    outputs,
    png,
    results,
    model,
    settings,
    min_cell_size: int,
    n_randomised: int,
    baseline_notes: Sequence[str] = (),
) -> list[ReportEntry]:
    """Summary, results, sensitivity and diagnostics entries of the mixed models.

    ``baseline_notes`` say how secondary outcomes' patients without a
    baseline value were handled (``missing_baseline``).
    """
    mixed = settings["mixed_model"]
    design = DESIGN_TEXT[mixed["baseline"]].format(
        by_time=" with a separate slope per follow-up" if mixed["baseline_by_time"] else "",
    )
    text = (
        f"One model per outcome with arm x time (config `{KEY}.mixed_model.baseline`: "
        f"{mixed['baseline']}), fitted by {'REML' if mixed['reml'] else 'maximum likelihood'}. "
        f"{design} {_covariance_text(mixed)} Estimated "
        "marginal means per arm and time (numeric covariates at their mean, factors averaged) "
        f"and differences {model.contrast_label} with {mixed['df_method']} degrees of freedom "
        f"and {settings['conf_level']:.0%} CIs; column p_adjusted: the primary family "
        f"(`{KEY}.multiplicity`), other p-values are not adjusted for multiplicity."
    )
    if baseline_notes:
        text += (
            f" Secondary outcomes with patients lacking a baseline value (config "
            f"`{KEY}.missing_baseline`: {settings['missing_baseline']}): "
            + "; ".join(baseline_notes)
            + "."
        )
    results_blocks = [
        TextBlock(text),
        TableBlock(
            outputs["differences"],
            caption=f"PREPARE: between-arm differences ({model.contrast_label}) at each follow-up",
            columns=DIFFERENCE_COLUMNS,
            suppression=_counts(["n_control", "n_intervention"], min_cell_size),
            max_rows=200,
        ),
        FigureBlock(
            png["trajectories"],
            caption="PREPARE: adjusted mean per arm and time point with 95% CI, all from "
            "the outcome's model (squares: the mean baseline the model's means are "
            "evaluated at, so each drawn change is the model's adjusted change)",
            data=[outputs["means"]],
        ),
        FigureBlock(
            png["forest"],
            caption="PREPARE: between-arm differences at every "
            "follow-up (axis: Hedges' g; text: raw difference with 95% CI)",
            data=[outputs["effect_sizes"], outputs["differences"]],
        ),
        TableBlock(
            outputs["means"],
            caption="PREPARE: estimated marginal means per arm and time point",
            columns=[
                "outcome",
                "arm",
                "timepoint",
                "estimate",
                "conf_low",
                "conf_high",
                "n",
                "source",
            ],
            suppression=_counts(["n"], min_cell_size),
            max_rows=200,
        ),
    ]
    size_text = " ".join(
        [
            "Hedges' g. Between arms: the model-based difference divided by the",
            f"{BETWEEN_STANDARDISER}; within arms: mean paired change divided by the",
            f"{WITHIN_STANDARDISER}. The `sd` and `standardiser` columns name the SD of",
            "every row; negative g = lower values in the intervention arm (or at follow-up).",
        ]
    )
    size_blocks = [
        TextBlock(size_text),
        TableBlock(
            outputs["effect_sizes"],
            caption="PREPARE: standardised effect sizes",
            columns=[
                "outcome",
                "comparison",
                "arm",
                "timepoint",
                "raw_estimate",
                "sd",
                "standardiser",
                "hedges_g",
                "conf_low",
                "conf_high",
            ],
            suppression={},
            max_rows=300,
        ),
    ]
    ancova_text = (
        f"At {settings['primary_timepoint']}: the main model's estimate beside the same model "
        "with the sensitivity covariance structures and an ANCOVA by ordinary least squares "
        "(follow-up value on arm and baseline value, complete cases)."
    )
    diagnostics = TableBlock(
        outputs["diagnostics"],
        caption="PREPARE: mixed-model diagnostics",
        suppression={},
        max_rows=100,
    )
    return [
        ReportEntry(
            "summary",
            "PREPARE: primary estimand",
            [
                TextBlock(
                    _primary_text(
                        results["differences"], results["ancova"], model, settings, n_randomised
                    )
                )
            ],
            rank=SUMMARY_RANK["primary"],
        ),
        ReportEntry("results", "PREPARE: repeated-measures mixed models", results_blocks),
        ReportEntry("results", "PREPARE: effect sizes", size_blocks),
        ReportEntry(
            "sensitivity",
            "PREPARE: covariance structure and ANCOVA check at the primary time point",
            [
                TextBlock(ancova_text),
                TableBlock(
                    outputs["ancova"],
                    caption="PREPARE: main model vs sensitivity covariance structures and ANCOVA",
                    suppression={},
                    max_rows=200,
                ),
            ],
        ),
        ReportEntry("diagnostics", "PREPARE: mixed models", [diagnostics]),
    ]


def responder_sections(
    outputs, arms, settings, min_cell_size: int, messages=()
) -> list[ReportEntry]:
    """Responder (randomised) and dose (non-randomised) entries, with any warnings raised."""
    counts = [f"{a}_{s}" for a in arms for s in ("n", "responders")]
    suppression = {
        "count_columns": counts, "min_cell_size": int(min_cell_size),
        "dependent_columns": {f"{a}_responders": [f"{a}_percent"] for a in arms},
    }  # fmt: skip
    responder_text = (
        "Responders: improvement from baseline at least the threshold (points, or % of the "
        "baseline value), among patients observed at both times (complete cases). Risk "
        "difference (intervention - control) with Newcombe's hybrid score CI; odds ratio with "
        "the Woolf (logit) CI. Patients whose improvement cannot be classified are not dropped "
        "silently: `n_undefined` counts them and `undefined_reason` says why (a percent "
        "improvement is undefined for a baseline value of 0)."
    )
    columns = ["definition", "timepoint"] + [
        f"{a}_{s}" for a in arms for s in ("n", "responders", "percent")
    ]
    columns += ["n_undefined", "undefined_reason", "risk_difference", "rd_conf_low",
                "rd_conf_high", "odds_ratio", "or_conf_low", "or_conf_high"]  # fmt: skip
    dose = settings["dose"]
    dose_text = (
        f"{_first_upper(DOSE_LABEL)}: patients of the {arms[1]} arm who attended at least "
        f"{dose['threshold']} sessions versus fewer (config `{KEY}.dose.threshold`). Attendance "
        "was not randomised: the difference (adjusted for the baseline value only) is "
        "confounded by whatever drives attendance and is not an effect of the intervention."
    )
    dose_suppression = {
        "count_columns": ["n_full_dose", "n_partial_dose"], "min_cell_size": int(min_cell_size),
        "dependent_columns": {"n_full_dose": ["change_full_dose"],
                              "n_partial_dose": ["change_partial_dose"]},
    }  # fmt: skip
    dose_columns = ["outcome", "timepoint", "n_full_dose", "n_partial_dose", "change_full_dose",
                    "change_partial_dose", "estimate", "conf_low", "conf_high"]  # fmt: skip
    warned = (
        [TextBlock("Warnings raised:\n\n" + "\n".join(f"- {m}" for m in messages))]
        if messages
        else []
    )
    return [
        ReportEntry(
            "results",
            "PREPARE: responders",
            [
                *warned,
                TextBlock(responder_text),
                TableBlock(
                    outputs["responders"],
                    caption="PREPARE: responders by arm",
                    columns=columns,
                    suppression=suppression,
                    labels=RESPONDER_LABELS,
                ),
            ],
        ),
        ReportEntry(
            "results",
            "PREPARE: dose (non-randomised, per protocol)",
            [
                TextBlock(dose_text),
                TableBlock(
                    outputs["dose"],
                    caption="PREPARE: outcome change by sessions "
                    f"attended (>= {dose['threshold']} vs fewer), {arms[1]} arm only, "
                    "NON-RANDOMISED",
                    columns=dose_columns,
                    suppression=dose_suppression,
                    max_rows=100,
                ),
            ],
        ),
    ]


def mediation_sections(outputs, png: str, mediation: Mapping) -> list[ReportEntry]:
    """Mediation entries, with the identifying assumptions."""
    moderator = mediation["moderator"]
    text = (
        f"Mediation of the effect of the arm on the change in each outcome through the changes "
        f"in {', '.join(mediation['mediators'])} (parallel mediators, product of coefficients)"
        + (", adjusted for the start values" if mediation["adjust_for_baseline"] else "")
        + (f"; conditional process model with {moderator} moderating the arm -> mediator "
           f"paths ({MODEL_7}), conditional indirect effects at {moderator} = "
           f"{mediation['moderator_values'] or 'mean -1 SD, mean, mean +1 SD'}" if moderator
           else "")
        + ". Complete cases (n per row)."
    )  # fmt: skip
    columns = ["outcome", "model", "effect", "mediator", "moderator_value", "estimate",
               "conf_low", "conf_high", "n"]  # fmt: skip
    blocks = [
        TextBlock(text),
        TextBlock("Assumptions: " + assumptions_text(mediation)),
        FigureBlock(
            png,
            caption="PREPARE: mediation paths (parallel mediators) with "
            "estimates; indirect effects with bias-corrected bootstrap 95% CIs",
            data=[outputs["effects"], outputs["paths"]],
        ),
        TableBlock(
            outputs["effects"],
            caption="PREPARE: total, direct and indirect effects",
            columns=columns,
            suppression={},
            max_rows=300,
        ),
    ]
    diagnostics = TableBlock(
        outputs["diagnostics"],
        caption="PREPARE: mediation models (least squares; patients left out: incomplete changes)",
        suppression={},
    )
    return [
        ReportEntry("results", "PREPARE: mediation", blocks),
        ReportEntry("diagnostics", "PREPARE: mediation models", [diagnostics]),
    ]


def missing_data_sections(outputs, settings, seed: int) -> list[ReportEntry]:
    """Missing-data sensitivity entries."""
    mi = settings["multiple_imputation"]
    text = (
        f"{_first_upper(LIKELIHOOD)}; {imputation_label(mi['m'])}: chained predictive mean "
        f"matching ({mi['iterations']} iterations, {mi['donors']} donors, seed {seed}"
        f"{', each arm separately' if mi['by_arm'] else ''}) of the wide data "
        f"({', '.join(mi['outcomes'] + mi['auxiliary'])} at every time point; predictors "
        f"{', '.join(mi['predictors'] + settings['covariates']) or 'none'}), the mixed model "
        "refitted on each completed data set and pooled by Rubin's rules with Barnard-Rubin "
        f"degrees of freedom; {COMPLETE_CASES}."
    )
    columns = ["outcome", "analysis", "timepoint", "estimate", "conf_low", "conf_high", "df",
               "n_patients", "fmi"]  # fmt: skip
    return [
        ReportEntry(
            "sensitivity",
            "PREPARE: missing data",
            [
                TextBlock(text),
                TableBlock(
                    outputs["comparison"],
                    caption="PREPARE: between-arm differences under "
                    "three ways of handling missing data",
                    columns=columns,
                    suppression={},
                    max_rows=200,
                ),
            ],
        ),
        ReportEntry(
            "diagnostics",
            "PREPARE: missing-data models",
            [
                TableBlock(
                    outputs["diagnostics"],
                    caption="PREPARE: diagnostics of the missing-data analyses",
                    suppression={},
                )
            ],
        ),
    ]


def cace_sections(
    outputs, table: pd.DataFrame, settings: Mapping, arms: Sequence[str]
) -> list[ReportEntry]:
    """CACE beside ITT and the per-protocol dose comparison, each labelled by what it estimates."""
    cace = settings["cace"]
    vcov = {"HC1": "HC1 sandwich", "HC0": "HC0 sandwich", "classical": "classical"}[cace["vcov"]]
    text = (
        f"Adherence-adjusted effect (config `{KEY}.cace`): the complier-average causal effect "
        "(CACE), estimated by two-stage least squares with the randomised arm as the instrument "
        f"of receipt (receipt: at least {cace['threshold']} sessions attended in the "
        f"{arms[1]} arm; nobody in the {arms[0]} arm can receive it), both stages adjusted "
        "for the baseline value; "
        f"{vcov} standard errors, t intervals on n - k df. It is the effect among patients "
        "who would attend the threshold if offered the intervention, and rests on the "
        "instrumental-variable assumptions (randomisation acts on the outcome only through "
        "receipt; no one attends more because of being offered less). Beside it: the ITT "
        "estimate on the same patients (observed at baseline and at the time point) and the "
        "per-protocol dose comparison, which is not randomised."
    )
    lines = []
    for (outcome, timepoint), part in table.groupby(["outcome", "timepoint"], sort=False):
        rows = {r["analysis"].split(":")[0]: r for r in part.to_dict("records")}
        itt, iv = rows.get("ITT"), rows.get("CACE")
        per_protocol = rows.get("per protocol")
        line = f"- {outcome} at {timepoint}: ITT {_ci(itt)}; CACE {_ci(iv)}"
        line += (
            f" (compliance {100 * iv['compliance']:.0f}%, first-stage F {iv['first_stage_f']:.1f})"
        )
        if per_protocol is not None:
            line += f"; per protocol (non-randomised) {_ci(per_protocol)}"
        lines.append(line + ".")
    columns = ["outcome", "timepoint", "analysis", "estimate", "conf_low", "conf_high",
               "p_value", "n", "n_received", "compliance", "first_stage_f"]  # fmt: skip
    return [
        ReportEntry(
            "results",
            "PREPARE: adherence-adjusted effect (CACE)",
            [
                TextBlock(text + "\n\n" + "\n".join(lines)),
                TableBlock(
                    outputs["table"],
                    caption="PREPARE: ITT, CACE (2SLS) and "
                    "the per-protocol dose comparison (NON-RANDOMISED)",
                    columns=columns,
                    suppression={},
                    max_rows=100,
                ),
            ],
        ),
    ]
