"""Table 1 by arm and overall: counts and means by hand; small cells suppressed when rendered."""

import pandas as pd
import pytest

from tests.analyses.helpers import as_data
from trialanalysis.analyses.common.baseline import display
from trialanalysis.analyses.prepare.table1 import table1
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


def render(table, arms=("control", "treated")):
    shown = display(list(arms))
    rendered = format_table(
        table,
        suppression=shown["suppression"],
        columns=shown["columns"],
        combine=shown["combine"],
        labels=shown["labels"],
    )
    return rendered, rendered.cells.set_index(table["variable"] + ":" + table["category"])


def test_counts_percentages_and_means(data):
    table = table1(data, ["age", "diagnosis"], ["odi_total"], {"odi_total": "ODI"})
    rows = table.set_index(["variable", "category"])
    assert rows.loc[("n", ""), "control_n"] == 10 and rows.loc[("n", ""), "overall_n"] == 20
    assert rows.loc[("age", ""), "control_mean"] == pytest.approx(44.5)
    assert rows.loc[("age", ""), "treated_sd"] == pytest.approx(pd.Series(range(60, 70)).std())
    assert rows.loc[("age", ""), "overall_mean"] == pytest.approx(54.5)
    assert rows.loc[("diagnosis", "herniation"), "control_n"] == 3
    assert rows.loc[("diagnosis", "herniation"), "treated_percent"] == pytest.approx(100 * 5 / 9)
    assert rows.loc[("diagnosis", "herniation"), "overall_n"] == 8
    assert rows.loc[("diagnosis", "missing"), "treated_n"] == 1
    assert rows.loc[("age", "missing"), "treated_n"] == 0  # a missing row for every variable
    assert rows.loc[("odi_total", ""), "treated_observed"] == 9
    assert rows.loc[("odi_total", "missing"), "treated_n"] == 1
    assert rows.loc[("odi_total", ""), "characteristic"] == "ODI, at baseline"
    assert not any("p_value" in c for c in table.columns)  # no significance tests


def test_rendered_cells_read_n_percent_and_mean_sd_one_column_per_arm(data):
    table = table1(data, ["age"], [], medians=[])
    rendered, cells = render(table)
    assert rendered.headers == ["Characteristic", "", "Control", "Treated", "Overall"]
    assert cells.loc["n:", "control_shown"] == "10"
    assert cells.loc["age:", "control_shown"] == "44.50 (3.03)"
    assert cells.loc["age:", "row_label"] == "Age, mean (SD)"
    assert cells.loc["age:missing", "control_shown"] == "0"
    medians = table1(data, ["age"], [], medians=["age"])
    _, cells = render(medians)
    # numpy's default (R type 7) quantiles of 40..49: 42.25, 44.5, 46.75
    assert cells.loc["age:", "control_shown"] == "44.50 (42.25 to 46.75)"
    assert cells.loc["age:", "row_label"] == "Age, median (IQR)"


def test_small_counts_are_suppressed_with_a_complement(data):
    table = table1(data, ["diagnosis"], [])
    rendered, cells = render(table)
    # control herniation 3 < 5 is suppressed, and stenosis (7) with it so 10 - 7 cannot recover 3
    # (shown with the complement marker: it is not itself a small count)
    assert cells.loc["diagnosis:herniation", "control_shown"] == "<5"
    assert cells.loc["diagnosis:stenosis", "control_shown"] == "suppr."
    # treated: stenosis 4 and missing 1 are both small; herniation 5 (55.6%) stays
    assert cells.loc["diagnosis:missing", "treated_shown"] == "<5"
    assert cells.loc["diagnosis:stenosis", "treated_shown"] == "<5"
    assert cells.loc["diagnosis:herniation", "treated_shown"] == "5 (55.6%)"
    # Overall = control + treated: overall missing 1 would give treated missing away
    assert cells.loc["diagnosis:missing", "overall_shown"] == "<5"
    assert rendered.counts.loc[1, "control_shown"]  # count cells are marked for the checker
    assert any("suppressed" in note for note in rendered.notes)


def test_post_randomisation_variables_are_refused():
    from trialanalysis.analyses.common.baseline import check_baseline

    problems = check_baseline(["age", "sessions_attended"], "prepare.analyses.table1.variables")
    assert problems and "sessions_attended" in problems[0] and "after randomisation" in problems[0]
    assert check_baseline(["age"], "x") == []
