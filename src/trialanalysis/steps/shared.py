"""Workflow steps shared by both trials: validate, score, psychometrics, CONSORT, report.

Each step takes the (validated) config as a plain dict and explicit file
paths, reads its inputs, calls the package functions that do the work and
writes tidy CSV files (with :mod:`trialanalysis.steps.io`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from trialanalysis.analyses.common.harms import harms_counts, harms_table, harms_text
from trialanalysis.ingest import validate_sources
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.psychometrics import (
    item_statistics,
    psychometrics_table,
    unverified_settings_table,
)
from trialanalysis.instruments.scoring import score_table
from trialanalysis.reporting.analysed import (
    ANALYSED_COUNTS,
    analysed_block,
    analysed_counts,
    responder_counts,
)
from trialanalysis.reporting.analysed import COLUMNS as ANALYSED_COLUMNS
from trialanalysis.reporting.assemble import SUMMARY_RANK, assemble_report, write_fragment
from trialanalysis.reporting.consort import (
    CONDITIONS,
    FLOW_COUNTS,
    SIZE_COUNTS,
    betterback_flow,
    flow_summary,
    patients_per_clinic,
    prepare_flow,
)
from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.flowchart import (
    analysed_stage,
    betterback_diagram,
    prepare_diagram,
    therapist_diagram,
)
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.provenance import run_stamp
from trialanalysis.reporting.sections import Block, FigureBlock, ReportEntry, TableBlock, TextBlock
from trialanalysis.reporting.suppression import SuppressionRule, suppress_counts
from trialanalysis.steps.io import declare, publish_table, read_table_csv, write_csv


@declare(
    inputs=("data", "instruments"),
    outputs=("tables", "summary", "mapping"),
    folders=("instruments",),
)
def validate_step(
    config: Mapping,
    outputs: Mapping[tuple[str, str], str],
    summary: str,
    mapping: str | None = None,
) -> None:
    """Validate all raw data; write analysis-ready tables, the summary and the mapping applied.

    Raises (and writes nothing) when any problem is found.
    """
    tables, validation, applied = validate_sources(dict(config))
    for (trial, table), path in outputs.items():
        write_csv(tables[trial][table], path)
    write_csv(validation, summary)
    if mapping is not None:
        write_csv(applied, mapping)


@declare(inputs=("table", "instruments"), folders=("instruments",))
def score_step(
    config: Mapping,
    trial: str,
    table: str,
    source: str,
    destination: str,
    keep_items: bool = False,
) -> None:
    """Score the instruments of one validated table; keep IDs, dates and scores."""
    instruments = load_instruments(config["instruments_dir"])
    names = config[trial]["instruments"].get(table, [])
    frame = read_table_csv(source)
    options = {k: v for k, v in config["scoring"]["options"].items() if k in names}
    scored = score_table(frame, {n: instruments[n] for n in names}, options=options)
    if not keep_items:
        items = {c for n in names for c in instruments[n].item_columns.values()}
        scored = scored.drop(columns=[c for c in scored.columns if c in items])
    write_csv(scored, destination)


@declare(
    inputs=("tables", "instruments"),
    outputs=("scales", "item_statistics", "unverified", "fragment"),
    folders=("instruments",),
)
def psychometrics_step(
    config: Mapping, sources: Mapping[tuple[str, str], str], outputs: Mapping[str, str]
) -> None:
    """Tabulate reliability, floor/ceiling and item statistics, and unverified settings.

    Parameters
    ----------
    config : mapping
        Validated workflow config.
    sources : mapping
        (trial, table) -> validated table with items, for tables with instruments.
    outputs : mapping
        ``scales``, ``item_statistics`` and ``unverified`` -> CSV paths, ``fragment``.
    """
    instruments = load_instruments(config["instruments_dir"])
    scales, items, used = [], [], {}
    for (trial, table), path in sources.items():
        names = config[trial]["instruments"].get(table, [])
        chosen = {n: instruments[n] for n in names}
        options = {k: v for k, v in config["scoring"]["options"].items() if k in names}
        used.update(chosen)
        frame = read_table_csv(path)
        by = "timepoint" if "timepoint" in frame.columns else None
        head = {"trial": trial, "table": table}
        scales.append(psychometrics_table(frame, chosen, by=by, options=options).assign(**head))
        items.append(item_statistics(frame, chosen, by=by, options=options).assign(**head))
    first = ["trial", "table"]
    for rows, key in ((scales, "scales"), (items, "item_statistics")):
        table = pd.concat(rows, ignore_index=True)
        if key == "scales":  # a score nobody answered at a time point says nothing
            table = table[table["n_respondents"] > 0]
        write_csv(table[first + [c for c in table.columns if c not in first]], outputs[key])
    ordered = dict(sorted(used.items()))
    options = {k: v for k, v in config["scoring"]["options"].items() if k in ordered}
    write_csv(unverified_settings_table(ordered, options), outputs["unverified"])
    columns = [
        "trial", "instrument", "column", "timepoint", "n_complete", "cronbach_alpha",
        "alpha_conf_low", "alpha_conf_high", "omega_total", "item_total_r_min",
        "floor_pct", "ceiling_pct", "missing_items_pct",
    ]  # fmt: skip
    text = (
        "Cronbach's alpha with Feldt 95% CI and McDonald's omega (one-factor maximum "
        "likelihood) on complete cases; floor and ceiling: % of respondents at the lowest "
        "and highest possible score; item statistics in the file named below the table. "
        "Scores without respondents at a time point are not shown; formative indices "
        "(items that form rather than reflect the construct, `formative: true` in the "
        "instrument file) have no internal consistency."
    )

    blocks = [
        TextBlock(text),
        TableBlock(
            outputs["scales"],
            caption="Reliability, floor and ceiling effects",
            columns=columns,
            suppression={},
            max_rows=400,
        ),
        TableBlock(
            outputs["unverified"],
            caption="Scoring settings not confirmed by "
            "public sources: check them against the trial's own forms",
            suppression={},
        ),
    ]
    write_fragment(
        outputs["fragment"],
        [ReportEntry("psychometrics", "Instruments", blocks)],
    )


@declare(
    inputs=("tables", "analysed", "responders", "scores"),
    outputs=(
        "betterback",
        "prepare",
        "cluster_sizes",
        "betterback_analysed",
        "prepare_analysed",
        "betterback_figure",
        "therapist_figure",
        "prepare_figure",
        "pngs",
        "fragment",
    ),
)
def consort_step(
    config: Mapping,
    sources: Mapping[tuple[str, str], str],
    outputs: Mapping[str, str],
    analysed: Mapping[str, str] | None = None,
    scores: Mapping[str, str] | None = None,
    responders: str | None = None,
) -> None:
    """Count the CONSORT flow of both trials from the validated data; draw the diagrams.

    Parameters
    ----------
    config : mapping
        Validated workflow config (time points, arms, primary outcomes;
        ``privacy`` and ``reporting`` for the suppression rule and labels).
    sources : mapping
        (trial, table) -> validated table.
    outputs : mapping
        ``betterback``, ``prepare``, ``cluster_sizes``, ``betterback_analysed``,
        ``prepare_analysed`` (CSV), ``betterback_figure``, ``therapist_figure``,
        ``prepare_figure`` (SVG; PNG written beside) and ``fragment``.
    analysed : mapping, optional
        Trial -> CSV of the rows (``patient_id, timepoint, outcome``) that
        entered each outcome's model, as the analysis step wrote them.
    scores : mapping, optional
        Trial -> CSV of the scored patient questionnaires (for the reasons a
        patient was not analysed). Without ``analysed`` and ``scores`` the
        analysed tables are empty and the diagrams say "not reported".
    responders : str, optional
        CSV of the PREPARE responder analyses (``<arm>_n`` analysed and
        ``<arm>_undefined`` unclassifiable per definition and time point).
    """
    tables = {key: read_table_csv(path) for key, path in sources.items()}
    betterback = {t: frame for (trial, t), frame in tables.items() if trial == "betterback"}
    prepare = {t: frame for (trial, t), frame in tables.items() if trial == "prepare"}
    timepoints = config["betterback"]["timepoints"]
    flow_bb = betterback_flow(betterback, timepoints["patient"], timepoints["therapist"])
    flow_pr = prepare_flow(prepare, config["prepare"]["timepoints"], config["prepare"]["arms"])
    sizes = patients_per_clinic(betterback["patients"])
    counted = _analysed_tables(config, betterback, prepare, analysed or {}, scores or {})
    if responders and scores and "prepare" in scores:
        extra = responder_counts(
            "prepare", _groups(prepare["patients"], "arm", config["prepare"]["arms"]),
            read_table_csv(scores["prepare"]), read_table_csv(responders),
            config["prepare"]["timepoints"][0],
        )  # fmt: skip
        counted["prepare"] = pd.concat([counted["prepare"], extra], ignore_index=True)
    write_csv(flow_bb, outputs["betterback"])
    write_csv(flow_pr, outputs["prepare"])
    write_csv(sizes, outputs["cluster_sizes"])
    for trial, table in counted.items():
        write_csv(table, outputs[f"{trial}_analysed"])
    # the diagrams show the counts the tables show: suppressed by the same rule
    rule, labels = SuppressionRule.from_config(config), run_labels(config)
    shown_bb = suppress_counts(flow_bb, FLOW_COUNTS, rule).table
    shown_pr = suppress_counts(flow_pr, FLOW_COUNTS, rule).table
    shown_sizes = suppress_counts(sizes, SIZE_COUNTS, rule).table
    shown = {t: suppress_counts(c, ANALYSED_COUNTS, rule).table for t, c in counted.items()}
    patients = config["betterback"]["analyses"]["patients"]
    primaries = [o["score"] for o in patients["outcomes"] if o.get("primary")]
    pr = config["prepare"]["analyses"]
    stages = {
        "betterback": analysed_stage(
            shown["betterback"], CONDITIONS, primaries, [patients["primary_timepoint"]], labels
        ),
        "prepare": analysed_stage(
            shown["prepare"], config["prepare"]["arms"], [pr["primary_outcome"]],
            config["prepare"]["timepoints"][1:], labels,
        ),
    }  # fmt: skip
    figures = {
        "betterback_figure": betterback_diagram(
            shown_bb, shown_sizes, labels, stages["betterback"]
        ),
        "therapist_figure": therapist_diagram(shown_bb, labels),
        "prepare_figure": prepare_diagram(shown_pr, labels, stages["prepare"]),
    }
    png = {key: str(save_figure(fig, outputs[key])[1]) for key, fig in figures.items()}
    summary = [
        TextBlock(
            f"{flow_summary(flow_bb, rule, labels)}\n\n{flow_summary(flow_pr, rule, labels)}"
        )
    ]
    analysed_text = (
        "Analysed: the patients whose row at the time point entered the outcome's model (as "
        "the analysis reports them), per outcome and arm or condition; those not analysed are "
        "counted by the first reason that applies: no value of the outcome at the time point, "
        "no baseline score (which the model needs), other (e.g. a missing covariate). "
        "Clinics, therapists and patients recruited and analysed per allocation unit and "
        "period, with the period dates, are in the cluster × period table (BetterBack: what "
        "the treatment effect rests on)."
    )
    flow_blocks = [
        FigureBlock(
            png["betterback_figure"],
            caption="BetterBack: flow of clusters, "
            "clinics and patients (CONSORT cluster extension)",
            data=[outputs["betterback"], outputs["betterback_analysed"]],
        ),
        TextBlock(analysed_text),
        analysed_block(
            outputs["betterback_analysed"],
            "BetterBack: patients analysed per outcome, time point and condition, with "
            "reasons for exclusion",
        ),
        FigureBlock(
            png["therapist_figure"],
            caption="BetterBack: therapist cohort",
            data=[outputs["betterback"]],
        ),
        TableBlock(
            outputs["cluster_sizes"],
            caption="BetterBack: patients per clinic by condition",
            suppression=SIZE_COUNTS,
        ),
        FigureBlock(
            png["prepare_figure"],
            caption="PREPARE: flow of patients",
            data=[outputs["prepare"], outputs["prepare_analysed"]],
        ),
        TableBlock(outputs["prepare"], caption="PREPARE: flow counts", suppression=FLOW_COUNTS),
        analysed_block(
            outputs["prepare_analysed"],
            "PREPARE: patients analysed per outcome, time point and arm, with reasons for "
            "exclusion",
        ),
    ]
    write_fragment(
        outputs["fragment"],
        [
            ReportEntry("summary", "Participants", summary, rank=SUMMARY_RANK["flow"]),
            ReportEntry("consort", "Both trials", flow_blocks),
        ],
    )  # fmt: skip


def _groups(patients: pd.DataFrame, column: str, order) -> pd.Series:
    """Group of every patient (indexed by ``patient_id``), in the configured order."""
    return pd.Series(
        pd.Categorical(patients[column], categories=list(order)),
        index=patients["patient_id"].astype(str),
    )


def _analysed_tables(config, betterback, prepare, analysed, scores) -> dict[str, pd.DataFrame]:
    """Return the analysed counts of both trials (empty where the inputs are absent)."""
    bb_times = config["betterback"]["timepoints"]["patient"]
    pr_times = config["prepare"]["timepoints"]
    groups = {
        "betterback": _groups(betterback["patients"], "condition", CONDITIONS),
        "prepare": _groups(prepare["patients"], "arm", config["prepare"]["arms"]),
    }
    times = {"betterback": bb_times, "prepare": pr_times}
    counted = {}
    for trial in ("betterback", "prepare"):
        if trial not in analysed or trial not in scores:
            counted[trial] = pd.DataFrame(columns=ANALYSED_COLUMNS)
            continue
        counted[trial] = analysed_counts(
            trial, groups[trial], read_table_csv(scores[trial]),
            read_table_csv(analysed[trial]), times[trial][1:], times[trial][0],
        )  # fmt: skip
    return counted


@declare(inputs=("fragments", "data", "summary", "mapping"))
def report_step(
    config: Mapping,
    fragments: list[str],
    input_files: list[str],
    validation_summary: str,
    output: str,
    started_file: str | None = None,
    mapping: str | None = None,
) -> None:
    """Write the HTML report; the run start is read from ``started_file`` if it exists."""
    started = None
    if started_file and Path(started_file).exists():
        started = Path(started_file).read_text("utf-8").strip() or None
    assemble_report(
        config,
        fragments,
        input_files=input_files,
        validation_summary=validation_summary,
        output=output,
        started=started,
        finished=run_stamp(),
        mapping=mapping,
    )


HARMS_GROUPS = {"betterback": ("condition", "BetterBack"), "prepare": ("arm", "PREPARE")}


@declare(inputs=("events", "patients", "summary"), outputs=("table", "tables", "fragment"))
def harms_step(
    config: Mapping, trial: str, inputs: Mapping[str, str], outputs: Mapping[str, str]
) -> None:
    """Tabulate one trial's adverse events by arm or condition; write tables and fragment.

    Parameters
    ----------
    config : mapping
        Validated config (arms of PREPARE, ``privacy``, ``reporting``).
    trial : str
        ``betterback`` or ``prepare``.
    inputs : mapping
        ``events`` and ``patients`` (validated tables) and ``summary`` (the
        validation summary, which says whether the optional table was supplied).
    outputs : mapping
        ``table`` (CSV), ``tables`` (folder of the manuscript formats), ``fragment``.
    """
    group, label = HARMS_GROUPS[trial]
    groups = list(config["prepare"]["arms"]) if trial == "prepare" else list(CONDITIONS)
    summary = read_table_csv(inputs["summary"])
    mine = summary[(summary["trial"] == trial) & (summary["table"] == "adverse_events")]
    present = not mine["dropped"].astype(str).str.startswith("absent").any()
    harms = harms_table(
        read_table_csv(inputs["events"]), read_table_csv(inputs["patients"]), group, groups
    )
    write_csv(harms.table, outputs["table"])
    headers = {"label": ""}
    for g in groups:
        name = g.replace("_", " ")
        headers |= {f"{g}_n": f"{name}: n", f"{g}_percent": f"{name}: %"}
    blocks: list[Block] = [TextBlock(harms_text(harms, label, present))]
    if present:
        block = TableBlock(
            outputs["table"],
            caption=f"{label}: adverse events by {group}",
            columns=["label"] + [f"{g}_{s}" for g in groups for s in ("n", "percent")],
            labels=headers,
            suppression=harms_counts(groups),
        )
        blocks.append(publish_table(harms.table, outputs["tables"], "harms", config, block))
    else:
        # Data without the optional table still give the rule's folder (empty).
        Path(outputs["tables"]).mkdir(parents=True, exist_ok=True)
    entry = ReportEntry("harms", f"{label}: adverse events", blocks)
    write_fragment(outputs["fragment"], [entry])
