"""Open the example report in headless Chromium: every section and image must render offline."""

import sys
from pathlib import Path

import pytest

from tests.reporting.chromium import CHROMIUM, WIDTH, baseline_tables_outside, render_report
from trialanalysis.reporting.report import REPORT_OUTLINE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (chromium not on PATH)"),
]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from example_report import build_example

    results = tmp_path_factory.mktemp("results")
    report = build_example(results, "2026-01-01T10:00:00+00:00", "2026-01-01T10:01:00+00:00")
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    return render_report(report, report.parent), text  # beside the report, as written


def test_every_image_renders(rendered):
    result, text = rendered
    assert len(result["images"]) == text.count("<img ") == 4
    for image in result["images"]:
        assert image["complete"] and image["naturalWidth"] > 0, image["alt"]
        assert image["width"] > 0, image["alt"]


def test_every_section_renders(rendered):
    result, _ = rendered
    shown = {s["id"]: s for s in result["sections"]}
    for section_id, title in REPORT_OUTLINE.items():
        assert section_id in shown, section_id
        assert shown[section_id]["height"] > 0, section_id
        assert shown[section_id]["heading"] == title
    for extra in ("run-stamp", "report-files", "methods-models", "methods-scoring"):
        assert shown[extra]["height"] > 0
    assert result["tables"] >= 8


def test_baseline_tables_fit_1200_px_with_one_column_per_arm(rendered):
    result, _ = rendered
    assert result["viewport"] == WIDTH
    baseline = [
        t for t in result["table_boxes"]
        if "characteristics" in t["caption"] or "therapists by condition" in t["caption"]
    ]  # fmt: skip
    assert len(baseline) == 3, [t["caption"] for t in result["table_boxes"]]
    for table in baseline:
        # characteristic, category, one column per arm or condition, Overall
        assert table["columns"] == 5, table
        assert 0 <= table["left"] and table["right"] <= WIDTH, table
    assert baseline_tables_outside(result) == []
