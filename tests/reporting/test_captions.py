"""Caption files for snakemake --report survive Jinja2 and reStructuredText as written."""

import jinja2
import pandas as pd
from docutils.core import publish_parts

from trialanalysis.reporting.captions import caption_rst, escape_rst, write_captions


def as_snakemake_renders(text: str) -> str:
    """What snakemake does with a caption file: Jinja2, then reStructuredText to HTML."""
    rendered = jinja2.Environment().from_string(text).render(snakemake=None)
    return publish_parts(
        rendered, writer="html", settings_overrides={"report_level": 2, "halt_level": 2}
    )["body"]


def test_caption_survives_jinja_and_rst():
    caption = "ODI_total by {{ arm }} *and* `period` | <0.001 \\ end_"
    html = as_snakemake_renders(
        caption_rst(
            caption,
            sources=["results/betterback/primary.csv"],
            provenance={"model": "odi_total ~ condition + (1 | clinic_id)"},
        )
    )
    assert "ODI_total by {{ arm }} *and* `period` | &lt;0.001 \\ end_" in html
    assert "results/betterback/primary.csv" in html
    assert "odi_total ~ condition + (1 | clinic_id)" in html
    assert "<em>" not in html and "<strong>" not in html


def test_escape_rst():
    assert escape_rst("a_b*c") == "a\\_b\\*c"


def test_write_captions_one_per_output(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "primary.csv").write_text("x\n1\n")
    (results / "forest.png").write_bytes(b"png")
    sections = [
        {
            "title": "Results",
            "blocks": [
                {"text": "no caption file for text"},
                {"table": str(results / "primary.csv"), "caption": "Primary"},
                {"table": pd.DataFrame({"x": [1]}), "source": "memory"},
                {
                    "figure": str(results / "forest.png"),
                    "caption": "Forest plot",
                    "data": [str(results / "primary.csv")],
                },
            ],
        }
    ]
    written = write_captions(sections, tmp_path / "captions", root=tmp_path)
    assert sorted(written) == ["results/forest.png", "results/primary.csv"]
    assert written["results/primary.csv"].name == "results-primary-csv.rst"
    figure = as_snakemake_renders(written["results/forest.png"].read_text())
    assert "Results: Forest plot" in figure and "results/primary.csv" in figure
