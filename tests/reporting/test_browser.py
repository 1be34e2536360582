"""Open the example report in headless Chromium: every section and image must render offline."""

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trialanalysis.reporting.report import REPORT_OUTLINE


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (chromium not on PATH)"),
]
HERE = Path(__file__).resolve().parent
#: The window width the baseline tables must fit (issue 17: 1200 px).
WIDTH = 1200
sys.path.insert(0, str(HERE))

# Runs after the page has loaded and writes what it finds into the DOM, which --dump-dom prints.
CHECK = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var sections = Array.prototype.slice.call(document.querySelectorAll("section[id]"));
  var result = {
    images: images.map(function (i) {
      return {alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth,
              width: i.getBoundingClientRect().width};
    }),
    sections: sections.map(function (s) {
      return {id: s.id, height: s.getBoundingClientRect().height,
              heading: (s.querySelector("h2, h3, h4") || {}).textContent || ""};
    }),
    tables: document.querySelectorAll("table.data-table").length,
    viewport: window.innerWidth,
    table_boxes: Array.prototype.slice.call(document.querySelectorAll("table.data-table")).map(
      function (t) {
        var box = t.getBoundingClientRect();
        return {caption: (t.querySelector("caption") || {}).textContent || "",
                left: box.left, right: box.right, width: box.width,
                columns: t.querySelectorAll("thead th").length};
      })
  };
  var out = document.createElement("pre");
  out.id = "render-check";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>
"""


def render_in_chromium(page: Path, profile: Path) -> dict:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        # requests leaving the machine fail: a report needing the network shows broken images
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=10000",
        f"--window-size={WIDTH},900",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    match = re.search(r'<pre id="render-check">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert match, f"Chromium did not run the check (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from example_report import build_example

    results = tmp_path_factory.mktemp("results")
    report = build_example(results, "2026-01-01T10:00:00+00:00", "2026-01-01T10:01:00+00:00")
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    checked = results / "report_checked.html"
    checked.write_text(text.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    return render_in_chromium(checked, tmp_path_factory.mktemp("profile")), text


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
