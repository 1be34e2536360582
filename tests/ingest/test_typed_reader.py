"""The step reader takes its column types from the data contract."""

import pandas as pd
import pytest

from trialanalysis.errors import ConfigError
from trialanalysis.ingest import contract
from trialanalysis.ingest.contract import contract_kinds
from trialanalysis.steps.io import read_table_csv, write_csv


def test_the_kinds_come_from_the_contract_tables():
    kinds = contract_kinds()
    settings = {t: {**contract.DEFAULT_SETTINGS[t], "instruments": {}} for t in contract.TRIALS}
    for trial in contract.TRIALS:
        for spec in contract.build_contract(settings, trial, {}).values():
            for column in spec.columns:
                assert kinds[column.name] == column.kind
    assert kinds["patient_id"] == "id" and kinds["arm"] == "category"
    assert kinds["surgery_date"] == "date" and kinds["sessions_attended"] == "integer"


def test_a_column_type_comes_from_the_contract(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "patient_id,arm,timepoint,randomisation_date,expectation,odi_total\n"
        "1,physiotherapy,12,2024-01-31,7,20.5\n"
        "2,,24,,,\n",
        "utf-8",
    )
    frame = read_table_csv(path)
    # the contract says text: numbers-looking ids and time points stay text
    assert frame["patient_id"].dtype == "string" and frame["patient_id"].tolist() == ["1", "2"]
    assert frame["timepoint"].dtype == "string" and frame["timepoint"].tolist() == ["12", "24"]
    assert frame["arm"].dtype == "string" and frame["arm"].isna().tolist() == [False, True]
    assert pd.api.types.is_datetime64_dtype(frame["randomisation_date"])
    assert frame["randomisation_date"].iloc[0] == pd.Timestamp("2024-01-31")
    assert pd.isna(frame["randomisation_date"].iloc[1])
    # a score column is not in the contract: pandas' inference
    assert frame["odi_total"].dtype == "float64"


def test_an_unknown_column_keeps_pandas_inference(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("study_code,count,when\n007,3,2024-01-01\n010,4,2024-02-01\n", "utf-8")
    frame = read_table_csv(path)
    assert frame["study_code"].tolist() == [7, 10]  # not in the contract: inferred as numbers
    assert frame["count"].dtype == "int64"
    # dates only where the contract has them
    assert not pd.api.types.is_datetime64_any_dtype(frame["when"])
    typed = read_table_csv(path, kinds={"study_code": "id"})
    assert typed["study_code"].tolist() == ["007", "010"]


def test_id_columns_with_leading_zeros_stay_strings(tmp_path):
    path = tmp_path / "patients.csv"
    written = pd.DataFrame(
        {"patient_id": ["007", "0100", "12"], "clinic_id": ["01", "01", "02"], "age": [40, 51, 62]}
    )
    write_csv(written, path)
    frame = read_table_csv(path)
    assert frame["patient_id"].tolist() == ["007", "0100", "12"]
    assert frame["clinic_id"].tolist() == ["01", "01", "02"]
    assert frame["age"].dtype == "int64"


def test_a_column_with_two_kinds_is_a_contract_error(monkeypatch):
    real = contract.build_contract

    def clashing(settings, trial, instruments):
        specs = real(settings, trial, instruments)
        if trial == "prepare":
            table = specs["patients"]
            columns = tuple(
                contract.ColumnSpec("sex", "integer", "recoded") if c.name == "sex" else c
                for c in table.columns
            )
            specs["patients"] = contract.replace(table, columns=columns)
        return specs

    monkeypatch.setattr(contract, "build_contract", clashing)
    with pytest.raises(ConfigError, match="column 'sex' is category in one table and integer"):
        contract_kinds()
