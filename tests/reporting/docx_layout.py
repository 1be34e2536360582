"""Read a .docx table's page and column widths from its XML (for the A4 fit checks)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path


def layout(path: str | Path) -> dict:
    """Page width, margins, column widths (twips), table layout and font sizes of a table."""
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")

    def attr(tag: str, name: str) -> int:
        return int(re.search(rf"<w:{tag}\b[^>]*\bw:{name}=\"(\d+)\"", xml).group(1))

    return {
        "page": attr("pgSz", "w"),
        "left": attr("pgMar", "left"),
        "right": attr("pgMar", "right"),
        "columns": [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"', xml)],
        "cells": [
            [int(w) for w in re.findall(r'<w:tcW w:type="dxa" w:w="(\d+)"/>', row)]
            for row in re.findall(r"<w:tr\b.*?</w:tr>", xml, flags=re.DOTALL)
        ],
        "fixed": '<w:tblLayout w:type="fixed"/>' in xml,
        "font_half_points": sorted({int(s) for s in re.findall(r'<w:sz w:val="(\d+)"', xml)}),
    }


def text_width(found: dict) -> int:
    """The text block's width: page minus margins."""
    return found["page"] - found["left"] - found["right"]
