"""The structured description of a report: sections made of text, tables, figures and code.

The report builder (:mod:`trialanalysis.reporting.report`) renders whatever
sections it is given, so wiring a new analysis output into the report needs
no code change: add a section (or a block) that names the file. Sections can
be built in Python or from plain dicts (e.g. read from YAML)::

    - id: primary
      title: Primary and secondary results
      blocks:
        - text: Effects are differences in means with 95% CI.
        - table: results/betterback/primary.csv
          caption: Primary outcome, BetterBack
          rounding: [{columns: "estimate|conf_.*", style: fixed, digits: 1}]
          suppression: {count_columns: [n], min_cell_size: 5}
          provenance: {model: "odi_total ~ condition + period + (1 | clinic_id)"}
        - figure: results/betterback/forest.png
          caption: Effects per time point
          data: [results/betterback/primary.csv]
      subsections: []

Every table and figure names where it came from: a file path (shown with its
SHA-256) or, for a table passed as a DataFrame, a required ``source`` text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialanalysis.errors import ReportError


@dataclass
class TextBlock:
    """Prose, escaped (no raw HTML).

    Paragraphs are separated by blank lines; a paragraph whose lines all start
    with ``- `` is a list; text in single backticks is set as code.
    """

    text: str


@dataclass
class CodeBlock:
    """Preformatted text, e.g. the effective config as YAML or a model formula."""

    code: str
    caption: str = ""
    language: str = ""


@dataclass
class TableBlock:
    """A table from a tidy CSV file or a DataFrame.

    Attributes
    ----------
    table : path or DataFrame
        A CSV path (read as is, unrounded) or a DataFrame.
    caption : str
    source : str
        Where the numbers came from. Default for a path: the path itself;
        required for a DataFrame.
    rounding, suppression, labels, columns, notes, combine
        As in :func:`trialanalysis.reporting.tables.format_table`.
    provenance : mapping of str to str
        Extra lines shown under the table, e.g. ``{"model": "...",
        "config": "betterback.models.primary"}``.
    max_rows : int, optional
        Show only the first rows (the note says how many there are).
    """

    table: str | Path | pd.DataFrame
    caption: str = ""
    source: str = ""
    rounding: list[dict] | None = None
    suppression: dict | None = None
    labels: dict[str, str] | None = None
    columns: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)
    max_rows: int | None = None
    combine: dict[str, list[str]] | None = None


@dataclass
class FigureBlock:
    """A PNG or SVG figure file, embedded in the report.

    Attributes
    ----------
    figure : path
    caption : str
    data : list of path or str
        The files the figure was drawn from.
    provenance : mapping of str to str
    """

    figure: str | Path
    caption: str = ""
    data: list[str | Path] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)


Block = TextBlock | CodeBlock | TableBlock | FigureBlock


@dataclass
class Section:
    """A titled part of the report; ``id`` is the HTML anchor (default: from the title)."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    id: str = ""
    subsections: list[Section] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = slugify(self.title)


def slugify(text: str) -> str:
    """Return a lower-case HTML anchor made of letters, digits and hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "section"


_BLOCK_KEYS = {
    "text": (TextBlock, {"text"}),
    "code": (CodeBlock, {"code", "caption", "language"}),
    "table": (
        TableBlock,
        {
            "table",
            "caption",
            "source",
            "rounding",
            "suppression",
            "labels",
            "columns",
            "notes",
            "provenance",
            "max_rows",
            "combine",
        },
    ),
    "figure": (FigureBlock, {"figure", "caption", "data", "provenance"}),
}


def block_from_dict(spec: Mapping, where: str = "block") -> Block:
    """Build a block from a dict keyed by its kind: ``text``, ``code``, ``table`` or ``figure``."""
    if isinstance(spec, TextBlock | CodeBlock | TableBlock | FigureBlock):
        return spec
    if not isinstance(spec, Mapping):
        raise ReportError(f"{where}: must be a mapping, not {type(spec).__name__}")
    kinds = [k for k in _BLOCK_KEYS if k in spec]
    if len(kinds) != 1:
        raise ReportError(
            f"{where}: needs exactly one of the keys {', '.join(_BLOCK_KEYS)}; got {sorted(spec)}"
        )
    cls, allowed = _BLOCK_KEYS[kinds[0]]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ReportError(
            f"{where}: unknown key(s) {unknown} for a {kinds[0]} block; allowed: {sorted(allowed)}"
        )
    values = dict(spec)
    if "data" in values and isinstance(values["data"], str | Path):
        values["data"] = [values["data"]]
    if "notes" in values and isinstance(values["notes"], str):
        values["notes"] = [values["notes"]]
    return cls(**values)


def section_from_dict(spec: Mapping | Section, where: str = "section") -> Section:
    """Build a :class:`Section` (with its blocks and subsections) from a dict."""
    if isinstance(spec, Section):
        return spec
    if not isinstance(spec, Mapping) or "title" not in spec:
        raise ReportError(f"{where}: a section is a mapping with at least a title")
    unknown = sorted(set(spec) - {"id", "title", "blocks", "subsections"})
    if unknown:
        raise ReportError(
            f"{where}: unknown key(s) {unknown}; allowed: id, title, blocks, subsections"
        )
    name = f"{where} {spec['title']!r}"
    return Section(
        title=str(spec["title"]),
        id=str(spec.get("id") or ""),
        blocks=[
            block_from_dict(b, f"{name} block {i + 1}")
            for i, b in enumerate(spec.get("blocks") or [])
        ],
        subsections=[
            section_from_dict(s, f"{name} subsection {i + 1}")
            for i, s in enumerate(spec.get("subsections") or [])
        ],
    )


def sections_from_dicts(specs: Sequence[Mapping | Section]) -> list[Section]:
    """Build sections from dicts (or pass sections through), checking that ids are unique."""
    sections = [section_from_dict(s, f"section {i + 1}") for i, s in enumerate(specs)]
    seen: dict[str, int] = {}
    for section in walk(sections):
        seen[section.id] = seen.get(section.id, 0) + 1
    duplicated = sorted(k for k, v in seen.items() if v > 1)
    if duplicated:
        raise ReportError(f"section id(s) {duplicated} are used more than once; give each an id")
    return sections


def walk(sections: Sequence[Section]):
    """Yield every section and subsection, depth first, in document order."""
    for section in sections:
        yield section
        yield from walk(section.subsections)
