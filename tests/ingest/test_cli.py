"""The `trialanalysis validate` command."""

from __future__ import annotations

from tests.ingest.helpers import INSTRUMENTS_DIR, valid_tables, write_csv
from trialanalysis.cli import main


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
