"""Readers: encodings, separators, decimal marks, row numbers, value labels."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyreadstat
import pytest

from trialanalysis.errors import DataValidationError
from trialanalysis.ingest.readers import canonical_text, read_table


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8-sig", b""), ("cp1252", b""), ("latin-1", b""), ("utf-16", b"")],
)
def test_encodings_are_detected(tmp_path, encoding, prefix):
    path = _write(tmp_path / "t.csv", "ort,namn_på_kod\nLinköping,Åsa-ö\n", encoding)
    table = read_table(path)
    assert table.header == ["ort", "namn_på_kod"]
    assert table.rows == [["Linköping", "Åsa-ö"]]


def test_cp1252_specific_characters(tmp_path):
    path = _write(tmp_path / "t.csv", "a\n“quoted” – €\n", "cp1252")
    assert read_table(path).rows == [["“quoted” – €"]]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a\nx\x81y\n")
    assert read_table(path).rows == [["x\x81y"]]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_separator_is_taken_from_the_header(tmp_path, separator):
    text = separator.join(["id", "score", "note"]) + "\n"
    text += separator.join(["a", "3", '"x, y; z"']) + "\n"
    table = read_table(_write(tmp_path / "t.csv", text))
    assert table.header == ["id", "score", "note"]
    assert table.rows == [["a", "3", "x, y; z"]]


def test_decimal_comma_detected_in_semicolon_files(tmp_path):
    table = read_table(_write(tmp_path / "t.csv", "id;w\na;12,5\nb;3\n"))
    assert table.decimal == ","
    table = read_table(_write(tmp_path / "u.csv", "id;w\na;12.5\nb;3\n"))
    assert table.decimal == "."
    fixed = read_table(tmp_path / "u.csv", {"decimal": ","})
    assert fixed.decimal == ","


def test_forced_dialect(tmp_path):
    path = _write(tmp_path / "t.csv", "id|x;y\n1|2;3\n", "cp1252")
    table = read_table(path, {"separator": ";", "encoding": "cp1252"})
    assert table.header == ["id|x", "y"]


def test_row_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path):
    text = 'id,note\na,"two\nlines"\n\nb,x\n'
    table = read_table(_write(tmp_path / "t.csv", text))
    assert table.rows == [["a", "two\nlines"], ["b", "x"]]
    assert table.row_numbers == [2, 4]
    assert table.header_row == 1


def test_short_rows_are_padded_and_long_rows_reported(tmp_path):
    table = read_table(_write(tmp_path / "t.csv", "a,b,c\n1\n1,2,3,4\n"))
    assert table.rows == [["1", None, None], ["1", "2", "3"]]
    assert [(p.row, p.column) for p in table.problems] == [(3, None)]


def test_blank_cells_are_none_and_whitespace_trimmed(tmp_path):
    table = read_table(_write(tmp_path / "t.csv", "a,b\n  x ,   \n"))
    assert table.rows == [["x", None]]


def test_unsupported_missing_and_damaged_files(tmp_path):
    with pytest.raises(DataValidationError, match="file not found"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(DataValidationError, match=r"unsupported file type '\.json'"):
        read_table(tmp_path / "t.json")
    (tmp_path / "t.xlsx").write_text("not a zip")
    with pytest.raises(DataValidationError, match=r"cannot read this \.xlsx file"):
        read_table(tmp_path / "t.xlsx")


def test_sav_value_labels_and_case_rows(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "arm": [1.0, 2.0, np.nan],
            "when": pd.to_datetime(["2012-01-02", None, "2012-03-04"]),
            "note": ["x", "", "z"],
        }
    )
    path = tmp_path / "t.sav"
    pyreadstat.write_sav(
        frame, str(path), variable_value_labels={"arm": {1: "Waiting list", 2: "Physio"}}
    )
    table = read_table(path)
    assert table.header == ["arm", "when", "note"]
    assert table.rows == [["1", "2012-01-02", "x"], ["2", None, None], [None, "2012-03-04", "z"]]
    assert table.row_numbers == [2, 3, 4]
    assert table.value_labels == {"arm": {"1": "Waiting list", "2": "Physio"}}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (float("nan"), None),
        (3.0, "3"),
        (3.25, "3.25"),
        (np.float64(2.0), "2"),
        (np.int64(7), "7"),
        (True, "1"),
        (dt.datetime(2020, 5, 6), "2020-05-06"),
        (dt.datetime(2020, 5, 6, 7, 8), "2020-05-06 07:08:00"),
        (dt.date(2020, 5, 6), "2020-05-06"),
        ("  ", None),
    ],
)
def test_canonical_text(value, text):
    assert canonical_text(value) == text


def test_workbook_sheet_named_after_the_table(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "notes"
    workbook.active.append(["written by", "nurse"])
    sheet = workbook.create_sheet("clinics")
    sheet.append(["clinic_id", "cluster_id"])
    sheet.append(["C01", "A"])
    workbook.save(tmp_path / "bb.xlsx")
    assert read_table(tmp_path / "bb.xlsx", sheet="clinics").rows == [["C01", "A"]]
    assert read_table(tmp_path / "bb.xlsx", sheet="schedule").header == ["written by", "nurse"]
