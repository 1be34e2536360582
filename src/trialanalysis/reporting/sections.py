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

Workflow steps build their report content with these dataclasses only
(:class:`ReportEntry` for a fragment's entries); each block checks its fields
when it is built, so a malformed block fails where it is made.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trialanalysis.errors import ReportError


def _check(block: object, name: str, ok: bool, expected: str) -> None:
    """Raise a ReportError naming the block's field if ``ok`` is false."""
    if not ok:
        value = getattr(block, name)
        raise ReportError(
            f"{type(block).__name__}.{name}: must be {expected}, not {type(value).__name__}"
        )


def _is_text_list(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and all(isinstance(v, str) for v in value)
    )


def _is_optional(value: object, kind: type | tuple[type, ...]) -> bool:
    return value is None or isinstance(value, kind)


@dataclass
class TextBlock:
    """Prose, escaped (no raw HTML).

    Paragraphs are separated by blank lines; a paragraph whose lines all start
    with ``- `` is a list; text in single backticks is set as code.
    """

    text: str

    def __post_init__(self) -> None:
        _check(self, "text", isinstance(self.text, str), "text")


@dataclass
class CodeBlock:
    """Preformatted text, e.g. the effective config as YAML or a model formula."""

    code: str
    caption: str = ""
    language: str = ""

    def __post_init__(self) -> None:
        for name in ("code", "caption", "language"):
            _check(self, name, isinstance(getattr(self, name), str), "text")


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

    def __post_init__(self) -> None:
        kinds = (str, Path, pd.DataFrame)
        _check(self, "table", isinstance(self.table, kinds), "a path or a DataFrame")
        _check(self, "caption", isinstance(self.caption, str), "text")
        _check(self, "source", isinstance(self.source, str), "text")
        rounding = self.rounding
        _check(
            self,
            "rounding",
            rounding is None
            or (isinstance(rounding, Sequence) and all(isinstance(r, Mapping) for r in rounding)),
            "a list of rounding rules (mappings)",
        )
        _check(self, "suppression", _is_optional(self.suppression, Mapping), "a mapping")
        _check(self, "labels", _is_optional(self.labels, Mapping), "a mapping")
        _check(
            self,
            "columns",
            self.columns is None or _is_text_list(self.columns),
            "a list of column names",
        )
        _check(self, "notes", _is_text_list(self.notes), "a list of text")
        _check(self, "provenance", isinstance(self.provenance, Mapping), "a mapping")
        _check(
            self,
            "max_rows",
            self.max_rows is None
            or (isinstance(self.max_rows, int) and not isinstance(self.max_rows, bool)),
            "a whole number",
        )
        _check(
            self,
            "combine",
            self.combine is None
            or (
                isinstance(self.combine, Mapping)
                and all(_is_text_list(v) for v in self.combine.values())
            ),
            "a mapping of display column to a list of templates",
        )


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

    def __post_init__(self) -> None:
        _check(self, "figure", isinstance(self.figure, str | Path), "a path")
        _check(self, "caption", isinstance(self.caption, str), "text")
        _check(
            self,
            "data",
            isinstance(self.data, Sequence)
            and not isinstance(self.data, str)
            and all(isinstance(d, str | Path) for d in self.data),
            "a list of paths",
        )
        _check(self, "provenance", isinstance(self.provenance, Mapping), "a mapping")


Block = TextBlock | CodeBlock | TableBlock | FigureBlock
BLOCK_TYPES = (TextBlock, CodeBlock, TableBlock, FigureBlock)


def check_blocks(blocks: Sequence, where: str) -> None:
    """Refuse anything but block dataclasses (a developer error: build the dataclass)."""
    for i, block in enumerate(blocks):
        if not isinstance(block, BLOCK_TYPES):
            raise TypeError(
                f"{where} block {i + 1}: a {type(block).__name__}; build report blocks with "
                "TextBlock, TableBlock, FigureBlock or CodeBlock "
                "(trialanalysis.reporting.sections), not dicts"
            )


@dataclass
class ReportEntry:
    """One entry of a report fragment: blocks shown under a section of the report outline.

    Attributes
    ----------
    section : str
        An id of :data:`trialanalysis.reporting.report.REPORT_OUTLINE`
        (checked when the fragment is written).
    title : str
        The entry's heading (a subsection of that outline section).
    blocks : list of Block
        :class:`TextBlock`, :class:`TableBlock`, :class:`FigureBlock` or
        :class:`CodeBlock`; a dict is refused here, where it is built.
    rank : int
        Where the entry goes among the section's entries (lower first, then
        in fragment order), e.g. the summary's primary outcomes before the
        flow (:data:`trialanalysis.reporting.assemble.SUMMARY_RANK`).
    """

    section: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    rank: int = 50

    def __post_init__(self) -> None:
        _check(self, "section", isinstance(self.section, str) and bool(self.section), "an id")
        _check(self, "title", isinstance(self.title, str), "text")
        _check(self, "rank", isinstance(self.rank, int), "an integer")
        check_blocks(self.blocks, f"report entry {self.title!r}")


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
    try:
        return cls(**values)
    except ReportError as exc:
        raise ReportError(f"{where}: {exc}") from None


def block_to_dict(block: Block) -> dict:
    """Return a block as the plain dict :func:`block_from_dict` reads back.

    The dict has the block's kind key (its first field) and the fields that
    differ from their defaults, in field order, with paths as text. A table
    given as a DataFrame has no plain form.

    Raises
    ------
    ReportError
        If the block's table is a DataFrame.
    """
    plain = {}
    for item in dataclasses.fields(block):
        value = getattr(block, item.name)
        if item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        else:
            default = item.default
        if default is dataclasses.MISSING:
            if isinstance(value, pd.DataFrame):
                raise ReportError(
                    f"a {type(block).__name__} of a DataFrame cannot be written to a "
                    "fragment: write the table to CSV and give its path"
                )
            plain[item.name] = str(value) if isinstance(value, Path) else value
        elif value != default:
            plain[item.name] = [str(v) for v in value] if item.name == "data" else value
    return plain


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
