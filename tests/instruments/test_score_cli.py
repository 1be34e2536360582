"""``trialanalysis score`` on CSV and XLSX files."""

import pandas as pd
import pytest

from tests.instruments.helpers import CONFIG_DIR
from trialanalysis.cli.main import build_parser, main
from trialanalysis.cli.score import parse_options, read_table_file
from trialanalysis.errors import DataValidationError, ScoringError

EQ5D_CSV = (
    "patient_id,timepoint,eq5d_1,eq5d_2,eq5d_3,eq5d_4,eq5d_5,note\n"
    "0012,baseline,1,1,1,1,1,NA\n"
    "0013,3m,3,3,3,3,3,\n"
    "0014,3m,2,,1,1,1,x\n"
)


def run(*argv):
    return main(["score", *map(str, argv), "--instruments", str(CONFIG_DIR)])


def test_score_command_is_registered():
    help_text = build_parser().format_help()
    assert "score" in help_text


def test_scores_csv_and_keeps_other_columns_verbatim(tmp_path):
    source = tmp_path / "outcomes.csv"
    source.write_text(EQ5D_CSV)
    target = tmp_path / "out" / "scored.csv"
    assert run("eq5d", source, "-o", target) == 0
    text = target.read_text().splitlines()
    assert text[0] == "patient_id,timepoint,eq5d_1,eq5d_2,eq5d_3,eq5d_4,eq5d_5,note,eq5d_index"
    assert text[1].startswith("0012,baseline,1,1,1,1,1,NA,")  # leading zeros and "NA" kept
    scored = pd.read_csv(target, dtype={"patient_id": str})
    assert scored["eq5d_index"].tolist() == pytest.approx([1.0, -0.594, float("nan")], nan_ok=True)


def test_options_on_the_command_line(tmp_path):
    source = tmp_path / "outcomes.csv"
    source.write_text(EQ5D_CSV)
    target = tmp_path / "scored.csv"
    code = run(
        "eq5d",
        source,
        "-o",
        target,
        "--option",
        "value_set=se_experience_burstrom2014",
        "--option",
        "full_health=1",
    )
    assert code == 0
    index = pd.read_csv(target)["eq5d_index"].tolist()
    assert index[:2] == pytest.approx([1.0, 0.3402])


def test_semicolon_csv_and_xlsx(tmp_path):
    source = tmp_path / "outcomes.csv"
    source.write_text(
        "id;startback_1;startback_2;startback_3;startback_4;startback_5;"
        "startback_6;startback_7;startback_8;startback_9\n"
        "a;0;0;0;0;1;1;1;0;4\n"
    )
    target = tmp_path / "scored.xlsx"
    assert run("startback", source, "-o", target) == 0
    scored = pd.read_excel(target)
    assert scored.loc[0, "startback_risk"] == "high"
    again = tmp_path / "again.csv"
    assert run("startback", target, "-o", again) == 0
    assert pd.read_csv(again).loc[0, "startback_psychosocial"] == 4


def test_out_of_scale_value_reports_file_rows_and_exits_2(tmp_path, capsys):
    source = tmp_path / "outcomes.csv"
    source.write_text(EQ5D_CSV.replace("0013,3m,3,3", "0013,3m,3,4"))
    assert run("eq5d", source, "-o", tmp_path / "x.csv") == 2
    error = capsys.readouterr().err
    assert str(source) in error
    # the second data record is on row 3 of the file (header = row 1)
    assert "column 'eq5d_2': 1 value(s) outside the valid range 1-3" in error
    assert "row(s) 3" in error
    assert "Traceback" not in error
    assert not (tmp_path / "x.csv").exists()


def test_user_errors_exit_2_with_a_message(tmp_path, capsys):
    source = tmp_path / "outcomes.csv"
    source.write_text(EQ5D_CSV)
    assert run("eq5dd", source, "-o", tmp_path / "x.csv") == 2
    assert "no instrument 'eq5dd'" in capsys.readouterr().err
    assert run("eq5d", source, "-o", tmp_path / "x.csv", "--option", "value_set") == 2
    assert "must be KEY=VALUE" in capsys.readouterr().err
    assert run("eq5d", source, "-o", tmp_path / "x.csv", "--option", "value_set=nl") == 2
    assert "value_set must be one of" in capsys.readouterr().err
    assert run("eq5d", tmp_path / "missing.csv", "-o", tmp_path / "x.csv") == 2
    assert "missing.csv::: file not found" in capsys.readouterr().err
    assert run("odi", source, "-o", tmp_path / "x.csv") == 2
    assert "item column(s) not in the data: odi_1" in capsys.readouterr().err


def test_parse_options_and_read_table_errors(tmp_path):
    assert parse_options(["value_set = uk", "full_health=1"]) == {
        "value_set": "uk",
        "full_health": "1",
    }
    with pytest.raises(ScoringError, match="given twice"):
        parse_options(["a=1", "a=2"])
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(DataValidationError, match=r"unsupported file type '\.json'"):
        read_table_file(tmp_path / "data.json")
    (tmp_path / "data.sav").write_text("")
    with pytest.raises(DataValidationError, match=r"cannot read this \.sav file"):
        read_table_file(tmp_path / "data.sav")


def test_score_refuses_personal_identity_numbers_without_echoing_them(tmp_path, capsys):
    source = tmp_path / "items.csv"
    source.write_text(
        "pnr,pcs_1,pcs_2,pcs_3,pcs_4\n19121212-1212,1,2,3,4\n19850101-0005,2,2,2,2\n"
    )
    assert run("pcs", source, "-o", tmp_path / "out.csv") == 2
    message = capsys.readouterr().err
    assert "items.csv" in message and "pnr" in message
    assert "1212" not in message and "0005" not in message
    assert not (tmp_path / "out.csv").exists()


def test_score_reads_semicolon_csv_with_decimal_comma(tmp_path):
    source = tmp_path / "walk.csv"
    source.write_bytes("id;walk_1\nA;12,5\nB;9,0\n".encode("cp1252"))
    assert run("walk", source, "-o", tmp_path / "out.csv") == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["walk_10m_time"].tolist() == [12.5, 9.0]
