"""The reviewer's report: one self-contained HTML file built from a description of sections.

The file opens offline: CSS is inline, figures are embedded as base64 data
URIs, there are no scripts and no external URLs. Every table and figure names
the file it came from with its SHA-256, and a closing section lists every file
shown. The run timestamp and duration are the only volatile values; they sit
between :data:`RUN_STAMP_BEGIN` and :data:`RUN_STAMP_END` in
``<section id="run-stamp">``, so two runs from a clean state are
byte-identical after :func:`strip_run_stamp`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

import trialanalysis
from trialanalysis.errors import ReportError
from trialanalysis.reporting.labels import Labels, default_labels
from trialanalysis.reporting.markup import TABLE_CSS, table_html
from trialanalysis.reporting.provenance import sha256
from trialanalysis.reporting.sections import (
    CodeBlock,
    FigureBlock,
    Section,
    TableBlock,
    TextBlock,
    block_from_dict,
    sections_from_dicts,
    walk,
)
from trialanalysis.reporting.suppression import SuppressionRule
from trialanalysis.reporting.tables import format_table

RUN_STAMP_BEGIN = "<!-- run-stamp:begin -->"
RUN_STAMP_END = "<!-- run-stamp:end -->"
#: Every section of the report, by id, in report order: those that fragments
#: fill (design, consort, table1, results, ...) and those the report builds
#: (methods, conduct, estimands, analysis, provenance, the parts).
REPORT_OUTLINE = {
    "summary": "Summary per trial",
    "methods": "Methods",
    "design": "Design",
    "conduct": "Randomisation, allocation concealment and blinding",
    "sample_size": "Sample size",
    "estimands": "Estimands and multiplicity",
    "analysis": "Statistical analysis",
    "findings": "Results",
    "consort": "Participant flow (CONSORT)",
    "table1": "Baseline characteristics",
    "results": "Primary and secondary outcomes",
    "harms": "Harms (adverse events)",
    "icc": "ICCs and design effects",
    "sensitivity": "Sensitivity analyses",
    "appendix": "Appendix",
    "psychometrics": "Psychometrics",
    "diagnostics": "Model diagnostics and warnings",
    "provenance": "Provenance",
}
#: The report's parts (top-level headings after the summary) and the sections each holds.
REPORT_PARTS = {
    "methods": ("design", "conduct", "sample_size", "estimands", "analysis"),
    "findings": ("consort", "table1", "results", "harms", "icc", "sensitivity"),
    "appendix": ("psychometrics", "diagnostics", "provenance"),
}
#: Sections whose tables or figures are supplementary (numbered S1, S2, ...), so
#: that the main tables and figures are those of the results, Table 1 the
#: baseline table: the methods and the appendix, and the tables beside the flow
#: diagrams (the flow is reported by its figures).
SUPPLEMENTARY = {
    "methods": ("table", "figure"),
    "appendix": ("table", "figure"),
    "consort": ("table",),
}
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class RunStamp:
    """When the run happened: the report's only volatile values.

    Attributes
    ----------
    started : str, optional
        ISO 8601 time the run started (e.g. written by the Snakefile's
        ``onstart`` with :func:`trialanalysis.reporting.provenance.run_stamp`).
    finished : str, optional
        ISO 8601 time the report was written.
    """

    started: str | None = None
    finished: str | None = None

    @property
    def duration(self) -> str:
        """Run duration as text (empty when either time is unknown)."""
        if not (self.started and self.finished):
            return ""
        seconds = (
            dt.datetime.fromisoformat(self.finished) - dt.datetime.fromisoformat(self.started)
        ).total_seconds()
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def strip_run_stamp(text: str) -> str:
    """Remove the run-stamp block (markers included), for comparing two reports."""
    pattern = re.escape(RUN_STAMP_BEGIN) + ".*?" + re.escape(RUN_STAMP_END)
    stripped, count = re.subn(pattern, "", text, flags=re.DOTALL)
    if count != 1:
        raise ReportError(f"expected one run-stamp block in the report, found {count}")
    return stripped


class _Renderer:
    """Turns blocks into template-ready dicts, numbering tables and figures."""

    def __init__(self, root: Path, default_rounding, rule: SuppressionRule | None, labels=None):
        self.root = root
        self.labels = labels or default_labels()
        self.shown_as_is = False  # the provenance appendix shows the data's own codes
        self.default_rounding = default_rounding
        self.rule = rule
        self.files: dict[str, dict] = {}
        self.numbers = {(kind, s): 0 for kind in ("table", "figure") for s in (False, True)}
        self.supplementary: tuple[str, ...] = ()

    def number(self, kind: str) -> str:
        """Next number of a table or figure: ``3``, or ``S3`` where supplementary."""
        extra = kind in self.supplementary
        self.numbers[(kind, extra)] += 1
        return f"{'S' if extra else ''}{self.numbers[(kind, extra)]}"

    def shown(self, path: str | Path) -> str:
        path = Path(path)
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def record(self, path: str | Path, role: str) -> dict:
        name = self.shown(path)
        if name not in self.files:
            self.files[name] = {
                "file": name,
                "role": role,
                "bytes": Path(path).stat().st_size,
                "sha256": sha256(path),
            }
        return self.files[name]

    def block(self, block) -> dict:
        if isinstance(block, TextBlock):
            return {"kind": "text", "html": text_to_html(self.say(block.text))}
        if isinstance(block, CodeBlock):
            return {"kind": "code", "code": block.code, "caption": block.caption}
        if isinstance(block, TableBlock):
            return self.table(block)
        return self.figure(block)

    def table(self, block: TableBlock) -> dict:
        number = self.number("table")
        if isinstance(block.table, pd.DataFrame):
            if not block.source:
                raise ReportError(
                    f"table {block.caption!r}: a table given as a DataFrame needs a source "
                    "(the file or step its numbers came from)"
                )
            data, files = block.table, []
        else:
            try:
                data = pd.read_csv(block.table)
            except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise ReportError(f"{block.table}: not a readable CSV table ({exc})") from exc
            files = [self.record(block.table, "table")]
        notes = list(block.notes)
        if block.max_rows is not None and len(data) > block.max_rows:
            notes.append(f"First {block.max_rows} of {len(data)} rows; all rows are in the file.")
            data = data.head(block.max_rows)
        rendered = format_table(
            data,
            block.rounding if block.rounding is not None else self.default_rounding,
            suppression=block.suppression,
            rule=self.rule,
            labels=block.labels,
            columns=block.columns,
            combine=block.combine,
            caption=f"Table {number}. {self.say(block.caption)}".rstrip(". ") + ".",
            notes=[self.say(n) for n in notes],
            codes=Labels() if self.shown_as_is else self.labels,
        )
        return {
            "kind": "table",
            "html": table_html(rendered),
            "source": block.source,
            "files": files,
            "provenance": block.provenance,
        }

    def figure(self, block: FigureBlock) -> dict:
        number = self.number("figure")
        path = Path(block.figure)
        mime = IMAGE_TYPES.get(path.suffix.lower())
        if mime is None:
            raise ReportError(
                f"figure {path}: only {', '.join(IMAGE_TYPES)} files can be embedded"
            )
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return {
            "kind": "figure",
            "number": number,
            "caption": self.say(block.caption),
            "src": f"data:{mime};base64,{encoded}",
            "file": self.record(path, "figure"),
            "data": [self.record(d, "figure data") for d in block.data],
            "provenance": block.provenance,
        }

    def say(self, text: str) -> str:
        """Text with its codes shown as labels (outside the provenance appendix)."""
        return text if self.shown_as_is else self.labels.text(text)

    def section(self, section: Section, level: int) -> dict:
        outer, outer_supplementary = self.shown_as_is, self.supplementary
        self.shown_as_is = outer or section.id == "provenance"
        self.supplementary = tuple({*outer_supplementary, *SUPPLEMENTARY.get(section.id, ())})
        rendered = {
            "id": section.id,
            "title": self.say(section.title),
            "level": min(level, 6),
            "blocks": [self.block(b) for b in section.blocks],
            "subsections": [self.section(s, level + 1) for s in section.subsections],
        }
        self.shown_as_is, self.supplementary = outer, outer_supplementary
        return rendered


def arrange_sections(
    found: Mapping[str, Section | Mapping], leads: Mapping[str, Sequence] | None = None
) -> list[Section]:
    """Put sections into the report's order and parts (Methods, Results, Appendix).

    Parameters
    ----------
    found : mapping of str to Section or mapping
        Sections by outline id (:data:`REPORT_OUTLINE`); those absent are left out.
    leads : mapping of str to sequence of blocks, optional
        Blocks shown at the top of a part (e.g. the methods' general lines).

    Returns
    -------
    list of Section
        The summary, then each part of :data:`REPORT_PARTS` with its sections
        as subsections, in outline order.
    """
    found = {key: sections_from_dicts([value])[0] for key, value in found.items()}
    unknown = sorted(set(found) - set(REPORT_OUTLINE))
    if unknown:
        raise ReportError(f"sections {unknown} are not in the report outline")
    leads = leads or {}
    placed = {key for keys in REPORT_PARTS.values() for key in keys}
    out = []
    for key in REPORT_OUTLINE:
        if key in REPORT_PARTS:
            inner = [found[k] for k in REPORT_PARTS[key] if k in found]
            blocks = [block_from_dict(b) for b in leads.get(key, ())]
            if inner or blocks:
                out.append(Section(REPORT_OUTLINE[key], blocks, key, inner))
        elif key in found and key not in placed:
            out.append(found[key])
    return out


def text_to_html(text: str) -> str:
    """Render prose: paragraphs, ``- `` lists and `code`, all escaped."""
    parts = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = paragraph.splitlines()
        inline = [_inline(line) for line in lines]
        if lines and all(line.lstrip().startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line.lstrip()[2:])}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        elif paragraph.strip():
            parts.append(f"<p>{' '.join(inline)}</p>")
    return "\n".join(parts)


def _inline(text: str) -> str:
    escaped = html.escape(text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _missing_files(sections: Sequence[Section]) -> list[str]:
    missing = []
    for section in walk(sections):
        for block in section.blocks:
            paths = []
            if isinstance(block, TableBlock) and not isinstance(block.table, pd.DataFrame):
                paths.append(block.table)
            if isinstance(block, FigureBlock):
                paths += [block.figure, *block.data]
            missing += [f"{section.title}: {p}" for p in paths if not Path(p).is_file()]
    return missing


def render_report(
    sections: Sequence[Section | Mapping],
    *,
    title: str = "trialanalysis report",
    subtitle: str = "",
    run: RunStamp | None = None,
    root: str | Path = ".",
    outline: Mapping[str, str] | None = REPORT_OUTLINE,
    strict: bool = True,
    default_rounding: Sequence[Mapping] | None = None,
    suppression_rule: SuppressionRule | None = None,
    labels: Labels | None = None,
) -> str:
    """Render the report as one self-contained HTML string.

    Parameters
    ----------
    sections : sequence of Section or mapping
        The content, in order (see :mod:`trialanalysis.reporting.sections`).
    title, subtitle : str
    run : RunStamp, optional
        Run start and end; rendered only inside the run-stamp block.
    root : path
        File paths are shown relative to this folder (keep it fixed so that
        reruns give identical reports).
    outline : mapping of str to str, optional
        Section ids the report must have (default :data:`REPORT_OUTLINE`).
    strict : bool
        Raise when an outline section is missing; otherwise the report opens
        with a visible list of the missing sections.
    default_rounding : sequence of mapping, optional
        Rounding rules for tables that set none.
    suppression_rule : SuppressionRule, optional
        The run's small-cell rule (default: the built-in config's); it
        applies to every table, each declaring its counts in ``suppression``
        (see :mod:`trialanalysis.reporting.suppression`).
    labels : Labels, optional
        The run's labels of codes in table cells and headers (default: the
        built-in ones; see :mod:`trialanalysis.reporting.labels`).

    Returns
    -------
    str
    """
    sections = sections_from_dicts(sections)
    missing = _missing_files(sections)
    if missing:
        raise ReportError(
            "files named in the report description do not exist:\n" + "\n".join(missing)
        )
    ids = {s.id for s in walk(sections)}
    absent = [f"{key} ({name})" for key, name in (outline or {}).items() if key not in ids]
    if absent and strict:
        raise ReportError(f"the report lacks required section(s): {', '.join(absent)}")
    renderer = _Renderer(Path(root).resolve(), default_rounding, suppression_rule, labels)
    rendered = [renderer.section(s, 2) for s in sections]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("trialanalysis.reporting", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("report.html.j2").render(
        title=title,
        subtitle=subtitle,
        version=trialanalysis.__version__,
        sections=rendered,
        absent=absent,
        files=sorted(renderer.files.values(), key=lambda f: f["file"]),
        run=run,
        run_begin=RUN_STAMP_BEGIN,
        run_end=RUN_STAMP_END,
        table_css=TABLE_CSS,
    )


def write_report(sections: Sequence[Section | Mapping], path: str | Path, **options) -> Path:
    """Render the report (see :func:`render_report`) and write it as UTF-8."""
    path = Path(path)
    text = render_report(sections, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path
