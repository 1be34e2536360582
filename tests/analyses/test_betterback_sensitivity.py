"""BetterBack sensitivity analyses: cluster level, randomization, missing data, boundary."""

import copy

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tests.analyses.betterback_helpers import example_config, read
from trialanalysis.analyses.betterback.data import patient_design
from trialanalysis.analyses.betterback.patients import hussey_hughes
from trialanalysis.analyses.betterback.sensitivity import sensitivity_analyses
from trialanalysis.models.cluster_level import cluster_level_analysis

TIMEPOINTS = ["baseline", "3m", "6m", "12m"]
SENSITIVITY = {
    "outcomes": [],
    "cluster_level": True,
    "randomization_test": True,
    "max_permutations": 10000,
    "missing_data": True,
    "boundary_refit": True,
}


def patient_settings(**changes):
    settings = copy.deepcopy(example_config()["betterback"]["analyses"]["patients"])
    settings.update(changes)
    return settings


@pytest.fixture(scope="module")
def analysis():
    design = patient_design(read("patients"), read("clinics"))
    chosen = [
        {"score": "nrs_leg", "label": None, "primary": True},
        {"score": "odi_total", "label": None, "primary": True},
        {"score": "bipq_total", "label": None, "primary": False},
    ]
    settings = patient_settings(outcomes=chosen)
    results = hussey_hughes(design, read("patient_outcomes_scores"), settings, TIMEPOINTS, {})
    checks = sensitivity_analyses(
        results, settings, SENSITIVITY, read("schedule"), TIMEPOINTS, seed=1
    )
    table, randomization, diagnostics = checks.table, checks.randomization, checks.diagnostics
    return results, settings, table, randomization, diagnostics


def rows(table, outcome):
    return table[table["outcome"] == outcome].set_index("analysis")


def test_primary_outcomes_by_default_each_with_every_analysis(analysis):
    _, _, table, _, _ = analysis
    assert list(dict.fromkeys(table["outcome"])) == ["nrs_leg", "odi_total"]
    odi = rows(table, "odi_total")
    assert list(odi.index) == [
        "primary analysis",
        "cluster-level (clinic means within periods)",
        "randomization test",
        "complete cases",
        "all available follow-ups, repeated measures (MAR)",
    ]
    assert (table["timepoint"] == "3m").all()


def test_cluster_level_row_is_the_package_function_on_the_primary_data(analysis):
    results, _, table, _, _ = analysis
    data = results.data["odi_total"]
    data = data[data["timepoint"] == "3m"]
    direct = cluster_level_analysis(
        data,
        "odi_total_change",
        "treatment",
        "clinic_id",
        covariates=["odi_total_baseline"],
        period="period",
    ).iloc[0]
    row = rows(table, "odi_total").loc["cluster-level (clinic means within periods)"]
    assert row["estimate"] == pytest.approx(direct["estimate"])
    assert row["df"] == direct["df"] == 19  # periods 2 and 3: (12 - 2) + (11 - 2)
    assert "periods compared: 2,3" in row["note"]


def test_randomization_test_reports_that_only_the_observed_allocation_is_feasible(analysis):
    _, _, table, randomization, _ = analysis
    assert (randomization["n_allocations"] == 6).all()
    assert (randomization["n_feasible"] == 1).all()
    assert (randomization["p_value"] == 1.0).all() and randomization["exact"].all()
    row = rows(table, "odi_total").loc["randomization test"]
    primary = rows(table, "odi_total").loc["primary analysis"]
    assert row["estimate"] == pytest.approx(primary["estimate"])
    assert "1 feasible of 6 allocations" in row["note"]
    assert "cannot detect an effect" in row["note"]


def test_complete_cases_are_patients_observed_at_every_follow_up(analysis):
    results, _, table, _, _ = analysis
    data = results.data["odi_total"].dropna(subset=["odi_total", "odi_total_baseline"])
    complete = data.groupby("patient_id")["timepoint"].nunique()
    expected = int((complete == 3).sum())
    row = rows(table, "odi_total").loc["complete cases"]
    assert row["n_obs"] == expected
    assert row["note"].startswith(f"{expected} patients observed at every follow-up")


def test_boundary_variance_is_refitted_without_it(analysis):
    results, _, table, _, _ = analysis
    fit = results.fits[("nrs_leg", "3m")]
    assert fit.diagnostics["boundary_terms"] == ["(Intercept) | clinic_id"]
    row = rows(table, "nrs_leg").loc["without boundary random effect"]
    data = results.data["nrs_leg"]
    ols = smf.ols(
        "nrs_leg_change ~ C(period) + treatment + nrs_leg_baseline",
        data=data[data["timepoint"] == "3m"],
    ).fit()
    assert row["estimate"] == pytest.approx(ols.params["treatment"], abs=1e-6)
    assert row["std_error"] == pytest.approx(ols.bse["treatment"], rel=1e-6)
    assert row["df"] == ols.df_resid
    assert "ordinary least squares" in row["note"]
    # ODI's clinic variance is not at the boundary: no refit row
    assert "without boundary random effect" not in rows(table, "odi_total").index


def test_boundary_refit_keeps_the_other_random_terms():
    design = patient_design(read("patients"), read("clinics"))
    settings = patient_settings(
        outcomes=[{"score": "odi_total", "label": None, "primary": True}],
        timepoints=["3m"],
        random_effects=["(1 | clinic_id)", "(1 | clinic_id:period)"],
    )
    results = hussey_hughes(design, read("patient_outcomes_scores"), settings, TIMEPOINTS, {})
    only_boundary = {**SENSITIVITY, "cluster_level": False, "randomization_test": False}
    only_boundary["missing_data"] = False
    table = sensitivity_analyses(
        results, settings, only_boundary, read("schedule"), TIMEPOINTS, seed=1
    ).table
    fit = results.fits[("odi_total", "3m")]
    # on the example data the clinic-by-period variance is estimated at zero
    assert fit.diagnostics["boundary_terms"] == ["(Intercept) | clinic_id:period"]
    refit = table[table["analysis"] == "without boundary random effect"].iloc[0]
    assert refit["formula"].endswith("+ odi_total_baseline + (1 | clinic_id)")
    primary = table[table["analysis"] == "primary analysis"].iloc[0]
    assert refit["estimate"] == pytest.approx(primary["estimate"], abs=1e-5)


def test_chosen_secondary_outcome_and_switched_off_analyses(analysis):
    results, settings, _, _, _ = analysis
    chosen = {
        **SENSITIVITY,
        "outcomes": ["bipq_total"],
        "randomization_test": False,
        "missing_data": False,
    }
    checks = sensitivity_analyses(results, settings, chosen, read("schedule"), TIMEPOINTS, 1)
    table, randomization = checks.table, checks.randomization
    assert set(table["outcome"]) == {"bipq_total"}
    assert list(table["analysis"]) == [
        "primary analysis",
        "cluster-level (clinic means within periods)",
    ]
    assert isinstance(randomization, pd.DataFrame) and randomization.empty
    assert np.isfinite(table["estimate"]).all()


def test_text_covariates_enter_the_cluster_level_stage_one_as_indicators():
    design = patient_design(read("patients"), read("clinics"))
    settings = patient_settings(
        outcomes=[{"score": "odi_total", "label": None, "primary": True}],
        timepoints=["3m"],
        covariates=["sex", "age"],
    )
    results = hussey_hughes(design, read("patient_outcomes_scores"), settings, TIMEPOINTS, {})
    only = {**SENSITIVITY, "randomization_test": False, "missing_data": False}
    table = sensitivity_analyses(results, settings, only, read("schedule"), TIMEPOINTS, 1).table
    row = table[table["analysis"].str.startswith("cluster-level")].iloc[0]
    assert row["formula"] == "stage 1: odi_total_change ~ odi_total_baseline + sex_male + age"
    data = results.data["odi_total"]
    data = data[data["timepoint"] == "3m"].assign(sex_male=lambda d: (d["sex"] == "male") * 1.0)
    direct = cluster_level_analysis(
        data, "odi_total_change", "treatment", "clinic_id",
        covariates=["odi_total_baseline", "sex_male", "age"], period="period",
    ).iloc[0]  # fmt: skip
    assert row["estimate"] == pytest.approx(direct["estimate"])


def test_randomization_tests_are_described_in_text_not_tabled():
    from trialanalysis.analyses.betterback.text import randomization_text

    tests = pd.DataFrame(
        {
            "outcome": ["odi_total", "nrs_back"],
            "timepoint": ["3m", "3m"],
            "p_value": [1.0, 1.0],
            "n_allocations": [6, 6],
            "n_feasible": [1, 1],
            "exact": [True, True],
            "min_attainable_p": [1.0, 1.0],
        }
    )
    text = randomization_text(tests, {"odi_total": "Disability (ODI)"})
    assert "1 of 6 allocations" in text and "smallest attainable p is 1" in text
    assert "Disability (ODI) at 3m: p = 1.000; nrs_back at 3m: p = 1.000" in text
    assert "not among the sensitivity analyses" in text
    informative = tests.assign(n_feasible=40, n_allocations=40, min_attainable_p=0.025)
    assert "cannot detect" not in randomization_text(informative, {})
