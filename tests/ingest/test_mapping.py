"""Real exports onto the contract: mappings, mapping mistakes and the privacy guard in them.

Every case starts from a realistic export (tests/ingest/export.py: Swedish
headers and codes, XLSX, SAV and CSV) of the small valid dataset, breaks one
thing, and checks that exactly the expected ``file:row:column`` lines come
back, in the source's own file and column names.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from tests.ingest.export import swedish_export
from tests.ingest.helpers import INSTRUMENTS_DIR, valid_tables, write_csv
from trialanalysis.config import deep_merge
from trialanalysis.errors import ConfigError, DataValidationError, PrivacyError
from trialanalysis.ingest import validate_all, validate_sources
from trialanalysis.steps.shared import validate_step

BB, PR = "betterback", "prepare"
PATIENTS_XLSX = "betterback/Patienter.xlsx"
FIRST_DATA_ROW = 3  # title line, header, then data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("built")
    write_csv(root / "contract", valid_tables())
    return root, swedish_export(root / "contract", root / "export")


@pytest.fixture
def export(built, tmp_path):
    """A fresh copy of the export and its config (data_dir pointing at the copy)."""
    root, config = built
    shutil.copytree(root / "contract", tmp_path / "contract")
    shutil.copytree(root / "export", tmp_path / "export")
    config = copy.deepcopy(config)
    config["data_dir"] = str(tmp_path / "export")
    config["instruments_dir"] = str(INSTRUMENTS_DIR)
    return config, tmp_path / "export"


def _files(config, trial):
    return config[trial]["files"]


def _set_cell(root: Path, header: str, index: int, value, sheet="Data", file=PATIENTS_XLSX):
    path = root / file
    workbook = openpyxl.load_workbook(path)
    rows = workbook[sheet]
    header_row = 2 if file == PATIENTS_XLSX else 1
    column = next(c.column for c in rows[header_row] if c.value == header)
    rows.cell(row=header_row + 1 + index, column=column, value=value)
    workbook.save(path)


def _add_column(root: Path, header: str, values, file=PATIENTS_XLSX, sheet="Data"):
    path = root / file
    workbook = openpyxl.load_workbook(path)
    rows = workbook[sheet]
    header_row = 2 if file == PATIENTS_XLSX else 1
    column = 1 + max(c.column for c in rows[header_row] if c.value is not None)
    rows.cell(row=header_row, column=column, value=header)
    for index, value in enumerate(values):
        rows.cell(row=header_row + 1 + index, column=column, value=value)
    workbook.save(path)


def _n_patients():
    return len(valid_tables()[(BB, "patients")])


# --- mapping mistakes: (config, root) -> expected [(file, row, column, fragment)] ---


def value_without_recode(config, root):
    _set_cell(root, "Kön", 1, "Kvinnna")
    return [(PATIENTS_XLSX, 4, "Kön", "'Kvinnna' has no recode to sex; known: Kvinna, Man")]


def rename_key_not_in_file(config, root):
    rename = _files(config, BB)["patients"]["rename"]
    rename["Alder"] = rename.pop("Ålder")
    return [(PATIENTS_XLSX, 2, "Alder", "no column 'Alder' in the file; did you mean 'Ålder'?")]


def rename_target_not_in_contract(config, root):
    _files(config, BB)["patients"]["rename"]["Kön"] = "sx"
    return [
        (
            PATIENTS_XLSX,
            2,
            "Kön",
            "renamed to 'sx', which is not a column of betterback/patients; did you mean 'sex'?",
        )
    ]


def two_columns_renamed_onto_one(config, root):
    _files(config, BB)["patients"]["rename"]["clinic_name"] = "clinic_id"
    return [
        (PATIENTS_XLSX, 2, "clinic_name", "columns 'Klinik', 'clinic_name' all become 'clinic_id'")
    ]


def rename_onto_a_column_already_there(config, root):
    _add_column(root, "sex", ["female"] * _n_patients())
    return [(PATIENTS_XLSX, 2, "Kön", "columns 'Kön', 'sex' all become 'sex'")]


def recode_of_unknown_column(config, root):
    _files(config, BB)["patients"]["recode"]["gender"] = {"Kvinna": "female"}
    return [(PATIENTS_XLSX, 2, "gender", "'gender' is not a column of betterback/patients")]


def recode_to_a_value_not_allowed(config, root):
    _files(config, BB)["patients"]["recode"]["sex"]["Kvinna"] = "femal"
    return [(PATIENTS_XLSX, 2, "Kön", "'femal' is not allowed; expected one of: female, male")]


def sheet_that_does_not_exist(config, root):
    _files(config, BB)["patients"]["sheet"] = "Blad1"
    return [
        (
            PATIENTS_XLSX,
            None,
            None,
            "no sheet 'Blad1' in this workbook; its sheets: 'Info', 'Data'",
        )
    ]


def stem_matches_two_files(config, root):
    shutil.copy(root / PATIENTS_XLSX, root / "betterback" / "Patienter.sav")
    _files(config, BB)["patients"]["path"] = "betterback/Patienter.csv"
    return [
        (
            "betterback/Patienter.csv",
            None,
            None,
            "matches several files (Patienter.xlsx, Patienter.sav)",
        )
    ]


def file_absent_under_every_extension(config, root):
    _files(config, BB)["patients"]["path"] = "betterback/Patients.xlsx"
    return [("betterback/Patients.xlsx", None, None, "also looked for .csv, .xlsx and .sav")]


def table_missing_codes_replace_the_global_ones(config, root):
    _files(config, BB)["patients"]["missing_codes"] = [999]
    _set_cell(root, "Ålder", 0, -9)
    return [(PATIENTS_XLSX, 3, "Ålder", "-9 is out of range")]


def text_date_in_neither_form(config, root):
    path = root / "betterback" / "terapeuter.csv"
    text = path.read_text("cp1252").splitlines()
    fields = text[2].split(";")
    fields[-1] = "2017.06.15"
    text[2] = ";".join(fields)
    path.write_text("\r\n".join(text) + "\r\n", encoding="cp1252")
    return [
        (
            "betterback/terapeuter.csv",
            3,
            "Utbildningsdatum",
            "'2017.06.15' is not a date in the form YYYY-MM-DD or %d/%m/%Y",
        )
    ]


def spss_label_without_recode(config, root):
    del _files(config, PR)["patients"]["recode"]["diagnosis"]["Spinal stenos"]
    frame = valid_tables()[(PR, "patients")]
    rows = [i + 2 for i, d in enumerate(frame["diagnosis"]) if d == "spinal_stenosis"]
    return [
        ("prepare/patienter.sav", row, "Diagnos", "has no recode to diagnosis; known: Diskbråck")
        for row in rows
    ]


def wide_stem_renamed_onto_a_fixed_column(config, root):
    _files(config, PR)["outcomes"]["rename"]["Datum"] = "patient_id"
    return [
        ("prepare/utfall.csv", 1, "Datum", "renamed to 'patient_id', which is not a column"),
        ("prepare/utfall.csv", 1, "response_date", "missing column 'response_date'"),
    ]


def timepoint_label_without_recode(config, root):
    del _files(config, BB)["patient_outcomes"]["recode"]["timepoint"]["6 mån"]
    outcomes = valid_tables()[(BB, "patient_outcomes")]
    rows = [i + 2 for i, tp in enumerate(outcomes["timepoint"]) if tp == "6m"]
    file = "betterback/patient_outcomes.xlsx"
    return [(file, row, "Tidpunkt", "'6 mån' has no recode to timepoint") for row in rows]


MISTAKES = [
    value_without_recode,
    rename_key_not_in_file,
    rename_target_not_in_contract,
    two_columns_renamed_onto_one,
    rename_onto_a_column_already_there,
    recode_of_unknown_column,
    recode_to_a_value_not_allowed,
    sheet_that_does_not_exist,
    stem_matches_two_files,
    file_absent_under_every_extension,
    table_missing_codes_replace_the_global_ones,
    text_date_in_neither_form,
    spss_label_without_recode,
    wide_stem_renamed_onto_a_fixed_column,
    timepoint_label_without_recode,
]


# --- privacy guard cases in an export ---


NAMES = ["Anna Svensson", "Lars-Erik Johansson", "Karlsson, Maria", "Erik Lindqvist"]


def names_under_an_innocent_header(config, root):
    values = [NAMES[i % len(NAMES)] for i in range(_n_patients())]
    _add_column(root, "Fält 3", values)
    return [(PATIENTS_XLSX, 3, "Fält 3", "names of people")]


def names_in_most_cells_of_clinic_name(config, root):
    n = _n_patients()
    for i in range(n // 2 + 1):
        _set_cell(root, "clinic_name", i, NAMES[i % len(NAMES)])
    return [(PATIENTS_XLSX, 3, "clinic_name", "names of people")]


def personal_number_in_the_free_text(config, root):
    _set_cell(root, "Kommentar", 2, "Ring om 811228-9874")
    return [(PATIENTS_XLSX, 5, "Kommentar", "personal identity or coordination numbers")]


def given_name_header(config, root):
    _add_column(root, "Förnamn", ["x"] * _n_patients())
    return [(PATIENTS_XLSX, 2, "Förnamn", "the column name suggests names of people")]


def email_under_an_innocent_header(config, root):
    _add_column(root, "Övrigt 2", [None, "anna.svensson@example.se"])
    return [(PATIENTS_XLSX, 4, "Övrigt 2", "e-mail addresses")]


def phone_in_a_column_not_in_the_contract(config, root):
    _set_cell(root, "clinic_name", 0, "070-123 45 67")
    return [(PATIENTS_XLSX, 3, "clinic_name", "phone numbers")]


def personal_number_in_spss(config, root):
    frame, meta = pyreadstat.read_sav(str(root / "prepare/patienter.sav"), user_missing=True)
    frame["Kod"] = ""
    frame.loc[0, "Kod"] = "19811228-9874"
    pyreadstat.write_sav(
        frame,
        str(root / "prepare/patienter.sav"),
        variable_value_labels=meta.variable_value_labels,
        missing_ranges=meta.missing_ranges,
    )
    return [("prepare/patienter.sav", 2, "Kod", "personal identity or coordination numbers")]


GUARD = [
    names_under_an_innocent_header,
    names_in_most_cells_of_clinic_name,
    personal_number_in_the_free_text,
    given_name_header,
    email_under_an_innocent_header,
    phone_in_a_column_not_in_the_contract,
    personal_number_in_spss,
]


def _located(error, root):
    located = []
    for p in error.problems:
        file = Path(p.file)
        shown = file.relative_to(root).as_posix() if file.is_relative_to(root) else p.file
        located.append((shown, p.row, p.column, p.message))
    return located


@pytest.mark.parametrize("case", MISTAKES + GUARD, ids=[c.__name__ for c in MISTAKES + GUARD])
def test_each_mistake_gives_exactly_its_lines_and_no_results(case, export, tmp_path):
    config, root = export
    expected = case(config, root)
    outputs = {(BB, "patients"): tmp_path / "out" / "patients.csv"}
    with pytest.raises(DataValidationError) as caught:
        validate_step(config, outputs, str(tmp_path / "out" / "summary.csv"))
    assert not (tmp_path / "out").exists()  # nothing written
    found = _located(caught.value, root)
    assert sorted((f, r, c) for f, r, c, _ in found) == sorted(
        (f, r, c) for f, r, c, _ in expected
    ), found
    for file, row, column, fragment in expected:
        messages = [m for f, r, c, m in found if (f, r, c) == (file, row, column)]
        assert any(fragment in m for m in messages), (fragment, messages)
    if case in GUARD:
        assert isinstance(caught.value, PrivacyError)
        for secret in ("Svensson", "811228", "example.se", "45 67"):
            assert secret not in str(caught.value)


def test_at_least_twenty_mistakes_and_guard_cases():
    assert len(MISTAKES) + len(GUARD) >= 20


def test_export_gives_the_same_tables_and_records_the_mapping(export, tmp_path):
    config, _ = export
    contract = {"data_dir": str(tmp_path / "contract"), "instruments_dir": str(INSTRUMENTS_DIR)}
    reference, _ = validate_all(contract)
    tables, summary, mapping = validate_sources(config)
    for trial, named in reference.items():
        for name, frame in named.items():
            pd.testing.assert_frame_equal(tables[trial][name], frame)
    patients = summary.set_index(["trial", "table"]).loc[(BB, "patients")]
    assert patients["sheet"] == "Data"
    assert patients["dropped"] == "Kommentar (free text); clinic_name (not in the contract)"
    assert patients["columns_dropped"] == 2
    assert (
        summary.set_index(["trial", "table"])
        .loc[(BB, "patient_outcomes"), "file"]
        .endswith("patient_outcomes.xlsx")
    )
    sex = valid_tables()[(BB, "patients")]["sex"].value_counts()
    recoded = mapping[(mapping["step"] == "recode") & (mapping["column"] == "sex")]
    recoded = recoded[recoded["table"] == "patients"]
    recoded = recoded[recoded["trial"] == BB].set_index("source")["values_changed"]
    assert recoded.to_dict() == {"Kvinna": sex["female"], "Man": sex["male"]}
    renames = mapping[(mapping["step"] == "rename") & (mapping["trial"] == PR)]
    assert {"Datum_baseline", "PatID", "Kon"} <= set(renames["source"])


def test_spss_user_missing_values_are_missing(tmp_path):
    tables = valid_tables()
    tables[(PR, "patients")].loc[[0, 3], "expectation"] = None
    tables[(PR, "patients")].loc[[1], "sessions_attended"] = None
    write_csv(tmp_path / "contract", tables)
    config = swedish_export(tmp_path / "contract", tmp_path / "export")
    config["instruments_dir"] = str(INSTRUMENTS_DIR)
    _, meta = pyreadstat.read_sav(
        str(tmp_path / "export/prepare/patienter.sav"), user_missing=True
    )
    assert meta.missing_user_values or meta.missing_ranges  # 99 is declared user-missing
    patients = validate_all(config, [PR])[0][PR]["patients"]
    assert patients["expectation"].isna().tolist()[:4] == [True, False, False, True]
    assert patients["sessions_attended"].isna().tolist()[:3] == [False, True, False]
    assert not (patients["expectation"] == 99).any()


def test_misspelt_mapping_key_is_named_with_the_closest(export):
    config, _ = export
    entry = _files(config, BB)["patients"]
    entry["recodes"] = entry.pop("recode")
    with pytest.raises(ConfigError, match=r"unknown key 'recodes' \(did you mean 'recode'\?\)"):
        validate_all(config)


def test_a_csv_file_found_by_stem_when_the_config_names_xlsx(tmp_path):
    config = write_csv(tmp_path, valid_tables())
    config = deep_merge(config, {BB: {"files": {"clinics": "betterback/clinics.xlsx"}}})
    _, summary = validate_all(config, [BB])
    assert summary.loc[summary["table"] == "clinics", "file"].item().endswith("clinics.csv")
