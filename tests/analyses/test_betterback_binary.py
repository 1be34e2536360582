"""BetterBack binary outcomes: responders and GEE effects."""

import numpy as np
import pandas as pd
import pytest

from tests.analyses.betterback_helpers import read
from trialanalysis.analyses.betterback.binary import binary_outcomes, fit_binary, responder_columns
from trialanalysis.analyses.betterback.data import patient_design, responder_status
from trialanalysis.errors import ConfigError
from trialanalysis.models.gee import fit_gee

SETTINGS = {
    "outcomes": ["referral_specialist", "cpqi_education"],
    "responders": [
        {
            "score": "odi_total",
            "timepoint": "3m",
            "improvement_percent": 30,
            "direction": "decrease",
        }
    ],
    "covariates": [],
    "correlation": "exchangeable",
}


@pytest.fixture(scope="module")
def data():
    design = patient_design(read("patients"), read("clinics"))
    frame = design.merge(read("care"), on="patient_id").merge(read("care_scores"), on="patient_id")
    return frame


def test_responder_status_by_hand():
    baseline = pd.Series([40.0, 40.0, 40.0, 0.0, np.nan, 10.0])
    followup = pd.Series([28.0, 29.0, 50.0, 0.0, 10.0, np.nan])
    status = responder_status(baseline, followup, 30, "decrease")
    assert status.tolist()[:3] == [1.0, 0.0, 0.0]  # 30% improvement is a response, 27.5% is not
    assert status[3:].isna().all()  # baseline 0 or a missing value: undefined
    up = responder_status(pd.Series([5.0]), pd.Series([6.5]), 30, "increase")
    assert up.tolist() == [1.0]


def test_responder_column_counts_patients_with_both_values(data):
    scores = read("patient_outcomes_scores")
    frame, labels = responder_columns(data, scores, SETTINGS["responders"], "baseline", {})
    column = "odi_total_responder_3m"
    assert column in labels and "decrease of at least 30%" in labels[column]
    wide = scores.pivot(index="patient_id", columns="timepoint", values="odi_total")
    both = wide[["baseline", "3m"]].dropna()
    both = both[both["baseline"] > 0]
    expected = ((both["baseline"] - both["3m"]) / both["baseline"] >= 0.3).sum()
    assert frame[column].notna().sum() == len(both)
    assert frame[column].sum() == expected


def test_effects_are_those_of_fit_gee_with_period_and_treatment(data):
    fit = fit_binary(data, "referral_specialist", "Referral", "care process", [], "exchangeable")
    row, diagnostics = fit.row, fit.diagnostics
    direct = fit_gee(data, "referral_specialist ~ C(period) + treatment", "clinic_id")
    log_or = direct.coefficients.set_index("term").loc["treatment"]
    assert row["odds_ratio"] == pytest.approx(np.exp(log_or["estimate"]))
    assert row["or_conf_low"] == pytest.approx(np.exp(log_or["conf_low"]))
    assert row["df"] == 17 - 5  # K - p: 17 clinics, intercept + 3 periods + treatment
    treated = data[data["treatment"] == 1]
    assert row["n_intervention"] == len(treated)
    assert row["events_intervention"] == int(treated["referral_specialist"].sum())
    difference = direct.risk_difference("treatment").iloc[0]
    assert row["risk_difference"] == pytest.approx(difference["estimate"])
    assert diagnostics["model"] == "GEE (logit)" and diagnostics["converged"]


def test_complementary_indicators_have_reciprocal_odds_ratios(data):
    frame = data.assign(no_referral=1 - data["referral_specialist"])
    a = fit_binary(frame, "referral_specialist", "", "", [], "exchangeable").row
    b = fit_binary(frame, "no_referral", "", "", [], "exchangeable").row
    assert a["odds_ratio"] * b["odds_ratio"] == pytest.approx(1.0, rel=1e-5)
    assert a["risk_difference"] == pytest.approx(-b["risk_difference"], abs=1e-6)


def test_binary_outcomes_table_and_unknown_columns(data):
    scores = read("patient_outcomes_scores")
    frame, labels = responder_columns(data, scores, SETTINGS["responders"], "baseline", {})
    result = binary_outcomes(frame, SETTINGS, labels, {})
    effects, coefficients, diagnostics = result.effects, result.coefficients, result.diagnostics
    assert list(effects["outcome"]) == [
        "referral_specialist",
        "cpqi_education",
        "odi_total_responder_3m",
    ]
    assert list(effects["kind"]) == ["care process", "care process", "responder"]
    assert len(diagnostics) == 3 and set(coefficients["outcome"]) == set(effects["outcome"])
    with pytest.raises(ConfigError, match="referal_specialist"):
        binary_outcomes(frame, {**SETTINGS, "outcomes": ["referal_specialist"]}, labels, {})


def test_an_outcome_without_events_in_a_condition_is_reported_not_estimated(data):
    frame = data.assign(
        rare=((data["treatment"] == 0) & data["patient_id"].isin(["P0001", "P0002"])).astype(int)
    )
    fit = fit_binary(frame, "rare", "", "", [], "exchangeable")
    row, coefficients, diagnostics = fit.row, fit.coefficients, fit.diagnostics
    assert coefficients is None
    assert row["events_control"] == 2 and row["events_intervention"] == 0
    assert row["note"] == "odds ratio not estimable: no events among intervention patients"
    assert "odds_ratio" not in row
    assert diagnostics["warnings"].startswith("not fitted: odds ratio not estimable")


def test_responders_with_baseline_zero_are_counted_not_dropped_silently(data):
    scores = read("patient_outcomes_scores")
    frame, labels = responder_columns(data, scores, SETTINGS["responders"], "baseline", {})
    wide = scores.pivot(index="patient_id", columns="timepoint", values="odi_total")
    expected = int(((wide["baseline"] == 0) & wide["3m"].notna()).sum())
    assert expected > 0  # the example has patients at the floor at baseline
    effects = binary_outcomes(frame, {**SETTINGS, "outcomes": []}, labels, {}).effects
    row = effects.iloc[0]
    assert row["n_unclassified"] == expected
    # the note says why; the number is only in the count column, which suppression sees
    assert row["note"].startswith("patients with a baseline value of 0 cannot be classified")
    assert str(expected) not in row["note"]
    classified = frame["odi_total_responder_3m"].notna().sum()
    assert row["n_control"] + row["n_intervention"] == classified


def test_a_complementary_outcome_is_reported_once(data):
    from trialanalysis.analyses.betterback.binary import complements

    frame = data.assign(not_referred=1 - data["referral_specialist"])
    assert complements(frame, ["referral_specialist", "cpqi_education", "not_referred"]) == {
        "not_referred": "referral_specialist"
    }
    settings = {**SETTINGS, "outcomes": ["referral_specialist", "not_referred"], "responders": []}
    results = binary_outcomes(frame, settings, {}, {"not_referred": "Not referred"})
    assert results.effects["outcome"].tolist() == ["referral_specialist"]
    assert "Not referred is its complement" in results.effects["note"].iloc[0]
    # a column that differs from the complement in one patient is its own outcome
    frame.loc[frame.index[0], "not_referred"] = frame.loc[frame.index[0], "referral_specialist"]
    assert complements(frame, ["referral_specialist", "not_referred"]) == {}
