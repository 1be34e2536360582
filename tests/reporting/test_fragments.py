"""Report fragments are checked when a step writes them, not in the final report rule."""

import pytest
import yaml

from trialanalysis.errors import ReportError
from trialanalysis.reporting.assemble import write_fragment
from trialanalysis.reporting.sections import FigureBlock, TableBlock, TextBlock


def test_typed_blocks_are_written_as_the_plain_blocks_they_stand_for(tmp_path):
    typed = [
        TextBlock("Effects are differences in means."),
        TableBlock("results/x.csv", caption="Effects", suppression={}, max_rows=50),
        FigureBlock("results/x.png", caption="Forest plot", data=["results/x.csv"]),
    ]
    plain = [
        {"text": "Effects are differences in means."},
        {"table": "results/x.csv", "caption": "Effects", "suppression": {}, "max_rows": 50},
        {"figure": "results/x.png", "caption": "Forest plot", "data": ["results/x.csv"]},
    ]
    entry = {"section": "results", "title": "Primary"}
    a = write_fragment(tmp_path / "a.yaml", [{**entry, "blocks": typed}])
    b = write_fragment(tmp_path / "b.yaml", [{**entry, "blocks": plain}])
    assert yaml.safe_load(a.read_text()) == yaml.safe_load(b.read_text())
    assert yaml.safe_load(b.read_text())["sections"][0]["blocks"] == plain


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"table": "x.csv", "captoin": "typo"}, r"unknown key\(s\) \['captoin'\]"),
        ({"caption": "no kind"}, "needs exactly one of the keys"),
        ("just text", "must be a mapping"),
    ],
)
def test_a_malformed_block_fails_where_it_is_written(tmp_path, block, message):
    path = tmp_path / "f.yaml"
    entry = {"section": "results", "title": "Primary", "blocks": [{"text": "ok"}, block]}
    with pytest.raises(ReportError, match=message) as error:
        write_fragment(path, [entry])
    assert f"{path}: section 1 ('Primary') block 2" in str(error.value)
    assert not path.exists()
