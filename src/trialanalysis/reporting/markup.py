"""HTML and LaTeX markup of rendered tables (see :mod:`trialanalysis.reporting.tables`)."""

from __future__ import annotations

import html

from trialanalysis.reporting.tables import RenderedTable

TABLE_CSS = """
table.data-table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
table.data-table caption { caption-side: top; text-align: left; font-weight: bold;
  padding-bottom: 0.3em; }
table.data-table thead th { border-top: 2px solid #333; border-bottom: 1px solid #333; }
table.data-table tbody tr:last-child td { border-bottom: 2px solid #333; }
table.data-table th, table.data-table td { padding: 0.2em 0.6em; text-align: left;
  vertical-align: top; }
table.data-table .num { text-align: right; font-variant-numeric: tabular-nums; }
p.table-note { font-size: 0.85em; margin: 0.1em 0; color: #333; }
""".strip()

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def table_html(table: RenderedTable, css_class: str = "data-table") -> str:
    """Return an HTML ``<table>`` fragment (with caption and notes), every cell escaped.

    Numeric columns get ``class="num"`` (right-aligned by :data:`TABLE_CSS`),
    cells counting individuals ``class="count"``, columns declared to count
    something else (clinics, resamples) ``class="count-other"``.
    """
    esc = html.escape
    lines = [f'<table class="{esc(css_class)}">']
    if table.caption:
        lines.append(f"<caption>{esc(table.caption)}</caption>")
    align = [' class="num"' if num else "" for num in table.numeric]
    head = "".join(
        f'<th{a} scope="col">{esc(h)}</th>' for h, a in zip(table.headers, align, strict=True)
    )
    lines.append(f"<thead><tr>{head}</tr></thead>")
    lines.append("<tbody>")
    counts = table.counts
    for i, row in enumerate(table.cells.itertuples(index=False)):
        marks = [bool(counts.iat[i, j]) if counts is not None else False for j in range(len(row))]
        other = [c in table.other_counts for c in table.cells.columns]
        cells = "".join(
            f"<td{_classes(num, count, not_individuals)}>{esc(v)}</td>"
            for v, num, count, not_individuals in zip(
                row, table.numeric, marks, other, strict=True
            )
        )
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</tbody>")
    lines.append("</table>")
    lines.extend(f'<p class="table-note">{esc(note)}</p>' for note in table.notes)
    return "\n".join(lines) + "\n"


def _classes(numeric: bool, count: bool, other: bool = False) -> str:
    flags = (("num", numeric), ("count", count), ("count-other", other))
    names = [n for n, on in flags if on]
    return f' class="{" ".join(names)}"' if names else ""


def standalone_page(fragment: str, title: str) -> str:
    """Wrap an HTML fragment in a whole page with its style inline (no external files)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{TABLE_CSS}\n</style>\n</head>\n"
        f"<body>\n{fragment}</body>\n</html>\n"
    )


def escape_latex(text: str) -> str:
    r"""Escape LaTeX special characters (``\ & % $ # _ { } ~ ^ < > |``) in plain text."""
    return "".join(LATEX_SPECIALS.get(char, char) for char in str(text))


def table_latex(table: RenderedTable, label: str | None = None, position: str = "htbp") -> str:
    r"""Return a LaTeX ``table`` with a booktabs ``tabular`` (needs ``\usepackage{booktabs}``).

    Notes follow the rule as ``\par`` lines, so the output compiles with booktabs alone.
    """
    spec = "".join("r" if num else "l" for num in table.numeric)
    lines = [f"\\begin{{table}}[{position}]", "\\centering"]
    if table.caption:
        lines.append(f"\\caption{{{escape_latex(table.caption)}}}")
    if label:
        lines.append(f"\\label{{{label}}}")
    lines += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
    lines.append(" & ".join(escape_latex(h) for h in table.headers) + " \\\\")
    lines.append("\\midrule")
    for row in table.cells.itertuples(index=False):
        lines.append(" & ".join(escape_latex(v) for v in row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    for note in table.notes:
        lines.append(f"\\par\\smallskip{{\\footnotesize {escape_latex(note)}}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"
