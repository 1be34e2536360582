"""Harms: the adverse-events contract, its simulation, validation and the table by arm."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialanalysis.analyses.common.harms import harms_counts, harms_table
from trialanalysis.errors import DataValidationError
from trialanalysis.ingest import validate_sources
from trialanalysis.reporting.suppression import default_rule, suppress_counts
from trialanalysis.simulation import load_simulation_config, simulate

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "example"


@pytest.fixture(scope="module")
def validated():
    tables, summary, _ = validate_sources({"data_dir": str(EXAMPLE)})
    return tables, summary


def test_hand_worked_counts_by_arm():
    patients = pd.DataFrame({"patient_id": list("abcdef"), "arm": ["c", "c", "c", "t", "t", "t"]})
    events = pd.DataFrame(
        {
            "patient_id": ["a", "a", "b", "d"],
            "serious": ["no", "yes", "no", "no"],
            "related": ["no", "no", "yes", "no"],
            "category": ["pain", "pain", "fall", "pain"],
        }
    )
    table = harms_table(events, patients, "arm", ["c", "t"]).table.set_index("row")
    assert table.loc["patients", ["c_n", "t_n"]].tolist() == [3, 3]
    assert table.loc["any", ["c_n", "t_n"]].tolist() == [2, 1]  # a and b; d
    assert table.loc["any", "c_percent"] == pytest.approx(200 / 3)
    assert table.loc["serious", ["c_n", "t_n"]].tolist() == [1, 0]
    assert table.loc["related", ["c_n", "t_n"]].tolist() == [1, 0]
    assert table.loc["events", ["c_n", "t_n"]].tolist() == [3, 1]
    assert table.loc["category:pain", ["c_n", "t_n"]].tolist() == [2, 1]
    assert table.loc["category:fall", "label"] == "Fall"


def test_example_data_have_harms_for_both_trials_and_no_descriptions(validated):
    tables, summary = validated
    for trial, group in (("betterback", "condition"), ("prepare", "arm")):
        events = tables[trial]["adverse_events"]
        assert len(events) > 10 and "description" not in events.columns
        row = summary[(summary.trial == trial) & (summary.table == "adverse_events")]
        assert row["dropped"].iloc[0] == "description (free text)"
        groups = sorted(tables[trial]["patients"][group].astype(str).unique())
        table = harms_table(events, tables[trial]["patients"], group, groups).table
        assert table.loc[table.row == "events", [f"{g}_n" for g in groups]].sum(axis=1).iloc[
            0
        ] == len(events)
        shown = suppress_counts(table, harms_counts(groups), default_rule()).table
        for g in groups:
            for count, cell, pct in zip(
                table[f"{g}_n"], shown[f"{g}_n"], shown[f"{g}_percent"], strict=True
            ):
                if 0 < count < 5:
                    assert cell == "<5" and pct == ""


def test_old_data_without_the_table_still_validate(tmp_path):
    data = shutil.copytree(EXAMPLE, tmp_path / "data")
    (data / "prepare" / "adverse_events.csv").unlink()
    tables, summary, _ = validate_sources({"data_dir": str(data)})
    assert tables["prepare"]["adverse_events"].empty
    assert list(tables["prepare"]["adverse_events"].columns)[:3] == [
        "event_id",
        "patient_id",
        "event_date",
    ]
    row = summary[(summary.trial == "prepare") & (summary.table == "adverse_events")]
    assert row["dropped"].iloc[0] == "absent (optional table)"


def test_bad_events_are_reported_with_their_location(tmp_path):
    data = shutil.copytree(EXAMPLE, tmp_path / "data")
    path = data / "betterback" / "adverse_events.csv"
    events = pd.read_csv(path, dtype=str)
    events.loc[0, "serious"] = "maybe"
    events.loc[1, "patient_id"] = "P9999"
    events.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as error:
        validate_sources({"data_dir": str(data)})
    text = str(error.value)
    assert "adverse_events.csv:2:serious" in text and "maybe" in text
    assert "adverse_events.csv:3:patient_id" in text and "P9999" in text


def test_harms_are_drawn_from_their_own_streams():
    spec = load_simulation_config(REPO / "config" / "simulation.yaml")
    with_harms = simulate(spec, REPO / "config" / "instruments")
    without = {
        trial: {k: v for k, v in spec[trial].items() if k != "adverse_events"}
        for trial in ("betterback", "prepare")
    }
    plain = simulate({**spec, **without}, REPO / "config" / "instruments")
    for trial in ("betterback", "prepare"):
        assert "adverse_events" not in plain[trial]
        for name, frame in plain[trial].items():
            pd.testing.assert_frame_equal(frame, with_harms[trial][name])
    again = simulate(spec, REPO / "config" / "instruments")
    pd.testing.assert_frame_equal(
        again["prepare"]["adverse_events"], with_harms["prepare"]["adverse_events"]
    )


def test_harms_step_without_the_table_writes_every_output(tmp_path):
    # Exports made before the table existed must still run the whole workflow.
    from trialanalysis.config import validate_config
    from trialanalysis.steps.io import write_csv
    from trialanalysis.steps.shared import harms_step

    data = shutil.copytree(EXAMPLE, tmp_path / "data")
    (data / "prepare" / "adverse_events.csv").unlink()
    tables, summary, _ = validate_sources({"data_dir": str(data)})
    inputs = {"events": tmp_path / "ae.csv", "patients": tmp_path / "patients.csv",
              "summary": tmp_path / "summary.csv"}  # fmt: skip
    write_csv(tables["prepare"]["adverse_events"], inputs["events"])
    write_csv(tables["prepare"]["patients"], inputs["patients"])
    write_csv(summary, inputs["summary"])
    outputs = {
        "table": tmp_path / "out" / "harms.csv",
        "tables": tmp_path / "out" / "tables",
        "fragment": tmp_path / "out" / "harms.yaml",
    }
    harms_step(validate_config({}), "prepare", {k: str(v) for k, v in inputs.items()},
               {k: str(v) for k, v in outputs.items()})  # fmt: skip
    assert outputs["tables"].is_dir() and outputs["table"].is_file()
    assert outputs["fragment"].is_file()
