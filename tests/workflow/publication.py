"""Read a rendered report as a reviewer would and list what breaks the suppression rule."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd

from trialanalysis.reporting.labels import codes_in_text

#: Headers that name a count of individuals (the renderer must have marked them).
COUNT_HEADER = re.compile(r"^(n|n \(.*\)|.*: n|.* n|missing|.*: missing|n missing)$", re.I)
#: Headers of counts that are not of individuals (clinics, items, ...).
OTHER_COUNT = re.compile(r"clinic|cluster|item|imputation|resample|period|sequence", re.I)
#: Text that quotes a count of people.
QUOTED = re.compile(
    r"\b(\d+) (?:patients|therapists|participants|individuals|randomised|recruited|"
    r"waiting.list|physiotherapy|control|intervention)\b"
)


class _Tables(HTMLParser):
    """Collect tables (caption, headers, rows of (text, classes)) and the prose."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self.prose: list[str] = []
        self._cell = None
        self._in_p = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"caption": "", "headers": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th", "caption") and self.tables:
            self._cell = {"tag": tag, "text": "", "classes": (attrs.get("class") or "").split()}
        elif tag == "p" and "table-note" not in (attrs.get("class") or ""):
            self._in_p = True
            self.prose.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th", "caption") and self._cell is not None:
            cell, self._cell = self._cell, None
            table = self.tables[-1]
            if tag == "caption":
                table["caption"] = cell["text"].strip()
            elif tag == "th":
                table["headers"].append(cell["text"].strip())
            else:
                table["rows"][-1].append((cell["text"].strip(), cell["classes"]))
        elif tag == "p":
            self._in_p = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        elif self._in_p and self.prose:
            self.prose[-1] += data


def _small(text: str, min_cell: int) -> bool:
    return text.isdigit() and 0 < int(text) < min_cell


def suppression_problems(html: str, min_cell: int = 5) -> list[str]:
    """Every count cell or quoted count below ``min_cell``, and every unmarked count column.

    Returns
    -------
    list of str
        ``"<table caption>: <problem>"`` lines; empty when the report keeps the rule.
    """
    parser = _Tables()
    parser.feed(html)
    problems = []
    for table in parser.tables:
        caption = table["caption"] or "(table without caption)"
        rows = [r for r in table["rows"] if r]
        for row in rows:
            for text, classes in row:
                if "count" in classes and _small(text, min_cell):
                    problems.append(f"{caption}: count {text} shown")
        for j, header in enumerate(table["headers"]):
            if not COUNT_HEADER.match(header) or OTHER_COUNT.search(header):
                continue
            cells = [row[j] for row in rows if j < len(row)]
            unmarked = [
                t for t, c in cells if t.isdigit() and "count" not in c and "count-other" not in c
            ]
            if unmarked:
                problems.append(f"{caption}: column {header!r} counts but is not marked")
    for paragraph in parser.prose:
        for match in QUOTED.finditer(paragraph):
            if _small(match.group(1), min_cell):
                problems.append(f"text: {match.group(0)!r}")
    return problems


def table_captions(html: str) -> list[str]:
    """Captions of the report's tables, in order."""
    parser = _Tables()
    parser.feed(html)
    return [t["caption"] for t in parser.tables]


def numbering_problems(html: str) -> list[str]:
    """Tables and figures whose numbers are not 1..n (and S1..Sm) in document order."""
    problems = []
    for kind, pattern in (
        ("Table", r"<caption>Table (S?)(\d+)\."),
        ("Figure", r"<figcaption><strong>Figure (S?)(\d+)\.</strong>"),
    ):
        found = re.findall(pattern, html)
        for series in ("", "S"):
            numbers = [int(n) for s, n in found if s == series]
            if numbers != list(range(1, len(numbers) + 1)):
                problems.append(f"{kind} {series or 'main'} numbers in order: {numbers}")
    return problems


def top_sections(html: str) -> list[str]:
    """Titles of the report's top-level sections (h2), in order."""
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]


def section_order(html: str) -> list[str]:
    """Ids of the report's sections, in document order."""
    return re.findall(r'<section id="([^"]+)"', html)


class _Prose(HTMLParser):
    """The text a reader sees, outside code, preformatted blocks and the provenance appendix."""

    SKIP = ("code", "pre", "script", "style")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._stack: list[bool] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in self.SKIP or (tag == "section" and attrs.get("id") == "provenance")
        skip = skip or "source" in (attrs.get("class") or "").split()
        self._stack.append(skip)
        self._skipping += skip

    def handle_endtag(self, tag):
        if self._stack:
            self._skipping -= self._stack.pop()

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


VOID = re.compile(r"<(br|img|hr|meta|link|input)\b[^>]*>", re.I)


def code_names_shown(html: str, labels) -> list[str]:
    """Codes with a label (``odi_total``, ``waiting_list``, ``3m``) shown as codes in the report.

    Formulas (text with ``~``) and file paths are code, not prose: they may
    name columns and time points.
    """
    parser = _Prose()
    parser.feed(VOID.sub("", html))
    codes = labels.codes()
    found = []
    for part in parser.parts:
        if "~" in part:
            continue
        for code in codes_in_text(part, codes):
            found.append(f"{code!r} in {part.strip()[:80]!r}")
    return found


def analysed_mismatches(results) -> list[str]:
    """Every CONSORT "analysed" count that differs from the N of its model's output.

    BetterBack: ``patients/effects.csv`` (``n_control``, ``n_intervention``
    per outcome and time point); PREPARE: ``differences.csv`` (the same per
    arm). Both sides are read from the results files of the run; every
    outcome and arm of both trials must be in both.
    """
    problems = []
    models = {
        "betterback": (results / "betterback" / "patients" / "effects.csv",
                       {"n_control": "control", "n_intervention": "intervention"}),
        "prepare": (results / "prepare" / "differences.csv", None),
    }  # fmt: skip
    for trial, (path, groups) in models.items():
        model = pd.read_csv(path)
        consort = pd.read_csv(results / "consort" / f"{trial}_analysed.csv")
        consort = consort[consort["analysis"] == "mixed model"]
        if groups is None:  # PREPARE: the configured arms, control first
            arms = list(dict.fromkeys(consort["group"]))
            groups = {"n_control": arms[0], "n_intervention": arms[1]}
        shown = consort.set_index(["outcome", "timepoint", "group"])["n_analysed"]
        expected = set()
        for row in model.itertuples():
            for column, group in groups.items():
                key = (row.outcome, str(row.timepoint), group)
                expected.add(key)
                if key not in shown.index:
                    problems.append(f"{trial}: {key} has no CONSORT analysed count")
                elif int(shown[key]) != int(getattr(row, column)):
                    problems.append(
                        f"{trial}: {key} analysed {shown[key]} but the model used "
                        f"{getattr(row, column)}"
                    )
        extra = set(shown.index) - expected
        problems += [f"{trial}: {key} counted but not in the model output" for key in extra]
    return problems
