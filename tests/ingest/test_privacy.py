"""Privacy guard: personal identity numbers, names, e-mail, phone; small cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.ingest.helpers import valid_tables, write_csv
from trialanalysis.cli.main import main
from trialanalysis.errors import PrivacyError
from trialanalysis.ingest import validate_all, validate_trial
from trialanalysis.ingest.parse import show
from trialanalysis.ingest.privacy import (
    contains_personal_number,
    identifying_column_name,
    looks_like_email,
    looks_like_person_name,
    looks_like_phone,
    scan_columns,
)

# Check digits worked by hand (Luhn over YYMMDDNNN, weights 2,1,2,...):
# 811228-987?: 8*2=16->7, 1, 1*2=2, 2, 2*2=4, 8, 9*2=18->9, 8, 7*2=14->5; sum 46 -> 4.
# 811218-987?: 7+1+2+2+2+8+9+8+5 = 44 -> 6.
# 701063-239? (coordination number, day 63 = 3 + 60): 5+0+2+0+3+3+4+3+9 = 29 -> 1.
# 011228-987?: 0+1+2+2+4+8+9+8+5 = 39 -> 1.
VALID = [
    "811228-9874",
    "8112289874",
    "19811228-9874",
    "198112289874",
    "811228+9874",  # "+" for people aged 100 or more
    "811228 9874",
    "811218-9876",
    "701063-2391",  # coordination number
    "7010632391",
    "19701063-2391",
    "197010632391",
    "Pnr: 811228-9874, called twice",  # inside text
    "112289871",  # 011228-9871 stored as a number: the leading zero is lost
]
INVALID = [
    "811228-9875",  # wrong check digit
    "811218-9874",
    "701063-2392",
    "811328-9874",  # month 13
    "810230-1234",  # 30 February
    "819928-9874",
    "701093-2391",  # day 93 - 60 = 33
    "2019-03-01",  # a date
    "20190301",
    "0.8112289874",  # decimals
    "18112289874999",  # part of a longer number
    "112289874",  # nine digits, but 011228-9874 has the wrong check digit
    "P0001",
    "",
]


@pytest.mark.parametrize("text", VALID)
def test_personal_numbers_are_found(text):
    assert contains_personal_number(text)


@pytest.mark.parametrize("text", INVALID)
def test_other_values_are_not_personal_numbers(text):
    assert not contains_personal_number(text)


def test_leap_day_without_century():
    # 000229: 29 February exists in 2000 (and not in 1900); check digit worked as above:
    # 0,0,0,2,2,9,1,2,3 -> 0+0+0+2+4+9+2+2+6 = 25 -> 5
    assert contains_personal_number("000229-1235")
    assert not contains_personal_number("19000229-1235")


@pytest.mark.parametrize(
    "text",
    ["070-123 45 67", "0701234567", "+46 70 123 45 67", "013-12 34 56", "0046 8 123 456 78"],
)
def test_phone_numbers(text):
    assert looks_like_phone(text)


@pytest.mark.parametrize(
    "text", ["01-02-2019", "2019-02-01", "12345678", "0.1234567", "-9", "P001"]
)
def test_not_phone_numbers(text):
    assert not looks_like_phone(text)


def test_emails_and_names():
    assert looks_like_email("anna.svensson@example.se")
    assert not looks_like_email("a@b")
    assert looks_like_person_name("Anna Svensson")
    assert looks_like_person_name("Anna-Karin Öberg")
    assert not looks_like_person_name("waiting_list")
    assert not looks_like_person_name("Waiting list")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("patient_name", "name"),
        ("Efternamn", "name"),
        ("therapistName", "name"),
        ("E-post", "email"),
        ("email_address", "email"),
        ("Personnummer", "personal_number"),
        ("pnr", "personal_number"),
        ("mobil", "phone"),
        ("phone_number", "phone"),
        ("adress", "address"),
        ("patient_id", None),
        ("timepoint", None),
        ("odi_1", None),
    ],
)
def test_identifying_column_names(name, kind):
    assert identifying_column_name(name) == kind


@pytest.mark.parametrize(
    "value",
    ["811228-9874", "19701063-2391", "anna@example.se", "070-123 45 67", "Anna Svensson"],
)
def test_identifiers_in_a_column_are_refused_without_echoing_the_value(tmp_path, value):
    tables = valid_tables()
    tables[("betterback", "care")]["comment"] = None
    tables[("betterback", "care")].loc[3, "comment"] = value
    with pytest.raises(PrivacyError) as caught:
        validate_all(write_csv(tmp_path, tables))
    problems = caught.value.problems
    assert [(p.file.endswith("care.csv"), p.row, p.column) for p in problems] == [
        (True, 5, "comment")
    ]
    assert value not in str(caught.value)
    assert "privacy.drop_columns['betterback/care']" in problems[0].message


def test_personal_number_in_a_contract_column_is_never_echoed(tmp_path):
    tables = valid_tables()
    value = "19811228-9874"
    tables[("betterback", "patients")].loc[1, "patient_id"] = value
    tables[("betterback", "patient_outcomes")].loc[4:7, "patient_id"] = value
    tables[("betterback", "care")].loc[1, "patient_id"] = value
    tables[("betterback", "therapists")].loc[0, "age"] = value
    with pytest.raises(PrivacyError) as caught:
        validate_all(write_csv(tmp_path, tables))
    text = str(caught.value)
    assert "811228" not in text and "9874" not in text
    located = {(p.file.rsplit("/", 1)[-1], p.row, p.column) for p in caught.value.problems}
    assert ("patients.csv", 3, "patient_id") in located
    assert ("patient_outcomes.csv", 6, "patient_id") in located
    assert ("therapists.csv", 2, "age") in located


def test_declared_columns_are_dropped_on_read(tmp_path):
    tables = valid_tables()
    tables[("betterback", "patients")]["patient_name"] = "Anna Svensson"
    tables[("betterback", "patients")]["personnummer"] = "811228-9874"
    config = write_csv(tmp_path, tables)
    with pytest.raises(PrivacyError):
        validate_trial(config, "betterback")
    config["privacy"] = {"drop_columns": {"betterback/patients": ["patient_name", "personnummer"]}}
    tables_out, summary = validate_all(config)
    patients = tables_out["betterback"]["patients"]
    assert "patient_name" not in patients and "personnummer" not in patients
    row = summary.set_index(["trial", "table"]).loc[("betterback", "patients")]
    assert (row["columns"], row["columns_dropped"]) == (11, 2)


def test_category_labels_are_not_taken_for_names(tmp_path):
    tables = valid_tables()
    tables[("prepare", "patients")].loc[0, "arm"] = "Waiting List"
    validate_trial(write_csv(tmp_path, tables), "prepare")


# --- names of people by content; organisation names and category labels pass ---

DATA = Path(__file__).parent / "data"
PERSON_NAMES = [
    "Anna Svensson",
    "Lars-Erik Johansson",
    "Karlsson, Maria",
    "ERIK LINDQVIST",
    "Mette Hansen",
    "Juha Virtanen",
    "Per Olof Nyström",
]
NOT_NAMES = [
    # clinic and organisation names
    "Vårdcentralen Ljungsbro",
    "Fysio Linköping City",
    "Rehab Norrköping",
    "Hälsocentralen Vadstena",
    "Capio Ortopediska Huset",
    "Region Östergötland",
    # Swedish place names
    "Linköping",
    "Mjölby",
    "Västra Frölunda",
    "Upplands Väsby",
    "Sankt Anna",
    # category labels (trial, diagnosis, nlme::Oats)
    "Waiting List",
    "Per protocol",
    "Spinal stenosis",
    "Disc herniation",
    "Degenerative disc disease",
    "Golden Rain",
    "Marvellous",
    "Victory",
]


@pytest.mark.parametrize("text", PERSON_NAMES)
def test_names_of_people_are_recognised(text):
    assert looks_like_person_name(text)


@pytest.mark.parametrize("text", NOT_NAMES)
def test_organisations_places_and_labels_are_not_names(text):
    assert not looks_like_person_name(text)


def _scan(header, values):
    rows = [[v] for v in values]
    return scan_columns("f.csv", [header], rows, list(range(2, len(rows) + 2)), 1, "t/x")


@pytest.mark.parametrize("header", ["Fält3", "group", "Kontaktperson_info", "x"])
def test_names_under_an_innocent_header_are_refused_without_echoing(header):
    values = [PERSON_NAMES[i % len(PERSON_NAMES)] for i in range(9)] + [None, "okänd"]
    problems = _scan(header, values)
    assert [(p.row, p.column) for p in problems] == [(2, header)]
    assert "names of people (rows 2, 3, 4, 5, 6 and 4 more)" in problems[0].message
    assert not any(n.split()[-1] in problems[0].message for n in PERSON_NAMES)
    assert show("Anna Svensson") == "(value not shown: it looks like personal data)"


def test_a_few_names_among_clinic_names_do_not_make_the_column_personal():
    values = ["Vårdcentralen Ljungsbro", "Fysio Linköping City", "Rehab Norrköping", "Erik Dahl"]
    assert _scan("clinic_name", values) == []
    assert len(_scan("clinic_name", [*values[:1], "Anna Svensson", "Erik Dahl"])) == 1


@pytest.mark.parametrize(
    ("header", "refused"),
    [
        ("clinic_name", False),
        ("Kliniknamn", False),
        ("unit_name", False),
        ("Variety", False),
        ("name", True),
        ("Namn", True),
        ("patient_name", True),
        ("first_name", True),
        ("LastName", True),
        ("Förnamn", True),
        ("Patientnamn", True),
    ],
)
def test_header_words_that_mean_a_persons_name(header, refused):
    assert (identifying_column_name(header) == "name") is refused


def test_r_datasets_category_labels_pass_the_guard():
    labels = pd.read_csv(DATA / "r_category_labels.csv", keep_default_na=False)
    assert labels["dataset"].nunique() >= 30
    for (dataset, column), group in labels.groupby(["dataset", "column"]):
        header = "label" if column.startswith("(") else column  # "(row names)": no header
        assert _scan(header, group["value"].tolist()) == [], (dataset, column)
    assert {"warpbreaks", "InsectSprays", "PlantGrowth", "ChickWeight", "nlme::Oats"} <= set(
        labels["dataset"]
    )


def test_fit_accepts_oats_and_matches_lmer(tmp_path, capsys):
    out = tmp_path / "oats.csv"
    status = main(
        ["fit", str(DATA / "oats.csv"), "--formula", "yield ~ nitro + Variety + (1 | Block)",
         "-o", str(out)]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    got = pd.read_csv(out)
    golden = pd.read_csv(DATA / "oats_lmer.csv")  # lmerTest, tests/ingest/data/export_r_labels.R
    np.testing.assert_allclose(got["estimate"], golden["estimate"], rtol=1e-8)
    np.testing.assert_allclose(got["std_error"], golden["std_error"], rtol=1e-6)
    np.testing.assert_allclose(got["df"], golden["df"], rtol=1e-5)


def test_score_accepts_a_table_with_ordinary_labels(tmp_path, capsys):
    items = {f"odi_{i}": [1, 2, 0] for i in range(1, 11)}
    table = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3"],
            "clinic_name": ["Vårdcentralen Ljungsbro", "Fysio Linköping City", "Rehab Norrköping"],
            "group": ["Waiting List", "Per protocol", "Golden Rain"],
            "diagnosis": ["Spinal stenosis", "Disc herniation", "Degenerative disc disease"],
            **items,
        }
    )
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    table.to_csv(source, index=False)
    assert main(["score", "odi", str(source), "-o", str(out)]) == 0, capsys.readouterr().err
    scored = pd.read_csv(out)
    assert scored["clinic_name"].tolist() == table["clinic_name"].tolist()
    assert scored["odi_total"].tolist() == [20.0, 40.0, 0.0]  # 10 items x score / 50 x 100


def test_score_refuses_names_of_people_without_echoing(tmp_path, capsys):
    table = pd.DataFrame({"patient_id": ["P1", "P2"], "info": PERSON_NAMES[:2]})
    table = table.assign(**{f"odi_{i}": 1 for i in range(1, 11)})
    table.to_csv(tmp_path / "in.csv", index=False)
    assert main(["score", "odi", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "in.csv:2:info: the column looks like it holds names of people" in err
    assert "Svensson" not in err and not (tmp_path / "o.csv").exists()
