"""Report fragments: blocks are typed, checked where they are built and when written."""

import pandas as pd
import pytest
import yaml

from trialanalysis.errors import ReportError
from trialanalysis.reporting.assemble import read_fragments, write_fragment
from trialanalysis.reporting.sections import (
    CodeBlock,
    FigureBlock,
    ReportEntry,
    TableBlock,
    TextBlock,
    block_from_dict,
)


def test_a_fragment_holds_each_block_as_the_plain_dict_that_reads_back_to_it(tmp_path):
    blocks = [
        TextBlock("Effects are differences in means."),
        CodeBlock("y ~ x + (1 | clinic_id)", caption="Model"),
        TableBlock("results/x.csv", caption="Effects", suppression={}, max_rows=50),
        FigureBlock("results/x.png", caption="Forest plot", data=["results/x.csv"]),
    ]
    path = write_fragment(tmp_path / "f.yaml", [ReportEntry("results", "Primary", blocks)])
    written = yaml.safe_load(path.read_text("utf-8"))["sections"][0]
    assert written["section"] == "results" and written["title"] == "Primary"
    # the kind key first, then the fields that differ from their defaults, in field order
    assert written["blocks"] == [
        {"text": "Effects are differences in means."},
        {"code": "y ~ x + (1 | clinic_id)", "caption": "Model"},
        {"table": "results/x.csv", "caption": "Effects", "suppression": {}, "max_rows": 50},
        {"figure": "results/x.png", "caption": "Forest plot", "data": ["results/x.csv"]},
    ]
    assert [list(b) for b in written["blocks"]][2] == [
        "table",
        "caption",
        "suppression",
        "max_rows",
    ]
    grouped, _ = read_fragments([path])
    assert [block_from_dict(b) for b in grouped["results"][0]["blocks"]] == blocks


def test_a_dict_block_is_refused_where_the_entry_is_built():
    with pytest.raises(TypeError, match=r"'Primary' block 2: a dict; build report blocks with"):
        ReportEntry("results", "Primary", [TextBlock("ok"), {"text": "a dict"}])


def test_a_dict_entry_is_refused_by_write_fragment(tmp_path):
    path = tmp_path / "f.yaml"
    entry = {"section": "results", "title": "Primary", "blocks": [TextBlock("ok")]}
    with pytest.raises(TypeError, match=r"section 1 is a dict; build fragment entries with"):
        write_fragment(path, [entry])
    assert not path.exists()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TableBlock("x.csv", max_rows="10"), r"TableBlock\.max_rows: must be a whole"),
        (lambda: TableBlock("x.csv", notes="one note"), r"TableBlock\.notes: must be a list"),
        (lambda: TableBlock(3), r"TableBlock\.table: must be a path or a DataFrame, not int"),
        (lambda: TableBlock("x.csv", rounding={"columns": "x"}), r"TableBlock\.rounding"),
        (lambda: FigureBlock("x.png", data="x.csv"), r"FigureBlock\.data: must be a list"),
        (lambda: TextBlock(["not", "text"]), r"TextBlock\.text: must be text, not list"),
        (lambda: CodeBlock("x", caption=None), r"CodeBlock\.caption: must be text"),
        (lambda: ReportEntry("", "Primary"), r"ReportEntry\.section: must be an id"),
    ],
)
def test_a_malformed_block_fails_where_it_is_built(build, message):
    with pytest.raises(ReportError, match=message):
        build()


def test_a_malformed_plain_block_names_where_it_is(tmp_path):
    with pytest.raises(ReportError, match=r"report block 3: unknown key\(s\) \['captoin'\]"):
        block_from_dict({"table": "x.csv", "captoin": "typo"}, "report block 3")
    with pytest.raises(ReportError, match=r"block 1: TableBlock\.max_rows: must be a whole"):
        block_from_dict({"table": "x.csv", "max_rows": "ten"}, "block 1")


def test_a_fragment_refuses_a_dataframe_table_and_an_unknown_section(tmp_path):
    path = tmp_path / "f.yaml"
    frame = TableBlock(pd.DataFrame({"a": [1]}), source="computed")
    with pytest.raises(ReportError, match=r"section 1 \('Primary'\) block 1: a TableBlock of"):
        write_fragment(path, [ReportEntry("results", "Primary", [frame])])
    with pytest.raises(ReportError, match=r"\['resluts'\] are not in the report outline"):
        write_fragment(path, [ReportEntry("resluts", "Primary", [TextBlock("x")])])
    assert not path.exists()
