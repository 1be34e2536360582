"""Word (.docx) tables that are byte-identical on rerun and fit an A4 page.

A .docx file is a zip archive: python-docx stamps each entry with the current
time, and the core properties carry creation and modification dates. Both are
fixed here (:data:`FIXED_DATE`), so the same table gives the same bytes.

The page is A4 portrait with 2.5 cm margins (text width 16 cm); the table has
a fixed layout whose column widths add up to at most the text width: columns
of numbers get the width of their widest cell (they never wrap), text columns
share the rest in proportion to their content and wrap. The font is 9 pt, or
8 pt when the numbers would not fit at 9 pt.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips

from trialanalysis.reporting.tables import RenderedTable

FIXED_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: A4 portrait and its margins, in millimetres.
PAGE_MM = (210, 297)
MARGIN_MM = 25
TWIPS_PER_MM = 1440 / 25.4
#: Average width of a character as a share of the font size (sans serif), and a
#: cell's left + right padding in twips (Word's default 0.19 cm + 0.19 cm).
CHAR_EM = 0.55
CELL_PADDING = 216


def text_width_twips() -> int:
    """Width of the text block of an A4 page with :data:`MARGIN_MM` margins, in twips."""
    return int((PAGE_MM[0] - 2 * MARGIN_MM) * TWIPS_PER_MM)


def _natural(texts, points: float) -> int:
    """Width in twips a column needs to show its longest line unwrapped."""
    longest = max((len(line) for t in texts for line in str(t).splitlines() or [""]), default=0)
    return int(longest * CHAR_EM * points * 20) + CELL_PADDING


def column_widths(table: RenderedTable, points: float) -> list[int] | None:
    """Column widths (twips) that fit the A4 text width, or None if the numbers cannot fit.

    Parameters
    ----------
    table : RenderedTable
    points : float
        Font size.
    """
    available = text_width_twips()
    columns = [
        [header, *table.cells.iloc[:, j].tolist()] for j, header in enumerate(table.headers)
    ]
    natural = [_natural(texts, points) for texts in columns]
    if sum(natural) <= available:
        return natural
    fixed = sum(n for n, numeric in zip(natural, table.numeric, strict=True) if numeric)
    flexible = [n for n, numeric in zip(natural, table.numeric, strict=True) if not numeric]
    rest = available - fixed
    # a text column gets at least room for a short word
    least = _natural(["x" * 8], points)
    if rest < least * len(flexible):
        return None
    total = sum(flexible) or 1
    widths = []
    for n, numeric in zip(natural, table.numeric, strict=True):
        widths.append(n if numeric else max(least, int(rest * n / total)))
    while sum(widths) > available:  # rounding up to the least width: take it from the widest
        widest = max((w, j) for j, w in enumerate(widths) if not table.numeric[j])[1]
        widths[widest] -= sum(widths) - available
    return widths


def _border(parent, edge: str, size: int) -> None:
    element = OxmlElement(f"w:{edge}")
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), str(size))
    element.set(qn("w:space"), "0")
    element.set(qn("w:color"), "000000")
    parent.append(element)


def _three_line_rules(table) -> None:
    """Give a table the booktabs look: thick top and bottom rules, thin rule under the header."""
    borders = OxmlElement("w:tblBorders")
    _border(borders, "top", 12)
    _border(borders, "bottom", 12)
    # schema order of w:tblPr: the borders come before shading, layout, margins and look
    table._tbl.tblPr.insert_element_before(
        borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption"
    )
    for cell in table.rows[0].cells:
        cell_borders = OxmlElement("w:tcBorders")
        _border(cell_borders, "bottom", 6)
        cell._tc.get_or_add_tcPr().append(cell_borders)


def _fixed_widths(grid, widths: list[int]) -> None:
    """Give the table a fixed layout with these column widths (twips)."""
    grid.autofit = False  # w:tblLayout w:type="fixed"
    properties = grid._tbl.tblPr
    total = properties.find(qn("w:tblW"))
    if total is None:
        total = OxmlElement("w:tblW")
        properties.append(total)
    total.set(qn("w:w"), str(sum(widths)))
    total.set(qn("w:type"), "dxa")
    for j, width in enumerate(widths):
        grid.columns[j].width = Twips(width)
        for cell in grid.columns[j].cells:
            cell.width = Twips(width)


def deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed entry timestamps and attributes (order kept)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()


def write_docx(table: RenderedTable, path: str | Path, title: str | None = None) -> Path:
    """Write a rendered table as a Word document with a caption and notes.

    Parameters
    ----------
    table : RenderedTable
        From :func:`trialanalysis.reporting.tables.format_table`.
    path : str or Path
        The ``.docx`` file to write.
    title : str, optional
        Document title property (default: the caption).

    Returns
    -------
    Path
    """
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(MARGIN_MM))
    points, widths = 9, column_widths(table, 9)
    if widths is None:
        points, widths = 8, column_widths(table, 8)
    if table.caption:
        document.add_paragraph(table.caption, style="Caption")
    n_rows, n_cols = table.cells.shape
    grid = document.add_table(rows=n_rows + 1, cols=n_cols)
    for j, header in enumerate(table.headers):
        cell = grid.cell(0, j)
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    for i, row in enumerate(table.cells.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            grid.cell(i, j).text = value
    for j, numeric in enumerate(table.numeric):
        if numeric:
            for row in grid.rows:
                row.cells[j].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for row in grid.rows:
        for cell in row.cells:
            for run in cell.paragraphs[0].runs:
                run.font.size = Pt(points)
    if widths is not None:
        _fixed_widths(grid, widths)
    _three_line_rules(grid)
    for note in table.notes:
        paragraph = document.add_paragraph(note)
        for run in paragraph.runs:
            run.font.size = Pt(8)
    properties = document.core_properties
    properties.author = "trialanalysis"
    properties.last_modified_by = "trialanalysis"
    properties.comments = "Generated by trialanalysis"
    properties.title = title if title is not None else table.caption
    properties.created = FIXED_DATE
    properties.modified = FIXED_DATE
    properties.last_printed = FIXED_DATE
    properties.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path = Path(path)
    path.write_bytes(deterministic_zip(buffer.getvalue()))
    return path
