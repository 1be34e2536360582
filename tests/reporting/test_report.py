"""The HTML report: self-contained, traceable, data-driven, identical outside the run stamp."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
import yaml

from trialanalysis.config import load_config
from trialanalysis.errors import ReportError
from trialanalysis.instruments import load_instruments
from trialanalysis.reporting.methods import item_ranges, methods_section, scoring_rules
from trialanalysis.reporting.provenance import provenance_section, row_counts
from trialanalysis.reporting.report import (
    REPORT_OUTLINE,
    RUN_STAMP_BEGIN,
    RunStamp,
    render_report,
    strip_run_stamp,
    text_to_html,
)
from trialanalysis.reporting.sections import (
    Section,
    TableBlock,
    TextBlock,
    section_from_dict,
    sections_from_dicts,
)
from trialanalysis.reporting.suppression import SuppressionRule

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from docx_layout import layout, text_width  # noqa: E402
from example_report import MODELS, build_example  # noqa: E402


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    path = build_example(results, "2026-01-01T10:00:00+00:00", "2026-01-01T10:02:30+00:00")
    return results, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def config():
    return load_config(ROOT / "config" / "config.yaml")


@pytest.fixture(scope="module")
def instruments():
    return load_instruments(ROOT / "config" / "instruments")


def minimal(**extra):
    return render_report([Section("Only", [TextBlock("x")])], outline=None, **extra)


def test_report_has_every_outline_section_and_its_content(example):
    _, html = example
    for section_id in [*REPORT_OUTLINE, "run-stamp", "report-files", "methods-models"]:
        assert f'<section id="{section_id}"' in html
    assert html.count('<img src="data:image/') == 4
    assert "odi_total ~ condition + factor(period) + odi_baseline + (1 | clinic_id)" in html
    assert "Satterthwaite" in html
    assert "se_experience_burstrom2014" in html


def test_report_is_self_contained(example):
    _, html = example
    assert "<script" not in html and "<link" not in html and "@import" not in html
    for attribute in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert attribute.startswith(("data:", "#")), attribute
    assert "url(" not in html
    # every embedded image decodes to the bytes of the file it names
    images = re.findall(r'src="data:image/(?:png|svg\+xml);base64,([^"]+)"', html)
    assert len(images) == 4


def test_every_table_and_figure_names_its_file_and_hash(example):
    results, html = example
    figures = re.findall(r'<figure class="figure-block">.*?</figure>', html, flags=re.DOTALL)
    assert len(figures) == 4
    for figure in figures:
        name = re.search(r"Figure file:</span> <code>([^<]+)</code>", figure).group(1)
        digest = hashlib.sha256((results / name).read_bytes()).hexdigest()
        assert f"SHA-256 {digest}" in figure
        assert "Drawn from" in figure
    content = html.split('<section id="report-files"')[0]
    tables = re.findall(r'<div class="table-block">.*?</div>', content, flags=re.DOTALL)
    assert len(tables) == content.count("<table ") >= 8
    for table in tables:
        assert "Source file:" in table or "Source:</span>" in table
    listed = re.search(r'<section id="report-files".*?</section>', html, flags=re.DOTALL).group(0)
    for name in ["design.svg", "consort_prepare.csv", "table1/betterback_patients.csv"]:
        digest = hashlib.sha256((results / name).read_bytes()).hexdigest()
        assert f"<code>{name}</code>" in listed and digest in listed


def test_numbers_in_the_report_come_from_the_files(example):
    results, html = example
    flow = pd.read_csv(results / "consort_prepare.csv")
    randomised = flow.query("stage == 'randomised'")["n"].iloc[0]
    assert f'<td class="num count">{randomised}</td>' in html
    table1 = pd.read_csv(results / "table1" / "betterback_patients.csv")
    female = table1.set_index(["variable", "category"]).loc[("sex", "female")]
    cell = f"{int(female['control_n'])} ({female['control_percent']:.1f}%)"
    assert f'<td class="num count">{cell}</td>' in html


def test_baseline_tables_fit_an_a4_page_in_word(example):
    results, _ = example
    files = sorted((results / "table1").rglob("*.docx"))
    names = {p.name for p in files}
    assert {"table1_patients.docx", "table1_therapists.docx", "table1.docx"} <= names
    for path in files:
        found = layout(path)
        assert found["page"] == 11906, path  # A4 portrait: 210 mm
        assert found["fixed"], path
        assert sum(found["columns"]) <= text_width(found), (path, found["columns"])
        for row in found["cells"]:
            assert row == found["columns"], path  # every cell as wide as its column
        assert max(found["font_half_points"]) <= 18  # at most 9 pt


def test_run_stamp_is_the_only_volatile_part():
    sections = [Section("A", [TextBlock("same")])]
    one = render_report(sections, outline=None, run=RunStamp("2026-01-01T10:00:00+00:00"))
    two = render_report(
        sections,
        outline=None,
        run=RunStamp("2027-06-30T23:59:59+00:00", "2027-07-01T01:05:09+00:00"),
    )
    assert one != two
    assert strip_run_stamp(one) == strip_run_stamp(two)
    assert "Duration: 65 min 10 s." in two
    assert "Report written: <time>not recorded</time>" in one
    assert RunStamp(finished="2026-01-01T00:00:00+00:00").duration == ""
    assert one.count(RUN_STAMP_BEGIN) == 1
    with pytest.raises(ReportError, match="run-stamp"):
        strip_run_stamp("<html></html>")


def run_example(results: Path, started: str, finished: str, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": hash_seed}
    subprocess.run(
        [sys.executable, str(HERE / "example_report.py"), str(results), started, finished],
        check=True,
        env=env,
        cwd=results.parent,
    )


def checksums(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "report.html":
            data = strip_run_stamp(data.decode("utf-8")).encode("utf-8")
        out[path.relative_to(folder).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def test_two_clean_runs_are_identical_outside_the_run_stamp(tmp_path):
    results = tmp_path / "results"
    run_example(results, "2026-01-01T10:00:00+00:00", "2026-01-01T10:01:00+00:00", "1")
    first = checksums(results)
    first_report = (results / "report.html").read_text(encoding="utf-8")
    shutil.rmtree(results)
    run_example(results, "2026-02-02T08:00:00+00:00", "2026-02-02T08:09:00+00:00", "2")
    second_report = (results / "report.html").read_text(encoding="utf-8")
    assert first_report != second_report  # the stamps differ ...
    assert checksums(results) == first  # ... and nothing else does
    # csv, png, svg, docx, tex, html files, the baseline tables and their fragments, the report
    assert {"report.html", "table1/prepare/table1.docx", "table1/betterback.yaml"} <= set(first)
    assert len(first) > 40


def test_sections_from_dicts_are_checked():
    with pytest.raises(ReportError, match="at least a title"):
        section_from_dict({"blocks": []})
    with pytest.raises(ReportError, match="unknown key"):
        section_from_dict({"title": "x", "tables": []})
    with pytest.raises(ReportError, match="exactly one of the keys"):
        section_from_dict({"title": "x", "blocks": [{"caption": "no kind"}]})
    with pytest.raises(ReportError, match=r"unknown key\(s\) \['colour'\]"):
        section_from_dict({"title": "x", "blocks": [{"figure": "a.png", "colour": "red"}]})
    with pytest.raises(ReportError, match="more than once"):
        sections_from_dicts([{"title": "A"}, {"title": "B", "subsections": [{"title": "A"}]}])
    built = section_from_dict(
        {"title": "Primary results", "blocks": [{"figure": "f.png", "data": "d.csv"}]}
    )
    assert built.id == "primary-results"
    assert built.blocks[0].data == ["d.csv"]


def test_missing_files_are_all_listed(tmp_path):
    sections = [
        {"title": "A", "blocks": [{"table": str(tmp_path / "nope.csv")}]},
        {"title": "B", "blocks": [{"figure": str(tmp_path / "nope.png"), "data": ["gone.csv"]}]},
    ]
    with pytest.raises(ReportError) as error:
        render_report(sections, outline=None)
    for name in ["nope.csv", "nope.png", "gone.csv"]:
        assert name in str(error.value)


def test_unreadable_csv_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ReportError, match="not a readable CSV"):
        render_report([{"title": "A", "blocks": [{"table": str(empty)}]}], outline=None)


def test_table_file_with_a_further_source(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("x\n1\n")
    block = {"table": str(table), "source": "model fit of results/fit.rds"}
    html = render_report([{"title": "A", "blocks": [block]}], outline=None, root=tmp_path)
    assert "Source file:</span> <code>t.csv</code>" in html
    assert "Source:</span> model fit of results/fit.rds" in html


def test_dataframe_tables_need_a_source():
    with pytest.raises(ReportError, match="needs a source"):
        render_report([Section("A", [TableBlock(pd.DataFrame({"x": [1]}))])], outline=None)


def test_only_png_and_svg_are_embedded(tmp_path):
    image = tmp_path / "plot.jpg"
    image.write_bytes(b"\xff\xd8")
    with pytest.raises(ReportError, match="can be embedded"):
        render_report([{"title": "A", "blocks": [{"figure": str(image)}]}], outline=None)


def test_outline_is_enforced_unless_relaxed():
    with pytest.raises(ReportError, match="consort"):
        render_report([Section("Summary", id="summary")])
    html = render_report([Section("Summary", id="summary")], strict=False)
    assert 'id="missing-sections"' in html and "design (Design)" in html
    assert "Nothing is reported in this section." in html


def test_every_table_is_suppressed_by_the_one_rule(tmp_path):
    table = tmp_path / "counts.csv"
    pd.DataFrame({"group": ["a", "b"], "n": [3, 50], "percent": [5.7, 94.3]}).to_csv(
        table, index=False
    )
    # nothing declared: "n" is a count by its name, "percent" is derived from it
    # (config defaults); "suppression: {}" cannot turn it off
    for block in ({"table": str(table)}, {"table": str(table), "suppression": {}}):
        html = render_report([{"title": "T", "blocks": [block]}], outline=None)
        assert '<td class="num count">&lt;5</td><td class="num"></td>' in html
    declared = {"table": str(table), "suppression": {"dependent_columns": ["percent"]}}
    html = render_report([{"title": "T", "blocks": [declared]}], outline=None)
    assert '<td class="num count">&lt;5</td><td class="num"></td>' in html
    assert '<td class="num">94.3</td>' in html
    html = render_report(
        [{"title": "T", "blocks": [declared]}],
        outline=None,
        suppression_rule=SuppressionRule(min_cell_size=2, count_patterns=("n",)),
    )
    assert '<td class="num count">3</td>' in html


def test_table_options_reach_the_rendering(tmp_path):
    table = tmp_path / "fit.csv"
    pd.DataFrame({"term": [f"t{i}" for i in range(5)], "estimate": [1.23456] * 5}).to_csv(
        table, index=False
    )
    block = {
        "table": str(table),
        "caption": "Fit",
        "rounding": [{"columns": "estimate", "style": "fixed", "digits": 4}],
        "labels": {"estimate": "Mean difference"},
        "max_rows": 2,
        "provenance": {"model": "y ~ x + (1 | g)"},
    }
    html = render_report([{"title": "T", "blocks": [block]}], outline=None)
    assert html.count(">1.2346</td>") == 2
    assert "Mean difference" in html and "First 2 of 5 rows" in html
    assert "y ~ x + (1 | g)" in html
    assert "Table 1. Fit." in html


def test_text_is_escaped_with_lists_and_code():
    out = str(text_to_html("A <b>bold</b> claim with `y ~ x`.\n\n- one\n- two & three"))
    assert "&lt;b&gt;bold&lt;/b&gt;" in out
    assert "<code>y ~ x</code>" in out
    assert "<ul><li>one</li><li>two &amp; three</li></ul>" in out
    assert "<b>" not in minimal().split("<body>")[1]


def test_methods_section_comes_from_config_and_definitions(config, instruments):
    section = methods_section(
        config, instruments, MODELS, missing_data="MAR; mixed models.", root=ROOT
    )
    html = render_report([section], outline=None)
    assert MODELS[0]["formula"] in html
    assert "Satterthwaite's approximation to the denominator degrees of freedom" in unescape(html)
    assert "config/instruments/odi.yaml" in html and str(ROOT) not in html
    assert "Missing data: MAR; mixed models." in html
    # every unverified setting of every configured instrument is listed
    used = {
        n
        for t in ("betterback", "prepare")
        for ns in config[t]["instruments"].values()
        for n in ns
    }
    expected = sum(len(instruments[n].unverified_settings()) for n in used)
    unverified = section.subsections[1].blocks[-1].table
    assert len(unverified) == expected > 0
    assert set(unverified["instrument"]) <= used
    rules = scoring_rules({"odi": instruments["odi"]})
    assert rules.loc[0, "items"] == "1-10" and rules.loc[0, "max_missing_items"] == 1
    eq5d = scoring_rules(
        {"eq5d": instruments["eq5d"]}, {"eq5d": {"value_set": "uk_tto_dolan1997"}}
    )
    assert "uk_tto_dolan1997" in eq5d.loc[0, "rule"]


def test_methods_section_errors(config, instruments):
    with pytest.raises(ReportError, match="unknown key"):
        methods_section(
            config, instruments, [{"outcome": "y", "formula": "y ~ 1", "dfmethod": "kr"}]
        )
    with pytest.raises(ReportError, match="missing"):
        methods_section(config, instruments, [{"outcome": "y"}])
    with pytest.raises(ReportError, match="no definition"):
        methods_section(config, {"odi": instruments["odi"]}, [])


def test_item_ranges():
    assert item_ranges([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert item_ranges([4]) == "4"


def test_provenance_section(tmp_path, config):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    (data / "b.csv").write_text("x\n2\n")
    section = provenance_section(
        input_files=[data / "b.csv", data / "a.csv"],
        config=config,
        root=tmp_path,
        tables={"t": pd.DataFrame({"x": [1, 2, 3]})},
        validation_summary=pd.DataFrame({"table": ["t"], "problems": [0]}),
        git={"commit": "abc123", "dirty": "yes"},
    )
    html = render_report([section], outline=None)
    for name in ["a.csv", "b.csv"]:
        digest = hashlib.sha256((data / name).read_bytes()).hexdigest()
        assert f"<td>data/{name}</td>" in html and digest in html
    assert "abc123" in html and "not exactly the commit" in html
    config_yaml = section.blocks[-2].code
    assert yaml.safe_load(config_yaml) == config
    assert "Validation summary" in html
    assert row_counts({"t": pd.DataFrame({"x": [1, 2]})}).to_dict("records") == [
        {"table": "t", "rows": 2, "columns": 1}
    ]


@pytest.mark.parametrize(
    ("df_method", "expected"),
    [
        ("kenward_roger", "Kenward-Roger adjusted covariance"),
        ("Between-Within", "between-within degrees of freedom"),
        ("z", "anti-conservative with few clusters"),
        ("containment", "the containment degrees-of-freedom method"),
    ],
)
def test_df_method_is_described(config, instruments, df_method, expected):
    model = {"outcome": "y", "formula": "y ~ 1 + (1 | g)", "df_method": df_method, "reml": False}
    text = methods_section(config, instruments, [model]).subsections[0].blocks[0].text
    assert expected in text and "maximum likelihood" in text


def test_provenance_lists_the_mapping_applied_to_the_exports(tmp_path, config):
    mapping = pd.DataFrame(
        {
            "trial": ["betterback", "betterback"],
            "table": ["patients", "patients"],
            "file": ["data/betterback/Patienter.xlsx"] * 2,
            "sheet": ["Data", "Data"],
            "step": ["rename", "recode"],
            "column": ["sex", "sex"],
            "source": ["Kön", "Kvinna"],
            "target": ["sex", "female"],
            "values_changed": [467, 310],
        }
    )
    path = tmp_path / "mapping.csv"
    mapping.to_csv(path, index=False)
    section = provenance_section(
        input_files=[], config=config, root=tmp_path, mapping=path, git={"commit": "c"}
    )
    html = render_report([section], outline=None)
    assert "Mapping from the exports onto the data contract" in html
    for text in ("Patienter.xlsx", "Kön", "Kvinna", "female", "310"):
        assert text in html
    empty = tmp_path / "empty.csv"
    mapping.iloc[:0].to_csv(empty, index=False)
    section = provenance_section(
        input_files=[], config=config, root=tmp_path, mapping=empty, git={"commit": "c"}
    )
    assert "data contract: none (every file carried the" in render_report([section], outline=None)


def test_tables_and_figures_are_numbered_in_order_table_1_the_baseline(example):
    from tests.workflow.publication import numbering_problems, table_captions, top_sections

    _, html = example
    assert numbering_problems(html) == []
    captions = table_captions(html)
    first = next(c for c in captions if c.startswith("Table 1."))
    assert first.startswith("Table 1. BetterBack: patient characteristics at baseline")
    # methods and appendix tables are supplementary, numbered on their own
    assert any(c.startswith("Table S1.") for c in captions)
    assert top_sections(html)[2:6] == ["Summary per trial", "Methods", "Results", "Appendix"]


def test_sections_follow_the_paper_order(example):
    from tests.workflow.publication import section_order

    _, html = example
    found = section_order(html)
    assert [s for s in found if s in REPORT_OUTLINE] == list(REPORT_OUTLINE)
    key = "<code>betterback.conduct.randomised_by</code>"
    assert f"Randomisation done by: not recorded in the configuration ({key})." in html
