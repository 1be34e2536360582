"""Assemble the report from the fragments that workflow steps write.

Each step that produces something for the report writes, beside its tables
and figures, a *fragment*: a small YAML file that says where its outputs go
in the report and which models it fitted::

    models:                      # for the methods section (optional)
      - {trial: betterback, name: primary_odi, outcome: odi_total,
         formula: "odi_total ~ ... + (1 | clinic_id)", df_method: satterthwaite}
    sections:
      - section: results         # an id of REPORT_OUTLINE
        title: "BetterBack: primary outcomes"
        blocks: [...]            # text / table / figure / code blocks (see sections.py)

The report step reads every fragment, groups the entries by outline section
(in the order the fragments are given), adds the generated methods and
provenance sections and writes one HTML file. Steps thereby own what they
show, and the report never needs to know the name of an analysis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from trialanalysis.errors import ReportError
from trialanalysis.instruments import load_instruments
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.methods import methods_section
from trialanalysis.reporting.provenance import provenance_section
from trialanalysis.reporting.report import REPORT_OUTLINE, RunStamp, write_report
from trialanalysis.reporting.sections import Block, block_from_dict
from trialanalysis.reporting.suppression import SuppressionRule

GENERATED = ("methods", "provenance")
#: Where an entry of the summary goes (its ``rank``; default ``DEFAULT_RANK``):
#: the primary outcomes and their estimands lead, the flow of participants
#: follows, then secondary cohorts such as the uncontrolled therapist cohort.
SUMMARY_RANK = {"primary": 10, "flow": 20, "cohort": 30}
DEFAULT_RANK = 50


def write_fragment(
    path: str | Path, sections: Sequence[Mapping], models: Sequence[Mapping] = ()
) -> Path:
    """Write a report fragment (see the module docstring).

    Parameters
    ----------
    path : path
        Output YAML file.
    sections : sequence of mapping
        Entries with ``section`` (an outline id), ``title``, ``blocks`` and
        optionally ``rank`` (entries of a section are shown by rank, then in
        fragment order; see :data:`SUMMARY_RANK`); blocks are dicts or
        :mod:`~trialanalysis.reporting.sections` blocks
        (``TableBlock``, ``FigureBlock``, ...), each checked here so that a
        malformed block fails the step that wrote it, not the report.
    models : sequence of mapping
        Models fitted by the step, described for the methods section.

    Returns
    -------
    Path
    """
    unknown = sorted({s["section"] for s in sections} - set(REPORT_OUTLINE) - set(GENERATED))
    if unknown:
        raise ReportError(f"fragment sections {unknown} are not in the report outline")
    path = Path(path)
    entries = []
    for i, section in enumerate(sections):
        where = f"{path}: section {i + 1} ({section.get('title', '')!r})"
        blocks = [
            _block_dict(b, f"{where} block {j + 1}") for j, b in enumerate(section["blocks"])
        ]
        entries.append({**section, "blocks": blocks})
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"models": [dict(m) for m in models], "sections": entries}
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _block_dict(block: Mapping | Block, where: str) -> dict:
    """Check a report block (a dict or a ``sections`` block); return it as a plain dict.

    A dataclass block keeps the fields that differ from their defaults, in
    field order, with paths as text.

    Raises
    ------
    ReportError
        If a dict is not a well-formed block (its kind, its keys).
    """
    built = block_from_dict(block, where)
    if isinstance(block, Mapping):
        return dict(block)
    plain = {}
    for item in dataclasses.fields(built):
        value = getattr(built, item.name)
        default = (
            item.default_factory() if item.default_factory is not dataclasses.MISSING
            else item.default
        )  # fmt: skip
        if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            plain[item.name] = str(value) if isinstance(value, Path) else value
        elif value != default:
            plain[item.name] = [str(v) for v in value] if item.name == "data" else value
    return plain


def read_fragments(paths: Sequence[str | Path]) -> tuple[dict[str, list[dict]], list[dict]]:
    """Read fragments; return entries grouped by outline id, and all models."""
    grouped: dict[str, list[dict]] = {key: [] for key in REPORT_OUTLINE}
    models: list[dict] = []
    for path in paths:
        content = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        models += content.get("models", [])
        for entry in content.get("sections", []):
            if entry.get("section") not in grouped:
                raise ReportError(f"{path}: unknown report section {entry.get('section')!r}")
            grouped[entry["section"]].append(entry)
    return grouped, models


def assemble_report(
    config: Mapping,
    fragments: Sequence[str | Path],
    *,
    input_files: Sequence[str | Path],
    validation_summary: str | Path,
    output: str | Path,
    started: str | None,
    finished: str | None,
    root: str | Path = ".",
    mapping: str | Path | None = None,
) -> Path:
    """Write the HTML report from fragments plus generated methods and provenance.

    Parameters
    ----------
    config : mapping
        The full effective (validated) config.
    fragments : sequence of path
        Fragment files, in the order their entries should appear.
    input_files : sequence of path
        Every raw input file (hashed in the provenance section).
    validation_summary : path
        CSV written by the validation step.
    output : path
        The HTML file to write.
    started, finished : str or None
        Run timestamps (the report's only volatile values).
    root : path
        Paths in the report are shown relative to this folder.
    mapping : path, optional
        CSV of the renames and recodes applied to the exports (written by
        the validation step).

    Returns
    -------
    Path
    """
    grouped, models = read_fragments(fragments)
    reporting = config["reporting"]
    sections: list = []
    for key, title in REPORT_OUTLINE.items():
        if key == "methods":
            instruments = load_instruments(config["instruments_dir"])
            sections.append(
                methods_section(
                    config,
                    instruments,
                    models,
                    missing_data=reporting["missing_data"],
                    root=root,
                )
            )
        elif key == "provenance":
            sections.append(
                provenance_section(
                    input_files=input_files,
                    config=config,
                    root=root,
                    validation_summary=validation_summary,
                    mapping=mapping,
                )
            )
        elif grouped[key]:
            entries = sorted(grouped[key], key=lambda e: e.get("rank", DEFAULT_RANK))
            subsections = [{"title": e["title"], "blocks": e.get("blocks", [])} for e in entries]
            sections.append({"id": key, "title": title, "blocks": [], "subsections": subsections})
    tables = reporting["tables"]
    return write_report(
        sections,
        output,
        title=reporting["title"],
        run=RunStamp(started, finished),
        root=root,
        strict=reporting["strict"],
        default_rounding=tables["rounding"],
        suppression_rule=SuppressionRule.from_config(config),
        labels=run_labels(config),
    )
