"""BetterBack baseline table: counts by hand, suppression of small cells."""

import pandas as pd
import pytest

from tests.analyses.betterback_helpers import read
from trialanalysis.analyses.betterback.data import CONDITIONS, patient_design
from trialanalysis.analyses.betterback.table1 import (
    clinic_table,
    patient_table,
    therapist_table,
)
from trialanalysis.analyses.common.baseline import Variable, baseline_table, display
from trialanalysis.errors import ConfigError
from trialanalysis.reporting.tables import format_table


@pytest.fixture(scope="module")
def design():
    return patient_design(read("patients"), read("clinics"))


@pytest.fixture(scope="module")
def baseline_scores():
    scores = read("patient_outcomes_scores")
    return scores[scores["timepoint"] == "baseline"]


def test_patient_counts_percentages_and_means_by_hand(design, baseline_scores):
    table = patient_table(
        design,
        baseline_scores,
        ["age", "sex"],
        ["odi_total", "startback_risk"],
        {},
        {"startback_risk": ["low", "medium", "high"]},
    )
    control = design[design["condition"] == "control"]
    rows = table.set_index(["characteristic", "category"])
    assert rows.loc[("Patients", ""), "control_n"] == len(control)
    assert rows.loc[("Patients", ""), "overall_n"] == len(design)
    female = (control["sex"] == "female").sum()
    assert rows.loc[("Sex", "female"), "control_n"] == female
    assert rows.loc[("Sex", "female"), "control_percent"] == pytest.approx(
        100 * female / len(control)
    )
    assert rows.loc[("Age (years)", ""), "control_mean"] == pytest.approx(control["age"].mean())
    assert rows.loc[("Age (years)", ""), "control_sd"] == pytest.approx(control["age"].std())
    assert rows.loc[("Age (years)", ""), "overall_mean"] == pytest.approx(design["age"].mean())
    # categories in the instrument's order, the missing answers in a row of their own
    risk = table[table["characteristic"] == "startback_risk"]
    assert list(risk["category"]) == ["low", "medium", "high", "missing"]
    merged = control.merge(baseline_scores, on="patient_id", how="left")
    assert risk["control_n"].iloc[-1] == merged["startback_risk"].isna().sum()
    assert risk["control_n"].iloc[:-1].sum() == merged["startback_risk"].notna().sum()
    assert not table.columns.str.contains("p_value").any()  # no baseline significance tests


def test_rendered_patient_table_has_one_column_per_condition_plus_overall(design, baseline_scores):
    table = patient_table(design, baseline_scores, ["age", "sex"], ["odi_total"], {}, {})
    shown = display(CONDITIONS)
    rendered = format_table(table, **shown)
    assert rendered.headers == ["Characteristic", "", "Control", "Intervention", "Overall"]
    cells = rendered.cells.set_index(table["variable"] + ":" + table["category"])
    control = design[design["condition"] == "control"]
    female = (control["sex"] == "female").sum()
    percent = 100 * female / len(control)
    assert cells.loc["sex:female", "control_shown"] == f"{female} ({percent:.1f}%)"
    age = control["age"]
    assert cells.loc["age:", "control_shown"] == f"{age.mean():.2f} ({age.std():.2f})"


def test_small_counts_and_values_derived_from_them_are_suppressed_when_rendered(design):
    therapists = read("therapists")
    scores = read("therapist_responses_scores")
    table = therapist_table(
        design, therapists, scores[scores["timepoint"] == "baseline"], ["sex"], ["pcs_total"], {}
    )
    assert table.loc[0, "characteristic"] == "Therapists treating patients"
    treating = design.loc[design["condition"] == "intervention", "therapist_id"].nunique()
    assert table.loc[0, "intervention_n"] == treating
    assert table.loc[0, "overall_n"] == design["therapist_id"].nunique()
    tiny = pd.concat(
        [table, table.iloc[[1]].assign(category="other", control_n=3, control_percent=2.9)]
    ).reset_index(drop=True)
    rendered = format_table(tiny, **display(CONDITIONS, additive=False)).cells
    last = rendered.iloc[-1]
    assert last["control_shown"] == "<5"
    # complementary suppression: the smallest other sex count is hidden too
    sex = rendered[tiny["variable"] == "sex"]
    assert (sex["control_shown"] == "<5").sum() == 1
    assert (sex["control_shown"] == "suppr.").sum() == 1


def test_overall_cannot_give_a_small_condition_count_away():
    groups = {
        "control": pd.DataFrame({"x": [1.0] * 20 + [None] * 3}),
        "intervention": pd.DataFrame({"x": [2.0] * 20 + [None] * 10}),
    }
    overall = pd.concat(groups.values(), ignore_index=True)
    table = baseline_table(groups, overall, [Variable("x", "X")], "Patients")
    cells = format_table(table, **display(list(groups))).cells
    missing = cells.iloc[-1]
    # control 3 is small; overall 13 - intervention 10 would recover it, so one more is hidden
    assert missing["control_shown"] == "<5"
    assert "suppr." in (missing["intervention_shown"], missing["overall_shown"])
    assert cells.iloc[1]["control_shown"] == "1.00 (0.00)"  # the mean of those observed stays


def test_clinic_table_counts_clinics_and_cluster_sizes(design):
    table = clinic_table(design).set_index("characteristic")
    per_clinic = design[design["condition"] == "control"].groupby("clinic_id").size()
    assert table.loc["Clinics enrolling patients", "control_n"] == design["clinic_id"].nunique()
    assert table.loc["Allocation clusters", "intervention_n"] == 3
    assert table.loc["Patients per clinic", "control_mean"] == pytest.approx(per_clinic.mean())


def test_unknown_characteristic_is_a_config_error(design, baseline_scores):
    with pytest.raises(ConfigError, match="shoe_size"):
        patient_table(design, baseline_scores, ["shoe_size"], [], {}, {})
