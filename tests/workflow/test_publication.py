"""The published report keeps the small-cell rule: checked on a second simulated draw.

The same checks run on the example data in ``test_workflow.py`` (its finished
run); here the checker itself is tested on reports with planted leaks, and a
whole workflow runs on data simulated with another seed.
"""

import pandas as pd
import pytest

from tests.reporting.chromium import CHROMIUM, WIDTH, baseline_tables_outside, render_report
from tests.reporting.docx_layout import layout, text_width
from tests.workflow.project import copy_project, snakemake
from tests.workflow.publication import (
    analysed_mismatches,
    code_names_shown,
    numbering_problems,
    section_order,
    suppression_problems,
    table_captions,
)
from trialanalysis.cli.simulate import simulate_to_folder
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.markup import table_html
from trialanalysis.reporting.report import REPORT_OUTLINE
from trialanalysis.reporting.tables import format_table


def page(*tables, text=""):
    return "<p>" + text + "</p>" + "".join(table_html(t) for t in tables)


def test_the_checker_finds_planted_leaks():
    counts = pd.DataFrame({"group": ["a", "b"], "n": [3, 50]})
    assert suppression_problems(page(format_table(counts, caption="ok"))) == []
    leaked = format_table(counts, caption="leak")
    leaked.cells.loc[0, "n"] = "3"  # as if the rule had not been applied
    assert suppression_problems(page(leaked)) == ["leak: count 3 shown"]
    unmarked = format_table(counts, caption="unmarked")
    unmarked.counts = None  # a renderer that forgot to mark its counts
    assert "column 'n' counts but is not marked" in suppression_problems(page(unmarked))[0]
    assert suppression_problems(page(text="Of 200 patients, 3 patients withdrew.")) == [
        "text: '3 patients'"
    ]
    clinics = pd.DataFrame({"sequence": ["A"], "n_clinics": [3], "mean": [2.0]})
    assert suppression_problems(page(format_table(clinics, caption="clinics"))) == []


@pytest.mark.slow
def test_a_second_simulated_draw_keeps_the_rule(tmp_path):
    workdir = copy_project(tmp_path / "project")
    data = workdir / "data" / "example"
    simulate_to_folder(data, workdir / "config" / "simulation.yaml",
                       workdir / "config" / "instruments", seed=7)  # fmt: skip
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    results = workdir / "results"
    html = (results / "report" / "report.html").read_text("utf-8")
    assert suppression_problems(html) == []
    for trial in ("betterback", "prepare"):
        harms = pd.read_csv(results / trial / "harms" / "harms.csv")
        assert harms.loc[harms["row"] == "events"].filter(like="_n").sum(axis=1).iloc[0] > 0
        assert f"{'BetterBack' if trial == 'betterback' else 'PREPARE'}: adverse events" in html
    assert "Harms (adverse events)" in html
    # tables and figures numbered in order, Table 1 the baseline table, a paper's order
    assert numbering_problems(html) == []
    first = next(c for c in table_captions(html) if c.startswith("Table 1."))
    assert first.startswith("Table 1. BetterBack: patient characteristics at baseline")
    assert [s for s in section_order(html) if s in REPORT_OUTLINE] == list(REPORT_OUTLINE)
    # the baseline tables fit an A4 page in Word
    for path in [*(results / "betterback" / "tables" / "table1").glob("*.docx"),
                 results / "prepare" / "table1.docx"]:  # fmt: skip
        found = layout(path)
        assert found["page"] == 11906 and sum(found["columns"]) <= text_width(found), path
    # the baseline tables fit a 1200 px window (where Chromium is installed)
    if CHROMIUM is not None:
        measured = render_report(results / "report" / "report.html", tmp_path)
        assert measured["viewport"] == WIDTH
        assert baseline_tables_outside(measured) == []
    # CONSORT "analysed" = the N of every model, per outcome and arm; labels, not codes
    assert analysed_mismatches(results) == []
    labels = run_labels({"instruments_dir": str(workdir / "config" / "instruments")})
    assert code_names_shown(html, labels) == []


def test_the_code_checker_finds_codes_in_prose_only():
    labels = run_labels({})
    html = (
        "<p>Returned at 3m: 90 waiting_list.</p><pre>odi_total: 3m</pre><p><code>3m</code></p>"
        '<p>odi_total ~ timepoint</p><section id="provenance"><p>waiting_list</p></section>'
    )
    found = code_names_shown(html, labels)
    assert sorted(f.split(" in ")[0] for f in found) == ["'3m'", "'waiting_list'"]
