"""Headless Chromium for the report tests: find it, render a page, read what the page measured."""

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


CHROMIUM = find_chromium()
#: The window width the baseline tables must fit (issue 17: 1200 px).
WIDTH = 1200

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


def render_report(report: Path, workdir: Path) -> dict:
    """Render a written report with :data:`CHECK` added; return what the page measured."""
    checked = workdir / "report_checked.html"
    text = report.read_text(encoding="utf-8")
    checked.write_text(text.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    profile = workdir / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return render_in_chromium(checked, profile)


def baseline_tables_outside(measured: dict) -> list[dict]:
    """Baseline tables (captions naming characteristics) wider than the window or off it."""
    return [
        t for t in measured["table_boxes"]
        if ("characteristics" in t["caption"] or "therapists by condition" in t["caption"])
        and not (0 <= t["left"] and t["right"] <= measured["viewport"])
    ]  # fmt: skip
