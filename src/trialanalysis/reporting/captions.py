"""Caption files for ``snakemake --report``, written from the same section description.

Snakemake reads each caption file at report time, renders it with Jinja2
(variables ``snakemake``, ``categories``, ``files``) and then as
reStructuredText. :func:`caption_rst` escapes both, so captions with braces,
underscores or asterisks come out as written; file names and model formulas
are set as literals. Rule usage::

    output:
        report("results/betterback/primary.csv",
               caption="report/captions/betterback-primary-csv.rst",
               category="Results")
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from trialanalysis.reporting.sections import (
    FigureBlock,
    Section,
    TableBlock,
    sections_from_dicts,
    slugify,
    walk,
)

_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>])")


def escape_rst(text: str) -> str:
    """Backslash-escape the characters that start reStructuredText inline markup."""
    return _RST_SPECIAL.sub(r"\\\1", str(text))


def _literal(text: str) -> str:
    return "``" + str(text).replace("``", "` `") + "``"


def caption_rst(
    caption: str,
    *,
    sources: Sequence[str] = (),
    provenance: Mapping[str, str] | None = None,
) -> str:
    """Return the text of one caption file.

    Parameters
    ----------
    caption : str
        The caption as shown in the HTML report.
    sources : sequence of str
        Files the output was made from (shown as literals).
    provenance : mapping of str to str, optional
        Extra lines, e.g. ``{"model": "y ~ x + (1 | g)"}``.

    Returns
    -------
    str
        reStructuredText wrapped in a Jinja2 ``raw`` block.
    """
    lines = [escape_rst(caption.strip()) or "(no caption)", ""]
    for source in sources:
        lines += [f"Source: {_literal(source)}", ""]
    for key, value in (provenance or {}).items():
        lines += [f"{escape_rst(key.capitalize())}: {_literal(value)}", ""]
    body = "\n".join(lines).rstrip() + "\n"
    return "{% raw %}\n" + body + "{% endraw %}\n"


def write_captions(
    sections: Sequence[Section | Mapping], directory: str | Path, root: str | Path = "."
) -> dict[str, Path]:
    """Write one caption file per table and figure file named in a report description.

    Parameters
    ----------
    sections : sequence of Section or mapping
        The description given to :func:`trialanalysis.reporting.report.render_report`.
    directory : path
        Folder for the ``.rst`` files (e.g. ``workflow/report/captions``).
    root : path
        Output paths are named relative to this folder.

    Returns
    -------
    dict of str to Path
        Output file (relative to ``root``) -> its caption file. The caption
        file name is the output path made into a slug, e.g.
        ``results/betterback/primary.csv`` -> ``results-betterback-primary-csv.rst``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = Path(root).resolve()

    def shown(path) -> str:
        resolved = Path(path).resolve()
        return (
            resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else str(path)
        )

    written: dict[str, Path] = {}
    for section in walk(sections_from_dicts(sections)):
        for block in section.blocks:
            if isinstance(block, TableBlock) and not isinstance(block.table, pd.DataFrame):
                output, sources = shown(block.table), [block.source] if block.source else []
            elif isinstance(block, FigureBlock):
                output, sources = shown(block.figure), [shown(d) for d in block.data]
            else:
                continue
            caption = f"{section.title}: {block.caption}" if block.caption else section.title
            target = directory / f"{slugify(output)}.rst"
            target.write_text(
                caption_rst(caption, sources=sources, provenance=block.provenance),
                encoding="utf-8",
                newline="\n",
            )
            written[output] = target
    return written
