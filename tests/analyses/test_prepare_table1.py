"""Table 1 by arm: counts and means by hand; small cells suppressed when rendered."""

import pandas as pd
import pytest

from tests.analyses.helpers import as_data
from trialanalysis.analyses.prepare.table1 import table1, table1_suppression
from trialanalysis.reporting.tables import format_table


@pytest.fixture
def data():
    patients = pd.DataFrame(
        {
            "patient_id": [f"P{i:02d}" for i in range(20)],
            "arm": ["control"] * 10 + ["treated"] * 10,
            "age": list(range(40, 50)) + list(range(60, 70)),
            "diagnosis": ["stenosis"] * 7 + ["herniation"] * 3 + ["stenosis"] * 4
            + ["herniation"] * 5 + [None],
        }
    )  # fmt: skip
    outcomes = pd.DataFrame(
        {"patient_id": patients["patient_id"], "timepoint": "baseline",
         "odi_total": [30.0] * 19 + [None]}
    )  # fmt: skip
    return as_data(patients, outcomes, ("baseline", "post"))


def test_counts_percentages_and_means(data):
    table = table1(data, ["age", "diagnosis"], ["odi_total"], {"odi_total": "ODI"})
    rows = table.set_index(["variable", "level"])
    assert rows.loc[("patients", ""), "control_n"] == 10
    assert rows.loc[("age", ""), "control_mean"] == pytest.approx(44.5)
    assert rows.loc[("age", ""), "treated_sd"] == pytest.approx(pd.Series(range(60, 70)).std())
    assert rows.loc[("diagnosis", "herniation"), "control_n"] == 3
    assert rows.loc[("diagnosis", "herniation"), "treated_percent"] == pytest.approx(100 * 5 / 9)
    assert rows.loc[("diagnosis", "(missing)"), "treated_n"] == 1
    assert rows.loc[("odi_total", ""), "treated_n"] == 9
    assert rows.loc[("odi_total", ""), "label"] == "ODI, at baseline"
    assert not any("p_value" in c for c in table.columns)  # no significance tests


def test_small_counts_are_suppressed_with_a_complement(data):
    table = table1(data, ["diagnosis"], [])
    rendered = format_table(table, suppression=table1_suppression(["control", "treated"], 5))
    cells = rendered.cells.set_index(table["level"])
    # control herniation 3 < 5 is suppressed, and stenosis (7) with it so 10 - 7 cannot recover 3
    assert cells.loc["herniation", "control_n"] == "<5"
    assert cells.loc["stenosis", "control_n"] == "<5"
    assert cells.loc["herniation", "control_percent"] == ""
    # treated: stenosis 4 and missing 1 are both small; herniation 5 stays
    assert cells.loc["(missing)", "treated_n"] == "<5"
    assert cells.loc["stenosis", "treated_n"] == "<5"
    assert cells.loc["herniation", "treated_n"] == "5"
    assert any("suppressed" in note for note in rendered.notes)
