"""BetterBack baseline table: counts by hand, suppression of small cells."""

import pandas as pd
import pytest

from tests.analyses.betterback_helpers import example_config, read
from trialanalysis.analyses.betterback.data import patient_design
from trialanalysis.analyses.betterback.table1 import (
    clinic_table,
    dependents,
    patient_table,
    therapist_table,
)
from trialanalysis.analyses.common.tables import count_suppression
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
    female = (control["sex"] == "female").sum()
    assert rows.loc[("Sex", "female"), "control_n"] == female
    assert rows.loc[("Sex", "female"), "control_percent"] == pytest.approx(
        100 * female / len(control)
    )
    assert rows.loc[("Age (years)", ""), "control_mean"] == pytest.approx(control["age"].mean())
    assert rows.loc[("Age (years)", ""), "control_sd"] == pytest.approx(control["age"].std())
    # categories in the instrument's order, missing answers counted beside them
    risk = table[table["characteristic"] == "startback_risk"]
    assert list(risk["category"]) == ["low", "medium", "high"]
    merged = control.merge(baseline_scores, on="patient_id", how="left")
    assert risk["control_missing"].iloc[0] == merged["startback_risk"].isna().sum()
    assert risk["control_n"].sum() == merged["startback_risk"].notna().sum()
    assert not table.columns.str.contains("p_value").any()  # no baseline significance tests


def test_small_counts_and_values_derived_from_them_are_suppressed_when_rendered(design):
    therapists = read("therapists")
    scores = read("therapist_responses_scores")
    table = therapist_table(
        design, therapists, scores[scores["timepoint"] == "baseline"], ["sex"], ["pcs_total"], {}
    )
    tiny = pd.concat(
        [table, table.iloc[[1]].assign(category="other", control_n=3, control_percent=2.9)]
    )
    config = example_config()
    suppression = count_suppression(
        config, list(dependents()), dependents(), ["level", "characteristic"]
    )
    rendered = format_table(tiny.reset_index(drop=True), suppression=suppression).cells
    last = rendered.iloc[-1]
    assert last["control_n"] == "<5" and last["control_percent"] == ""
    # complementary suppression: the smallest other sex count is hidden too
    sex = rendered[tiny.reset_index(drop=True)["characteristic"] == "Sex"]
    assert (sex["control_n"] == "<5").sum() == 2
    assert table.loc[0, "characteristic"] == "Therapists treating patients"
    treating = design.loc[design["condition"] == "intervention", "therapist_id"].nunique()
    assert table.loc[0, "intervention_n"] == treating


def test_clinic_table_counts_clinics_and_cluster_sizes(design):
    table = clinic_table(design).set_index("characteristic")
    per_clinic = design[design["condition"] == "control"].groupby("clinic_id").size()
    assert table.loc["Clinics enrolling patients", "control_n"] == design["clinic_id"].nunique()
    assert table.loc["Allocation clusters", "intervention_n"] == 3
    assert table.loc["Patients per clinic", "control_mean"] == pytest.approx(per_clinic.mean())


def test_unknown_characteristic_is_a_config_error(design, baseline_scores):
    with pytest.raises(ConfigError, match="shoe_size"):
        patient_table(design, baseline_scores, ["shoe_size"], [], {}, {})
