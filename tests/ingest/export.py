"""A realistic export of contract-shaped data: Swedish headers and codes, XLSX, SAV and CSV.

``swedish_export(source, out)`` rewrites the CSV files of a data folder in the
contract layout (e.g. ``data/example``) the way registries, SPSS and Excel
hand them over, and returns the config mapping them back onto the contract:

- ``betterback/Patienter.xlsx`` (sheet ``Data``): Swedish headers, a title
  line, Excel date cells, ages stored as text in every other row, Swedish
  codes, an extra ``clinic_name`` column with clinic names, a free-text
  ``Kommentar`` column and formatted blank rows and columns after the data;
- ``betterback/patient_outcomes.xlsx`` where the config still names
  ``patient_outcomes.csv`` (found by its stem), Swedish time points;
- ``betterback/terapeuter.csv``: semicolon-separated Windows-1252 with a
  decimal comma and dates written ``dd/mm/yyyy``;
- ``prepare/patienter.sav``: SPSS with value labels (recoded by label and by
  code), SPSS dates and a user-missing code;
- ``prepare/utfall.csv``: the wide layout with Swedish stems.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from trialanalysis.ingest.contract import default_contract
from trialanalysis.ingest.settings import TRIALS

CLINIC_NAMES = [
    "Vårdcentralen Ljungsbro",
    "Fysio Linköping City",
    "Rehab Norrköping",
    "Vårdcentralen Åtvidaberg",
    "Sjukgymnastiken Motala",
    "Fysioterapi Mjölby",
    "Hälsocentralen Vadstena",
]
SEX = {"female": "Kvinna", "male": "Man"}
CONDITION = {"control": "Kontroll", "intervention": "Intervention"}
DURATION = {"lt3m": "< 3 mån", "3to12m": "3-12 mån", "gt12m": "> 12 mån"}
BB_TIMEPOINTS = {"baseline": "Baslinje", "3m": "3 mån", "6m": "6 mån", "12m": "12 mån"}
ARM_LABELS = {1: "Väntelista", 2: "Fysioterapi"}
ARMS = {"waiting_list": 1, "physiotherapy": 2}
DIAGNOSIS_LABELS = {
    1: "Diskbråck",
    2: "Spinal stenos",
    3: "Spondylolistes",
    4: "Degenerativ disksjukdom",
}
DIAGNOSES = {
    "disc_herniation": 1,
    "spinal_stenosis": 2,
    "spondylolisthesis": 3,
    "degenerative_disc_disease": 4,
}
USER_MISSING = 99  # an SPSS user-missing code, not among input.missing_codes


def _read(source: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(source / name, dtype=str, keep_default_na=False)


def _inverse(mapping: dict) -> dict:
    return {v: k for k, v in mapping.items()}


def _excel_date(text: str):
    return dt.datetime.fromisoformat(text) if text else None


def _write_sheet(path: Path, sheet_name: str, frame: pd.DataFrame, title: str | None) -> None:
    import openpyxl
    from openpyxl.styles import PatternFill

    workbook = openpyxl.Workbook()
    workbook.active.title = "Info"
    workbook.active.append(["Exported from the registry; see the Data sheet"])
    sheet = workbook.create_sheet(sheet_name)
    if title:
        sheet.append([title])
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if v == "" else v for v in row])
    fill = PatternFill("solid", fgColor="FFFF00")
    last_row, last_column = sheet.max_row, sheet.max_column
    for row in range(last_row + 1, last_row + 4):  # formatted but blank rows and columns
        for column in range(1, last_column + 3):
            sheet.cell(row=row, column=column).fill = fill
    for row in range(1, last_row + 1):
        sheet.cell(row=row, column=last_column + 1).fill = fill
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def _patients(source: Path, out: Path) -> dict:
    patients = _read(source, "betterback/patients.csv")
    clinics = sorted(patients["clinic_id"].unique())
    names = {c: CLINIC_NAMES[i % len(CLINIC_NAMES)] + f" {i + 1}" for i, c in enumerate(clinics)}
    ages = [a if i % 2 else (int(a) if a else None) for i, a in enumerate(patients["age"])]
    export = pd.DataFrame(
        {
            "Patient-ID": patients["patient_id"],
            "Klinik": patients["clinic_id"],
            "clinic_name": patients["clinic_id"].map(names),
            "Terapeut": patients["therapist_id"],
            "Period": patients["period"].astype(int),
            "Villkor": patients["condition"].map(CONDITION),
            "Inskrivningsdatum": patients["enrolment_date"].map(_excel_date),
            "Kön": patients["sex"].map(SEX).fillna(""),
            "Ålder": ages,  # numbers, and numbers stored as text
            "Smärtduration": patients["pain_duration"].map(DURATION).fillna(""),
            "Kommentar": ["Återbesök bokat" if i % 3 == 0 else "" for i in range(len(patients))],
        }
    )
    _write_sheet(out / "betterback" / "Patienter.xlsx", "Data", export, "Patienter, BättreRygg")
    return {
        "path": "betterback/Patienter.xlsx",
        "sheet": "Data",
        "rename": {
            "Patient-ID": "patient_id",
            "Klinik": "clinic_id",
            "Terapeut": "therapist_id",
            "Period": "period",
            "Villkor": "condition",
            "Inskrivningsdatum": "enrolment_date",
            "Kön": "sex",
            "Ålder": "age",
            "Smärtduration": "pain_duration",
        },
        "recode": {
            "sex": _inverse(SEX),
            "condition": _inverse(CONDITION),
            "pain_duration": _inverse(DURATION),
        },
    }


def _patient_outcomes(source: Path, out: Path) -> dict:
    outcomes = _read(source, "betterback/patient_outcomes.csv")
    export = outcomes.rename(
        columns={"patient_id": "Patient-ID", "timepoint": "Tidpunkt", "response_date": "Datum"}
    )
    export["Tidpunkt"] = export["Tidpunkt"].map(BB_TIMEPOINTS)
    export["Datum"] = export["Datum"].map(_excel_date)
    for column in export.columns[3:]:
        export[column] = pd.to_numeric(export[column])
    export = export.astype(object).where(export.notna(), None)
    _write_sheet(out / "betterback" / "patient_outcomes.xlsx", "patient_outcomes", export, None)
    return {
        "path": "betterback/patient_outcomes.csv",  # absent: found by its stem
        "rename": {"Patient-ID": "patient_id", "Tidpunkt": "timepoint", "Datum": "response_date"},
        "recode": {"timepoint": _inverse(BB_TIMEPOINTS)},
    }


def _therapists(source: Path, out: Path) -> dict:
    therapists = _read(source, "betterback/therapists.csv")
    dates = pd.to_datetime(therapists["training_date"], format="%Y-%m-%d")
    export = pd.DataFrame(
        {
            "Terapeut-ID": therapists["therapist_id"],
            "Klinik": therapists["clinic_id"],
            "Kön": therapists["sex"].map(SEX).fillna(""),
            "Ålder": therapists["age"],
            "Erfarenhet (år)": therapists["years_experience"].str.replace(".", ",", regex=False),
            "Utbildningsdatum": dates.dt.strftime("%d/%m/%Y").fillna(""),
        }
    )
    path = out / "betterback" / "terapeuter.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    export.to_csv(path, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    return {
        "path": "betterback/terapeuter.csv",
        "rename": {
            "Terapeut-ID": "therapist_id",
            "Klinik": "clinic_id",
            "Kön": "sex",
            "Ålder": "age",
            "Erfarenhet (år)": "years_experience",
            "Utbildningsdatum": "training_date",
        },
        "recode": {"sex": _inverse(SEX)},
        "date_format": "%d/%m/%Y",
    }


def _prepare_patients(source: Path, out: Path) -> dict:
    import pyreadstat

    patients = _read(source, "prepare/patients.csv")

    def number(column, blank=None):
        return pd.to_numeric(patients[column].replace("", blank))

    def date(column):
        return pd.to_datetime(patients[column].replace("", None), format="%Y-%m-%d")

    export = pd.DataFrame(
        {
            "PatID": patients["patient_id"],
            "Arm": patients["arm"].map(ARMS).astype(float),
            "Diagnos": patients["diagnosis"].map(DIAGNOSES).astype(float),
            "Kon": patients["sex"].map({"female": 1, "male": 2}).astype(float),
            "Alder": number("age"),
            "Randdatum": date("randomisation_date"),
            "Opdatum": date("surgery_date"),
            "Besok": number("sessions_attended", str(USER_MISSING)),
            "Forvantan": number("expectation", str(USER_MISSING)),
        }
    )
    path = out / "prepare" / "patienter.sav"
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(
        export,
        str(path),
        variable_value_labels={
            "Arm": ARM_LABELS,
            "Diagnos": DIAGNOSIS_LABELS,
            "Kon": {1: "Kvinna", 2: "Man"},
        },
        missing_ranges={"Besok": [USER_MISSING], "Forvantan": [USER_MISSING]},
    )
    return {
        "path": "prepare/patienter.sav",
        "rename": {
            "PatID": "patient_id",
            "Arm": "arm",
            "Diagnos": "diagnosis",
            "Kon": "sex",
            "Alder": "age",
            "Randdatum": "randomisation_date",
            "Opdatum": "surgery_date",
            "Besok": "sessions_attended",
            "Forvantan": "expectation",
        },
        "recode": {
            "arm": {ARM_LABELS[code]: arm for arm, code in ARMS.items()},  # by label
            "diagnosis": {
                DIAGNOSIS_LABELS[code]: name for name, code in DIAGNOSES.items()
            },  # by label
            "sex": {1: "female", 2: "male"},  # by SPSS code
        },
    }


def _prepare_outcomes(source: Path, out: Path) -> dict:
    outcomes = _read(source, "prepare/outcomes.csv")
    values = [c for c in outcomes.columns if c not in ("patient_id", "timepoint")]
    wide = outcomes.pivot(index="patient_id", columns="timepoint", values=values)
    timepoints = list(dict.fromkeys(outcomes["timepoint"]))
    stems = {"response_date": "Datum"}
    columns = [(c, tp) for c in values for tp in timepoints if (c, tp) in wide.columns]
    export = wide[columns].fillna("")
    export.columns = [f"{stems.get(c, c)}_{tp}" for c, tp in columns]
    export = export.reset_index().rename(columns={"patient_id": "PatID"})
    path = out / "prepare" / "utfall.csv"
    export.to_csv(path, index=False, lineterminator="\n")
    return {
        "path": "prepare/utfall.csv",
        "rename": {"PatID": "patient_id", "Datum": "response_date"},  # Datum_<tp> by stem
    }


def swedish_export(source: str | Path, out: str | Path) -> dict:
    """Write the export of the contract-shaped CSV files in ``source`` to ``out``.

    Returns
    -------
    dict
        The config (``data_dir`` and the ``files`` mappings) that maps the
        export back onto the contract.
    """
    source, out = Path(source), Path(out)
    betterback = {
        "patients": _patients(source, out),
        "patient_outcomes": _patient_outcomes(source, out),
        "therapists": _therapists(source, out),
    }
    for table in ("clinics", "schedule", "therapist_responses", "care"):
        (out / "betterback").mkdir(parents=True, exist_ok=True)
        data = (source / "betterback" / f"{table}.csv").read_bytes()
        (out / "betterback" / f"{table}.csv").write_bytes(data)
    prepare = {
        "patients": _prepare_patients(source, out),
        "outcomes": _prepare_outcomes(source, out),
    }
    # The contract's optional tables (harms, screening, ...), where the source has them,
    # as the contract writes them.
    for trial in TRIALS:
        for spec in default_contract(trial).values():
            found = source / trial / f"{spec.name}.csv"
            if spec.optional and found.is_file():
                (out / trial / found.name).write_bytes(found.read_bytes())
    return {
        "data_dir": str(out),
        "betterback": {"files": betterback},
        "prepare": {"files": prepare},
    }
