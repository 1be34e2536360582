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

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from trialanalysis.errors import ReportError
from trialanalysis.instruments import load_instruments
from trialanalysis.reporting.conduct import conduct_section, no_sample_size_text
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.methods import methods_section
from trialanalysis.reporting.provenance import provenance_section
from trialanalysis.reporting.report import (
    REPORT_OUTLINE,
    RunStamp,
    arrange_sections,
    write_report,
)
from trialanalysis.reporting.sections import (
    ReportEntry,
    Section,
    TextBlock,
    block_to_dict,
    check_blocks,
)
from trialanalysis.reporting.suppression import SuppressionRule

#: Sections the report builds itself; fragments write the others of the outline.
NO_ESTIMANDS = (
    "No estimand is defined in the configuration (`betterback.analyses.patients.estimand`, "
    "`prepare.analyses.estimand`)."
)
GENERATED = ("methods", "conduct", "estimands", "analysis", "findings", "appendix", "provenance")


def generated_sections(config: Mapping, methods: Section, power: bool) -> dict[str, Section]:
    """Methods sections built from the config: conduct, sample size, estimands, analysis.

    Parameters
    ----------
    config : mapping
        The validated config.
    methods : Section
        From :func:`~trialanalysis.reporting.methods.methods_section` (its
        estimands, models and scoring subsections are placed here).
    power : bool
        Whether a fragment reports the sample size (power); otherwise the
        sample-size section says that none is part of the run.
    """
    parts = {s.id: s for s in methods.subsections}
    estimands = parts.get("methods-estimands")
    out = {
        "conduct": conduct_section(config),
        "estimands": Section(
            REPORT_OUTLINE["estimands"],
            list(estimands.blocks) if estimands else [TextBlock(NO_ESTIMANDS)],
            "estimands",
        ),
        "analysis": Section(
            REPORT_OUTLINE["analysis"],
            [],
            "analysis",
            [s for s in methods.subsections if s.id != "methods-estimands"],
        ),
    }
    if not power:
        out["sample_size"] = Section(
            REPORT_OUTLINE["sample_size"], [TextBlock(no_sample_size_text())], "sample_size"
        )
    return out


#: Where an entry goes within its section (its ``rank``; default ``DEFAULT_RANK``):
#: the primary outcomes and their estimands lead, the flow of participants
#: follows, and secondary cohorts such as the uncontrolled therapist cohort
#: come after every other entry (in the summary and in the results).
SUMMARY_RANK = {"primary": 10, "flow": 20, "cohort": 90}
DEFAULT_RANK = 50


def write_fragment(
    path: str | Path, sections: Sequence[ReportEntry], models: Sequence[Mapping] = ()
) -> Path:
    """Write a report fragment (see the module docstring).

    Parameters
    ----------
    path : path
        Output YAML file.
    sections : sequence of ReportEntry
        Entries (an outline ``section`` id, a ``title``, ``blocks`` and a
        ``rank``: entries of a section are shown by rank, then in fragment
        order; see :data:`SUMMARY_RANK`) built with
        :mod:`~trialanalysis.reporting.sections` dataclasses
        (``ReportEntry``, ``TextBlock``, ``TableBlock``, ``FigureBlock``,
        ``CodeBlock``), which check their fields when they are built. A block
        is written as :func:`~trialanalysis.reporting.sections.block_to_dict`
        gives it: its kind key first, then the fields set to other than their
        defaults, in field order.
    models : sequence of mapping
        Models fitted by the step, described for the methods section.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If an entry is not a ``ReportEntry`` or a block is not a block
        dataclass (a programming error: build the dataclass).
    ReportError
        If an entry names a section that is not in the report outline, or a
        table block holds a DataFrame instead of a path.
    """
    path = Path(path)
    for i, entry in enumerate(sections):
        if not isinstance(entry, ReportEntry):
            raise TypeError(
                f"{path}: section {i + 1} is a {type(entry).__name__}; build fragment entries "
                "with trialanalysis.reporting.sections.ReportEntry(section, title, blocks)"
            )
    unknown = sorted({e.section for e in sections} - set(REPORT_OUTLINE) - set(GENERATED))
    if unknown:
        raise ReportError(f"fragment sections {unknown} are not in the report outline")
    entries = []
    for i, entry in enumerate(sections):
        where = f"{path}: section {i + 1} ({entry.title!r})"
        check_blocks(entry.blocks, where)
        blocks = []
        for j, block in enumerate(entry.blocks):
            try:
                blocks.append(block_to_dict(block))
            except ReportError as exc:
                raise ReportError(f"{where} block {j + 1}: {exc}") from None
        ranked = {"rank": entry.rank} if entry.rank != DEFAULT_RANK else {}
        entries.append(
            {"section": entry.section, "title": entry.title, "blocks": blocks, **ranked}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"models": [dict(m) for m in models], "sections": entries}
    path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), "utf-8")
    return path


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
    methods = methods_section(
        config,
        load_instruments(config["instruments_dir"]),
        models,
        missing_data=reporting["missing_data"],
        root=root,
    )
    found = {
        key: {"id": key, "title": REPORT_OUTLINE[key], "blocks": [], "subsections": [
            {"title": e["title"], "blocks": e.get("blocks", [])}
            for e in sorted(entries, key=lambda e: e.get("rank", DEFAULT_RANK))
        ]}
        for key, entries in grouped.items()
        if entries
    }  # fmt: skip
    found.update(generated_sections(config, methods, "sample_size" in found))
    found["provenance"] = provenance_section(
        input_files=input_files,
        config=config,
        root=root,
        validation_summary=validation_summary,
        mapping=mapping,
    )
    sections = arrange_sections(found, {"methods": methods.blocks})
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
