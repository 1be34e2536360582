"""Build a complete example report from data/example (used by the report, determinism and
browser tests; runnable as ``python example_report.py RESULTS STARTED FINISHED``).

It wires the reporting functions the way a workflow would: tables and figures are
written to files first, and the report names those files. The baseline tables are
the real ones: the example data are validated and scored and both trials' table-1
steps write them with their report fragments.
"""

import sys
from pathlib import Path

import pandas as pd

from trialanalysis.config import load_config
from trialanalysis.instruments import load_instruments
from trialanalysis.reporting.assemble import generated_sections, read_fragments
from trialanalysis.reporting.consort import (
    betterback_flow,
    flow_summary,
    patients_per_clinic,
    prepare_flow,
)
from trialanalysis.reporting.figures import design_schematic, save_figure
from trialanalysis.reporting.flowchart import (
    betterback_diagram,
    prepare_diagram,
    therapist_diagram,
)
from trialanalysis.reporting.methods import methods_section
from trialanalysis.reporting.provenance import provenance_section
from trialanalysis.reporting.report import REPORT_OUTLINE, RunStamp, arrange_sections, write_report
from trialanalysis.steps.betterback import betterback_table1_step
from trialanalysis.steps.prepare import prepare_table1_step
from trialanalysis.steps.shared import score_step, validate_step

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "example"
BETTERBACK = [
    "clinics",
    "schedule",
    "therapists",
    "therapist_responses",
    "patients",
    "patient_outcomes",
]
MODELS = [
    {
        "trial": "betterback",
        "name": "primary_odi",
        "outcome": "odi_total",
        "formula": "odi_total ~ condition + factor(period) + odi_baseline + (1 | clinic_id)",
        "df_method": "satterthwaite",
        "missing_data": "all available follow-ups, assumed missing at random.",
    }
]


def baseline_entries(results: Path) -> dict[str, list[dict]]:
    """Run both trials' table-1 steps on the validated, scored example data.

    Returns the report entries they write, by outline section (``table1``, ``design``).
    """
    config = load_config(
        ROOT / "config" / "config.yaml",
        overrides={
            "data_dir": str(EXAMPLE),
            "instruments_dir": str(ROOT / "config" / "instruments"),
        },
    )
    data, scores, out = results / "data", results / "scores", results / "table1"
    tables = {
        (trial, table): str(data / trial / f"{table}.csv")
        for trial in ("betterback", "prepare")
        for table in config[trial]["files"]
    }
    validate_step(config, tables, str(results / "summary.csv"))
    scored = {}
    for trial, table in (
        ("betterback", "patient_outcomes"),
        ("betterback", "therapist_responses"),
        ("prepare", "outcomes"),
    ):
        scored[table] = str(scores / trial / f"{table}.csv")
        score_step(config, trial, table, tables[(trial, table)], scored[table])
    bb = {n: tables[("betterback", n)] for n in ("patients", "clinics", "therapists")}
    betterback_table1_step(
        config,
        {
            **bb,
            "patient_scores": scored["patient_outcomes"],
            "therapist_scores": scored["therapist_responses"],
            "instruments": config["instruments_dir"],
        },
        {
            **{n: str(out / f"betterback_{n}.csv") for n in ("clinics", "therapists", "patients")},
            "tables": str(out / "betterback"),
            "fragment": str(out / "betterback.yaml"),
        },
    )
    prepare_table1_step(
        config,
        {
            "patients": tables[("prepare", "patients")],
            "outcomes": scored["outcomes"],
            "instruments": config["instruments_dir"],
        },
        {
            "tables": [str(out / "prepare" / f"table1.{f}") for f in ("csv", "html", "docx")],
            "fragment": str(out / "prepare.yaml"),
        },
    )
    grouped, _ = read_fragments([out / "betterback.yaml", out / "prepare.yaml"])
    return grouped


def build_example(results: Path, started: str, finished: str) -> Path:
    config = load_config(ROOT / "config" / "config.yaml")
    tp = config["betterback"]["timepoints"]
    bb = {n: pd.read_csv(EXAMPLE / "betterback" / f"{n}.csv") for n in BETTERBACK}
    pr = {n: pd.read_csv(EXAMPLE / "prepare" / f"{n}.csv") for n in ["patients", "outcomes"]}
    results.mkdir(parents=True, exist_ok=True)

    flow_bb = betterback_flow(bb, tp["patient"], tp["therapist"])
    flow_pr = prepare_flow(pr, config["prepare"]["timepoints"], config["prepare"]["arms"])
    flow_bb.to_csv(results / "consort_betterback.csv", index=False, lineterminator="\n")
    flow_pr.to_csv(results / "consort_prepare.csv", index=False, lineterminator="\n")
    sizes = patients_per_clinic(bb["patients"])
    save_figure(betterback_diagram(flow_bb, sizes), results / "consort_betterback")
    save_figure(therapist_diagram(flow_bb), results / "consort_therapists")
    save_figure(prepare_diagram(flow_pr), results / "consort_prepare")
    save_figure(design_schematic(bb["schedule"], bb["clinics"]), results / "design")
    schedule = str(EXAMPLE / "betterback" / "schedule.csv")
    baseline = baseline_entries(results)
    found = {
        "summary": {
            "id": "summary",
            "title": REPORT_OUTLINE["summary"],
            "blocks": [{"text": f"{flow_summary(flow_bb)}\n\n{flow_summary(flow_pr)}"}],
        },
        "design": {
            "id": "design",
            "title": REPORT_OUTLINE["design"],
            "blocks": [
                {
                    "figure": str(results / "design.svg"),
                    "caption": "Cluster x period",
                    "data": [schedule],
                }
            ],
            "subsections": [_entry(e) for e in baseline["design"]],
        },
        "consort": {
            "id": "consort",
            "title": REPORT_OUTLINE["consort"],
            "blocks": [
                {
                    "figure": str(results / "consort_betterback.png"),
                    "caption": "BetterBack",
                    "data": [str(results / "consort_betterback.csv")],
                },
                {
                    "figure": str(results / "consort_therapists.png"),
                    "caption": "Therapists",
                    "data": [str(results / "consort_betterback.csv")],
                },
                {
                    "figure": str(results / "consort_prepare.png"),
                    "caption": "PREPARE",
                    "data": [str(results / "consort_prepare.csv")],
                },
                {
                    "table": str(results / "consort_prepare.csv"),
                    "caption": "PREPARE flow",
                    "suppression": {},
                },
            ],
        },
        "table1": {
            "id": "table1",
            "title": REPORT_OUTLINE["table1"],
            "subsections": [_entry(e) for e in baseline["table1"]],
        },
        **{
            key: {"id": key, "title": REPORT_OUTLINE[key], "blocks": [{"text": text}]}
            for key, text in EXAMPLE_TEXT.items()
        },
        "provenance": provenance_section(
            input_files=sorted(EXAMPLE.rglob("*.csv")),
            config=config,
            root=ROOT,
            tables={f"betterback/{k}": v for k, v in bb.items()},
            git={"commit": "0" * 40, "dirty": "no"},
        ),
    }
    methods = methods_section(config, load_instruments(ROOT / config["instruments_dir"]), MODELS)
    found.update(generated_sections(config, methods, power=False))
    return write_report(
        arrange_sections(found, {"methods": methods.blocks}),
        results / "report.html",
        title="Example report",
        run=RunStamp(started, finished),
        root=results,
    )


EXAMPLE_TEXT = {
    key: f"Example text of the {REPORT_OUTLINE[key].lower()} section."
    for key in ("results", "harms", "icc", "sensitivity", "psychometrics", "diagnostics")
}


def _entry(entry: dict) -> dict:
    """A fragment entry as a subsection."""
    return {"title": entry["title"], "blocks": entry["blocks"]}


if __name__ == "__main__":
    build_example(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
