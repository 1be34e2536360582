"""Build a complete example report from data/example (used by the report, determinism and
browser tests; runnable as ``python example_report.py RESULTS STARTED FINISHED``).

It wires the reporting functions the way a workflow would: tables and figures are
written to files first, and the report names those files.
"""

import sys
from pathlib import Path

import pandas as pd

from trialanalysis.config import load_config
from trialanalysis.instruments import load_instruments
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
from trialanalysis.reporting.report import REPORT_OUTLINE, RunStamp, write_report
from trialanalysis.steps.io import write_table

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


def baseline_table(patients: pd.DataFrame) -> pd.DataFrame:
    """A small tidy Table 1 (sex by condition) for the example."""
    counts = patients.groupby(["condition", "sex"]).size().rename("n").reset_index()
    counts["percent"] = 100 * counts["n"] / counts.groupby("condition")["n"].transform("sum")
    return counts


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
    table1 = write_table(
        baseline_table(bb["patients"]),
        results / "table1_betterback",
        caption="Sex by condition, BetterBack",
        source="data/example/betterback/patients.csv",
    )

    schedule = str(EXAMPLE / "betterback" / "schedule.csv")
    text = {
        id_: f"Example text of the {title.lower()} section."
        for id_, title in REPORT_OUTLINE.items()
    }
    sections = [
        {
            "id": "summary",
            "title": REPORT_OUTLINE["summary"],
            "blocks": [{"text": f"{flow_summary(flow_bb)}\n\n{flow_summary(flow_pr)}"}],
        },
        {
            "id": "design",
            "title": REPORT_OUTLINE["design"],
            "blocks": [
                {
                    "figure": str(results / "design.svg"),
                    "caption": "Cluster x period",
                    "data": [schedule],
                }
            ],
        },
        {
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
        {
            "id": "table1",
            "title": REPORT_OUTLINE["table1"],
            "blocks": [
                {
                    "table": str(table1["csv"]),
                    "caption": "Sex by condition",
                    "suppression": {
                        "count_columns": ["n"],
                        "min_cell_size": 5,
                        "dependent_columns": ["percent"],
                    },
                }
            ],
        },
        *[
            {"id": key, "title": REPORT_OUTLINE[key], "blocks": [{"text": text[key]}]}
            for key in ["results", "icc", "sensitivity", "psychometrics", "diagnostics"]
        ],
        methods_section(config, load_instruments(ROOT / config["instruments_dir"]), MODELS),
        provenance_section(
            input_files=sorted(EXAMPLE.rglob("*.csv")),
            config=config,
            root=ROOT,
            tables={f"betterback/{k}": v for k, v in bb.items()},
            git={"commit": "0" * 40, "dirty": "no"},
        ),
    ]
    return write_report(
        sections,
        results / "report.html",
        title="Example report",
        run=RunStamp(started, finished),
        root=results,
    )


if __name__ == "__main__":
    build_example(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
