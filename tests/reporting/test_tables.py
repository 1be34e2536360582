"""Manuscript tables: rounding rules, small-cell suppression, the four formats, byte stability."""

import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis.errors import ConfigError, ReportError, TrialAnalysisError
from trialanalysis.reporting.markup import escape_latex, table_html, table_latex
from trialanalysis.reporting.suppression import SuppressionRule
from trialanalysis.reporting.tables import (
    RoundingRule,
    format_table,
    p_text,
    rounding_rules,
)
from trialanalysis.steps.io import write_table


@pytest.fixture
def results():
    return pd.DataFrame(
        {
            "arm": ["control", "intervention", "control", "intervention"],
            "sex": ["female", "female", "male", "male"],
            "n": [3, 60, 97, 40],
            "percent": [3.0, 60.0, 97.0, 40.0],
            "age_mean": [44.25, 46.5, 47.125, 45.0],
            "estimate": [-0.004, 1.23456, 2.675, np.nan],
            "p_value": [0.0004, 0.04999, 0.5, 1.0],
        }
    )


def test_default_rules_round_by_column_name(results):
    cells = format_table(results, rule=SuppressionRule(min_cell_size=1)).cells
    assert cells["n"].tolist() == ["3", "60", "97", "40"]
    assert cells["percent"].tolist() == ["3.0", "60.0", "97.0", "40.0"]
    # estimates: 2 decimals; a rounded negative zero loses its sign; missing is blank
    assert cells["estimate"].tolist() == ["0.00", "1.23", "2.67", ""]
    assert cells["p_value"].tolist() == ["<0.001", "0.050", "0.500", "1.000"]
    # text cells show the labels of their codes (reporting.labels)
    assert cells["arm"].tolist() == ["Control", "Intervention", "Control", "Intervention"]
    assert cells["sex"].tolist() == ["Female", "Female", "Male", "Male"]


def test_rules_are_ordered_first_match_wins_and_configurable(results):
    rules = [
        {"columns": "age_.*", "style": "fixed", "digits": 1},
        {"columns": "p_value", "style": "p_value", "digits": 2},
        {"columns": ".*", "style": "fixed", "digits": 3},
    ]
    cells = format_table(results, rules, missing="NA", rule=SuppressionRule(1)).cells
    assert cells["age_mean"].tolist() == ["44.2", "46.5", "47.1", "45.0"]
    assert cells["p_value"].tolist() == ["<0.01", "0.05", "0.50", "1.00"]
    assert cells["estimate"].tolist() == ["-0.004", "1.235", "2.675", "NA"]
    # integer-typed values never get decimals
    assert cells["n"].tolist() == ["3", "60", "97", "40"]


def test_other_styles():
    assert RoundingRule(".*", "significant", 3).format(0.0123456) == "0.0123"
    assert RoundingRule(".*", "significant", 2).format(1.0) == "1.0"
    assert RoundingRule(".*", "integer").format(12.6) == "13"
    assert RoundingRule(".*", "text").format(0.1) == "0.1"
    assert RoundingRule(".*", "fixed", 1).format(float("-inf")) == "-Inf"


def test_invalid_rules_are_all_reported():
    with pytest.raises(ConfigError) as error:
        rounding_rules(
            [
                {"columns": "(", "style": "fixed"},
                {"columns": "x", "style": "bold", "digits": -1},
                {"style": "fixed", "colour": "red"},
            ]
        )
    message = str(error.value)
    for expected in ("rule 1", "regular expression", "bold", "digits", "required", "colour"):
        assert expected in message
    assert isinstance(error.value, TrialAnalysisError)


def test_catch_all_rule_is_added():
    rules = rounding_rules([{"columns": "n", "style": "integer"}])
    assert rules[-1] == RoundingRule(".*", "fixed", 2)


def test_format_table_with_suppression_adds_a_note(results):
    suppression = {"count_columns": ["n"], "min_cell_size": 5, "dependent_columns": ["percent"]}
    rendered = format_table(results, suppression=suppression, caption="Table 1")
    assert rendered.cells.loc[0, "n"] == "<5"
    assert rendered.cells.loc[0, "percent"] == ""
    assert any("fewer than 5" in note for note in rendered.notes)
    relaxed = SuppressionRule(min_cell_size=2)
    assert format_table(results, suppression=suppression, rule=relaxed).notes == []


def test_labels_and_column_selection(results):
    rendered = format_table(results, columns=["arm", "estimate", "p_value"], labels={"arm": "Arm"})
    assert rendered.headers == ["Arm", "Estimate", "p"]
    assert rendered.numeric == [False, True, True]
    with pytest.raises(ReportError, match="not in the table"):
        format_table(results, columns=["nope"])


def test_html_escapes_and_aligns():
    table = pd.DataFrame({"term": ["a<b & c"], "estimate": [1.0]})
    fragment = table_html(format_table(table, caption="x < y"))
    assert "a&lt;b &amp; c" in fragment
    assert "<caption>x &lt; y</caption>" in fragment
    assert '<td class="num">1.00</td>' in fragment
    assert "<script" not in fragment


def test_latex_escapes_every_special_character():
    assert escape_latex("50% of $x_1 & {y} #2 ~ ^ \\ <0.001 |") == (
        r"50\% of \$x\_1 \& \{y\} \#2 \textasciitilde{} \textasciicircum{} "
        r"\textbackslash{} \textless{}0.001 \textbar{}"
    )
    table = pd.DataFrame({"term": ["treat_x"], "p_value": [0.0001]})
    tex = table_latex(format_table(table, caption="A & B"), label="tab:x")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "\\begin{tabular}{lr}" in tex
    assert "treat\\_x & \\textless{}0.001 \\\\" in tex
    assert "\\caption{A \\& B}" in tex and "\\label{tab:x}" in tex


def test_csv_is_exactly_the_input(tmp_path, results):
    written = write_table(
        results,
        tmp_path / "table1",
        suppression={"count_columns": ["n"], "min_cell_size": 5},
    )
    back = pd.read_csv(written["csv"])
    pd.testing.assert_frame_equal(back, results)
    assert set(written) == {"csv", "html", "tex", "docx"}
    assert "&lt;5" in written["html"].read_text()
    assert "\\textless{}5" in written["tex"].read_text()


def test_docx_content_and_fixed_metadata(tmp_path, results):
    import docx

    path = write_table(results, tmp_path / "t", caption="Baseline", formats=["docx"])["docx"]
    document = docx.Document(path)
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells][:3] == ["Arm", "Sex", "n"]
    assert table.rows[1].cells[6].text == "<0.001"
    assert document.paragraphs[0].text == "Baseline"
    assert document.core_properties.created.year == 2000
    with zipfile.ZipFile(path) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_every_format_is_byte_identical_on_rerun(tmp_path, results, monkeypatch):
    kwargs = {
        "caption": "Results",
        "source": "results/x.csv",
        "suppression": {"count_columns": ["n"], "min_cell_size": 5},
        "standalone_html": True,
    }
    first = write_table(results, tmp_path / "a" / "t", **kwargs)
    # a later clock: zip entries and document dates must not follow it
    later = time.time() + 3 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    second = write_table(results, tmp_path / "b" / "t", **kwargs)
    for fmt, path in first.items():
        assert path.read_bytes() == second[fmt].read_bytes(), fmt
    with zipfile.ZipFile(io.BytesIO(first["docx"].read_bytes())) as archive:
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_unknown_format_is_an_error(tmp_path, results):
    with pytest.raises(ConfigError, match="unknown table format"):
        write_table(results, tmp_path / "t", formats=["pdf"])


def test_suppression_declarations_are_checked(results):
    with pytest.raises(ReportError, match="unknown suppression key"):
        format_table(results, suppression={"count_columns": ["n"], "min": 3})


def test_quantities_are_rounded_by_what_they_are():
    table = pd.DataFrame(
        {
            "outcome": ["odi_total", "eq5d_index"],
            "estimate": [-3.456, -0.0004],
            "conf_low": [-5.1, -0.031],
            "df": [55.4321, 80.123],
            "p_value": [0.00407, 0.0004],
        }
    )
    cells = format_table(table).cells
    assert cells["estimate"].tolist() == ["-3.46", "0.000"]  # no "-0.000"
    assert cells["conf_low"].tolist() == ["-5.10", "-0.031"]
    assert cells["df"].tolist() == ["55.4", "80.1"]
    assert cells["p_value"].tolist() == ["0.004", "<0.001"]
    # text quotes p as the table shows it
    assert [p_text(p) for p in table["p_value"]] == ["p = 0.004", "p < 0.001"]
    variances = pd.DataFrame(
        {"parameter": ["variance"], "estimate": [0.0876], "conf_low": [0.0], "conf_high": [0.5373]}
    )
    assert format_table(variances).cells.iloc[0].tolist()[1:] == ["0.088", "0.000", "0.537"]
    with pytest.raises(ConfigError, match="where"):
        rounding_rules([{"columns": "x", "where": {"y": "("}}])
    # a period column with a blank total row (read back as floats) shows whole periods
    periods = pd.DataFrame({"period": [1.0, 2.0, np.nan], "mean": [1.0, 2.5, 3.0]})
    assert format_table(periods).cells["period"].tolist() == ["1", "2", ""]
    assert format_table(periods).cells["mean"].tolist() == ["1.00", "2.50", "3.00"]


def test_word_tables_fit_a4_numbers_unwrapped_text_wrapped(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from docx_layout import layout, text_width

    from trialanalysis.reporting.word import column_widths, write_docx

    narrow = pd.DataFrame({"label": ["Age", "Sex"], "control": [41.25, 12.5]})
    path = write_docx(format_table(narrow), tmp_path / "narrow.docx")
    found = layout(path)
    assert found["page"] == 11906 and text_width(found) == 11906 - 2 * 1417
    assert sum(found["columns"]) < text_width(found) / 2  # a small table stays small
    # long labels and six columns of numbers: the text column wraps, the numbers keep room
    wide = pd.DataFrame(
        {"label": ["Illness perception (BIPQ 0-80, higher = more threatening), mean (SD)"] * 3}
        | {f"arm_{i}": [123456.25, 2.5, 3.75] for i in range(6)}
    )
    rendered = format_table(wide)
    path = write_docx(rendered, tmp_path / "wide.docx")
    found = layout(path)
    assert sum(found["columns"]) <= text_width(found)
    widths = column_widths(rendered, 9)
    label = len(wide["label"].iloc[0]) * 9 * 20 * 0.55
    assert found["columns"] == widths and widths[0] < label  # the label wraps
    needed = 9 * 20 * 0.55 * len("123456.25")
    assert all(w >= needed for w in widths[1:])
    # twelve columns of numbers do not fit at 9 pt: 8 pt is used
    wider = pd.DataFrame({"label": ["x"]} | {f"arm_{i}": [123456.25] for i in range(12)})
    assert column_widths(format_table(wider), 9) is None
    found = layout(write_docx(format_table(wider), tmp_path / "wider.docx"))
    assert found["font_half_points"] == [16]


def test_figures_format_values_as_the_tables_do():
    from trialanalysis.reporting.tables import tick_text, value_text

    assert value_text(0.02149, "estimate", {"outcome": "eq5d_index"}) == "0.021"
    assert value_text(-3.3612, "estimate", {"outcome": "odi_total"}) == "-3.36"
    assert value_text(-0.0004, "estimate", {"outcome": "eq5d_index"}) == "0.000"
    assert value_text(0.0041, "p_value") == "0.004" and value_text(0.0004, "p_value") == "<0.001"
    assert [tick_text(v) for v in (-1e-17, 0.25, -0.5, 2.0)] == ["0", "0.25", "-0.5", "2"]
