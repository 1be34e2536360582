"""Valid data give identical analysis-ready tables from CSV, XLSX, SAV and the wide layout."""

from __future__ import annotations

import hashlib

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from tests.ingest.helpers import INSTRUMENTS_DIR, REPO, config_for, valid_tables, write_csv
from trialanalysis.errors import DataValidationError
from trialanalysis.ingest import pandera_schema, trial_contract, validate_all, validate_trial
from trialanalysis.ingest.settings import DEFAULT_SETTINGS
from trialanalysis.instruments.definitions import load_instruments

CONFIG = {"instruments_dir": str(INSTRUMENTS_DIR)}
EXAMPLE = REPO / "data" / "example"
TIMEPOINTS = {
    ("betterback", "therapist_responses"): DEFAULT_SETTINGS["betterback"]["timepoints"][
        "therapist"
    ],
    ("betterback", "patient_outcomes"): DEFAULT_SETTINGS["betterback"]["timepoints"]["patient"],
    ("prepare", "outcomes"): DEFAULT_SETTINGS["prepare"]["timepoints"],
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv")
    tables, summary = validate_all(write_csv(root, valid_tables()))
    return tables, summary


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed table -> Python values a writer understands (numbers, datetimes, text)."""
    out = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == "string":
            out[name] = column.astype(object).where(column.notna(), None)
        elif column.dtype == "Int64":
            out[name] = column.astype("float64")
        else:
            out[name] = column
    return pd.DataFrame(out)


def _files(tables, extension):
    return {
        (trial, table): f"{trial}/{table}.{extension}"
        for trial, by_table in tables.items()
        for table in by_table
    }


def _assert_same(expected, got):
    assert expected.keys() == got.keys()
    for trial in expected:
        assert expected[trial].keys() == got[trial].keys()
        for table in expected[trial]:
            pd.testing.assert_frame_equal(expected[trial][table], got[trial][table])


def test_valid_fixture_passes_with_expected_summary(reference):
    tables, summary = reference
    assert list(summary.columns) == [
        "trial",
        "table",
        "file",
        "format",
        "layout",
        "rows_read",
        "rows",
        "columns",
        "columns_dropped",
        "dropped",
        "problems",
        "sheet",
        "sha256",
    ]
    assert summary["problems"].sum() == 0
    patients = summary.set_index(["trial", "table"]).loc[("betterback", "patients")]
    assert (patients["rows_read"], patients["rows"], patients["columns"]) == (10, 10, 9)
    outcomes = tables["betterback"]["patient_outcomes"]
    assert outcomes["timepoint"].cat.categories.tolist() == ["baseline", "3m", "6m", "12m"]
    assert outcomes["odi_1"].dtype == "float64"
    assert str(outcomes["response_date"].dtype) == "datetime64[ns]"
    assert tables["betterback"]["patients"]["age"].dtype == "Int64"
    assert outcomes["odi_4"].isna().sum() == 1  # the one missing item in the fixture


def test_analysis_ready_tables_meet_their_pandera_schemas(reference):
    tables, _ = reference
    contracts = {trial: trial_contract(CONFIG, trial) for trial in tables}
    for trial, by_table in tables.items():
        for table, frame in by_table.items():
            pandera_schema(contracts[trial][table]).validate(frame)
            assert list(frame.columns) == contracts[trial][table].column_names


def write_as(expected, root, fmt):
    """Write analysis-ready tables back as raw files: xlsx, sav or Swedish Excel CSV."""
    extension = "csv" if fmt == "csv_sv" else fmt
    eq5d = load_instruments(INSTRUMENTS_DIR)["eq5d"]
    for (trial, table), rel in _files(expected, extension).items():
        typed = expected[trial][table]
        frame = _plain(typed)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "xlsx":
            frame.to_excel(path, index=False)
        elif fmt == "csv_sv":
            # Semicolons, decimal commas and Windows-1252, as Swedish Excel saves CSV.
            frame.to_csv(path, sep=";", decimal=",", encoding="cp1252", index=False)
        else:
            labels = {}
            for name, column in typed.items():
                if isinstance(column.dtype, pd.CategoricalDtype) and name != "timepoint":
                    # Codes 1..k with labels written as people do ("Waiting list").
                    frame[name] = column.cat.codes.astype(float).where(column.notna()) + 1
                    labels[name] = {
                        i + 1: c.replace("_", " ").capitalize()
                        for i, c in enumerate(column.cat.categories)
                    }
                elif name.startswith("eq5d_"):
                    # Item labels describe codes; the items must stay numeric.
                    labels[name] = {float(k): v for k, v in eq5d.response.labels.items()}
                elif frame[name].dtype == object:
                    frame[name] = frame[name].fillna("")
            pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)
    return config_for(root, _files(expected, extension))


@pytest.mark.parametrize("fmt", ["xlsx", "sav", "csv_sv"])
def test_round_trip(reference, tmp_path, fmt):
    expected, _ = reference
    got, summary = validate_all(write_as(expected, tmp_path, fmt))
    assert set(summary["format"]) == {"csv" if fmt == "csv_sv" else fmt}
    if fmt == "csv_sv":
        therapists = (tmp_path / "betterback" / "therapists.csv").read_text("cp1252")
        assert "8,5" in therapists and ";" in therapists
    _assert_same(expected, got)


@pytest.mark.slow
@pytest.mark.skipif(not (EXAMPLE / "betterback").is_dir(), reason="no example data")
def test_example_data_passes_in_all_formats(tmp_path):
    expected, summary = validate_all({**CONFIG, "data_dir": str(EXAMPLE)})
    assert summary["problems"].sum() == 0
    for fmt in ("xlsx", "sav"):
        got, _ = validate_all(write_as(expected, tmp_path / fmt, fmt))
        _assert_same(expected, got)


def test_utf8_bom_and_wide_layout_round_trip(reference, tmp_path):
    expected, _ = reference
    tables = valid_tables()
    for key, timepoints in TIMEPOINTS.items():
        tables[key] = to_wide(tables[key], timepoints)
    write_csv(tmp_path, tables, encoding="utf-8-sig")
    got, summary = validate_all(config_for(tmp_path))
    layouts = summary.set_index(["trial", "table"])["layout"]
    assert layouts[("betterback", "patient_outcomes")] == "wide"
    assert layouts[("betterback", "clinics")] == "long"
    _assert_same(expected, got)


def to_wide(long: pd.DataFrame, timepoints) -> pd.DataFrame:
    entity = long.columns[0]
    varying = [c for c in long.columns if c not in (entity, "timepoint")]
    parts = []
    for tp in timepoints:
        part = long[long["timepoint"] == tp].set_index(entity)[varying]
        parts.append(part.rename(columns=lambda c, tp=tp: f"{c}_{tp}"))
    wide = pd.concat(parts, axis=1).copy().reset_index()
    return wide.astype(object).where(wide.notna(), None)


def test_wide_layout_problems_are_located_in_the_wide_file(tmp_path):
    tables = valid_tables()
    wide = to_wide(
        tables[("betterback", "patient_outcomes")], TIMEPOINTS[("betterback", "patient_outcomes")]
    )
    wide.loc[2, "odi_3_3m"] = "9"
    wide["nrs_1_9m"] = wide["nrs_1_12m"]  # a time point the design does not have
    tables[("betterback", "patient_outcomes")] = wide
    config = write_csv(tmp_path, tables)
    with pytest.raises(DataValidationError) as caught:
        validate_trial(config, "betterback")
    found = [(p.row, p.column) for p in caught.value.problems]
    assert found == [(1, "nrs_1_9m"), (4, "odi_3_3m")]
    assert "time point '9m' in the column name is not in the design" in str(caught.value)


def test_declared_wide_layout_and_misspelt_wide_column(tmp_path):
    tables = valid_tables()
    key = ("prepare", "outcomes")
    wide = to_wide(tables[key], TIMEPOINTS[key]).rename(columns={"odi_1_3m": "odi1_3m"})
    tables[key] = wide
    config = write_csv(tmp_path, tables)
    config["prepare"] = {"layout": {"outcomes": "wide"}}
    with pytest.raises(DataValidationError) as caught:
        validate_trial(config, "prepare")
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (1, "odi1_3m")
    assert "did you mean 'odi_1_3m'?" in problem.message


def test_xlsx_rows_are_sheet_rows_below_title_rows(tmp_path):
    tables = valid_tables()
    config = write_csv(tmp_path, tables)
    frame = tables[("betterback", "therapists")]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["BetterBack therapists export"])
    sheet.append([])
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if v is None else v for v in row])
    sheet.cell(row=6, column=4, value=200)  # therapist 3 (third data row), age
    workbook.save(tmp_path / "betterback" / "therapists.xlsx")
    config["betterback"] = {"files": {"therapists": "betterback/therapists.xlsx"}}
    with pytest.raises(DataValidationError) as caught:
        validate_trial(config, "betterback")
    [problem] = caught.value.problems
    assert (problem.file.endswith("therapists.xlsx"), problem.row, problem.column) == (
        True,
        6,
        "age",
    )


def test_sav_rows_are_case_numbers_plus_one(tmp_path):
    tables = valid_tables()
    config = write_csv(tmp_path, tables)
    frame = tables[("prepare", "patients")].copy()
    for column in ("age", "sessions_attended", "expectation"):
        frame[column] = frame[column].astype(float)
    frame["surgery_date"] = frame["surgery_date"].fillna("")
    frame.loc[3, "expectation"] = 11.0  # case 4
    pyreadstat.write_sav(frame, str(tmp_path / "prepare" / "patients.sav"))
    config["prepare"] = {"files": {"patients": "prepare/patients.sav"}}
    with pytest.raises(DataValidationError) as caught:
        validate_trial(config, "prepare")
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (5, "expectation")


def test_raw_files_are_not_modified_and_checksums_reported(tmp_path):
    config = write_csv(tmp_path, valid_tables())
    files = sorted(tmp_path.rglob("*.csv"))
    before = {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    _, summary = validate_all(config)
    assert {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files} == before
    by_file = dict(zip(summary["file"], summary["sha256"], strict=True))
    for f in files:
        assert by_file[str(f)] == hashlib.sha256(f.read_bytes()).hexdigest()


def test_missing_codes_are_configurable_per_column(tmp_path):
    tables = valid_tables()
    tables[("prepare", "outcomes")].loc[0, "vas_1"] = "999"
    tables[("prepare", "outcomes")].loc[1, "vas_2"] = "NA"
    config = write_csv(tmp_path, tables)
    with pytest.raises(DataValidationError) as caught:
        validate_trial(config, "prepare")
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "vas_1"), (3, "vas_2")]
    config["input"] = {"missing_codes": [-9, "NA"], "column_missing_codes": {"vas_1": [999]}}
    outcomes = validate_trial(config, "prepare")["outcomes"]
    assert outcomes["vas_1"].isna().sum() == 1 and outcomes["vas_2"].isna().sum() == 1


def test_categories_are_normalised(tmp_path):
    tables = valid_tables()
    tables[("prepare", "patients")].loc[0, "arm"] = " Waiting List "
    tables[("prepare", "patients")].loc[1, "diagnosis"] = "Spinal-stenosis"
    got = validate_trial(write_csv(tmp_path, tables), "prepare")["patients"]
    assert got.loc[0, "arm"] == "waiting_list"
    assert got.loc[1, "diagnosis"] == "spinal_stenosis"
