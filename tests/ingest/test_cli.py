"""The `trialanalysis validate` command."""

from __future__ import annotations

from tests.ingest.helpers import INSTRUMENTS_DIR, valid_tables, write_csv
from trialanalysis.cli.main import main


def _config_file(tmp_path, data_dir):
    path = tmp_path / "config.yaml"
    path.write_text(f"data_dir: {data_dir}\ninstruments_dir: {INSTRUMENTS_DIR}\n")
    return str(path)


def test_validate_passes_and_prints_summary(tmp_path, capsys):
    data = tmp_path / "data"
    tables = valid_tables()
    write_csv(data, tables)
    rows = sum(len(frame) for frame in tables.values())
    status = main(["validate", str(data), "--config", _config_file(tmp_path, data)])
    out = capsys.readouterr().out
    assert status == 0
    assert "betterback/patients: 10 rows (long)" in out
    assert out.strip().endswith(f"OK: 9 files, {rows} rows read, no problems")


def test_validate_prints_every_problem_and_exits_2(tmp_path, capsys):
    data = tmp_path / "data"
    tables = valid_tables()
    tables[("prepare", "patients")].loc[0, "arm"] = "surgery"
    tables[("betterback", "clinics")].loc[0, "cluster_id"] = None
    write_csv(data, tables)
    status = main(["validate", "--config", _config_file(tmp_path, data)])
    err = capsys.readouterr().err
    assert status == 2
    assert "2 problem(s)" in err
    assert f"{data / 'prepare' / 'patients.csv'}:2:arm:" in err
    assert f"{data / 'betterback' / 'clinics.csv'}:2:cluster_id:" in err


def test_validate_one_trial(tmp_path, capsys):
    data = tmp_path / "data"
    tables = valid_tables()
    tables[("betterback", "clinics")].loc[0, "cluster_id"] = None
    write_csv(data, tables)
    status = main(["validate", "--trial", "prepare", "--config", _config_file(tmp_path, data)])
    assert status == 0
    assert "OK: 2 files" in capsys.readouterr().out


def test_missing_config_file(tmp_path, capsys):
    status = main(["validate", "--config", str(tmp_path / "nope.yaml")])
    assert status == 2
    assert "not found" in capsys.readouterr().err


def test_missing_data_folder(tmp_path, capsys):
    config = _config_file(tmp_path, tmp_path / "data")
    assert main(["validate", str(tmp_path / "nowhere"), "--config", config]) == 2
    assert "data folder" in capsys.readouterr().err


def _run_elsewhere(cwd, *args):
    """Run the command as an installed package would: from a folder without config/."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    return subprocess.run(
        [sys.executable, "-m", "trialanalysis", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(src)},
    )


def test_validate_works_from_any_folder_with_the_shipped_instruments(tmp_path):
    data = tmp_path / "data"
    write_csv(data, valid_tables())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = _run_elsewhere(elsewhere, "validate", str(data))
    assert run.returncode == 0, run.stderr
    assert "OK: 9 files" in run.stdout
    assert not (elsewhere / "config").exists()


def test_template_folder_and_workbook_follow_the_contract(tmp_path):
    import openpyxl
    import pandas as pd

    from trialanalysis.ingest import trial_contract

    run = _run_elsewhere(tmp_path, "template", "template/")
    assert run.returncode == 0, run.stderr
    run = _run_elsewhere(tmp_path, "template", "template.xlsx")
    assert run.returncode == 0, run.stderr
    patients = trial_contract(None, "betterback")["patients"]
    header = pd.read_csv(tmp_path / "template" / "betterback" / "patients.csv").columns
    assert list(header) == patients.column_names
    dictionary = pd.read_csv(tmp_path / "template" / "data_dictionary.csv")
    sex = dictionary[(dictionary["table"] == "patients") & (dictionary["column"] == "sex")]
    assert sex[["type", "allowed", "required"]].values.tolist() == [
        ["category", "female, male", "no"],
        ["category", "female, male", "no"],
    ]  # BetterBack and PREPARE
    odi = dictionary[dictionary["column"] == "odi_1"].iloc[0]
    assert (odi["type"], odi["allowed"]) == ("whole number", "0 to 5")
    workbook = openpyxl.load_workbook(tmp_path / "template.xlsx", read_only=True)
    assert "betterback_patient_outcomes" in workbook.sheetnames
    assert workbook.sheetnames[-1] == "data_dictionary"
    first_row = next(workbook["prepare_patients"].iter_rows(values_only=True))
    assert list(first_row) == trial_contract(None, "prepare")["patients"].column_names
    # the empty template is itself valid input
    run = _run_elsewhere(tmp_path, "validate", "template")
    assert run.returncode == 0, run.stderr


def test_template_refuses_a_file_name_that_is_not_a_workbook(tmp_path, capsys):
    assert main(["template", str(tmp_path / "t.csv")]) == 2
    assert "give a workbook name ending in .xlsx" in capsys.readouterr().err
