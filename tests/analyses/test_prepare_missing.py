"""Missing-data analyses: Rubin's rules by hand, complete cases, imputations that keep the data."""

import copy
import math

import numpy as np
import pytest
from scipy import stats

from tests.analyses.helpers import as_data, simulated_trial
from trialanalysis.analyses.prepare.missing import (
    COMPLETE_CASES,
    LIKELIHOOD,
    completed_long_tables,
    missing_data_analyses,
)
from trialanalysis.analyses.prepare.models import arm_differences, fit_outcome_model

ANALYSES = {
    "primary_outcome": "odi_total",
    "covariates": ["age"],
    "conf_level": 0.95,
    "mixed_model": {"baseline": "covariate", "baseline_by_time": True, "random_slope": False,
                    "df_method": "satterthwaite", "reml": True,
                    "covariance": "random_intercept", "sensitivity": []},
    "multiple_imputation": {"m": 5, "iterations": 5, "donors": 5, "outcomes": ["odi_total"],
                            "auxiliary": ["ses_total"], "predictors": ["sex"], "by_arm": True},
}  # fmt: skip


@pytest.fixture(scope="module")
def trial():
    patients, outcomes = simulated_trial(n=80, seed=21, missing=0.15)
    return as_data(patients, outcomes)


@pytest.fixture(scope="module")
def result(trial):
    return missing_data_analyses(trial, ANALYSES, seed=8)


def test_pooled_estimates_follow_rubins_rules_by_hand(result):
    comparison, imputations = result.comparison, result.imputations
    pooled = comparison[comparison["analysis"].str.startswith("multiple")].set_index("timepoint")
    for timepoint, group in imputations.groupby("timepoint"):
        q, u = group["estimate"].to_numpy(), group["std_error"].to_numpy() ** 2
        m = len(q)
        assert m == 5
        qbar, ubar, b = q.mean(), u.mean(), q.var(ddof=1)
        total = ubar + (1 + 1 / m) * b
        lam = (1 + 1 / m) * b / total
        nu_old = (m - 1) / lam**2
        nu_com = group["df"].mean()
        nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lam)
        nu = nu_old * nu_obs / (nu_old + nu_obs)  # Barnard & Rubin (1999)
        row = pooled.loc[timepoint]
        assert row["estimate"] == pytest.approx(qbar)
        assert row["std_error"] == pytest.approx(math.sqrt(total))
        assert row["df"] == pytest.approx(nu)
        half = stats.t.ppf(0.975, nu) * math.sqrt(total)
        assert row["conf_low"] == pytest.approx(qbar - half)
        assert row["n_patients"] == 80


def test_without_missing_values_imputation_reproduces_the_likelihood_analysis():
    patients, outcomes = simulated_trial(n=40, seed=2)
    data = as_data(patients, outcomes)
    comparison = missing_data_analyses(data, ANALYSES, seed=1).comparison
    by = comparison.set_index(["analysis", "timepoint"])
    likelihood, imputed = by.loc[LIKELIHOOD], by.xs("post", level="timepoint").iloc[2]
    assert imputed["estimate"] == pytest.approx(likelihood.loc["post", "estimate"])
    assert imputed["std_error"] == pytest.approx(likelihood.loc["post", "std_error"])
    nu = likelihood.loc["post", "df"]
    assert imputed["df"] == pytest.approx((nu + 1) / (nu + 3) * nu)  # no between variance


def test_complete_cases_are_the_patients_observed_throughout(trial, result):
    comparison = result.comparison
    wide = trial.wide(["odi_total"])
    complete = wide.index[wide.notna().all(axis=1)]
    subset = copy.copy(trial)
    subset.long = trial.long[trial.long["patient_id"].isin(complete)]
    direct = arm_differences(
        fit_outcome_model(subset, "odi_total", ANALYSES["mixed_model"], ["age"])
    ).set_index("timepoint")
    cases = comparison[comparison["analysis"] == COMPLETE_CASES].set_index("timepoint")
    assert (cases["n_patients"] == len(complete)).all()
    assert len(complete) < 80
    for t in ("post", "3m"):
        assert cases.loc[t, "estimate"] == pytest.approx(direct.loc[t, "estimate"])


def test_imputations_keep_observed_values_and_are_seeded(trial):
    settings = ANALYSES["multiple_imputation"]
    first = completed_long_tables(trial, ["odi_total", "ses_total"], settings, ["age"], seed=3)
    again = completed_long_tables(trial, ["odi_total", "ses_total"], settings, ["age"], seed=3)
    observed = trial.long.set_index(["patient_id", trial.long["timepoint"].astype(str)])
    for table, repeat in zip(first, again, strict=True):
        assert table.equals(repeat)
        assert table["odi_total"].notna().all()
        filled = table.set_index(["patient_id", table["timepoint"].astype(str)])
        known = observed["odi_total"].dropna()
        np.testing.assert_array_equal(filled.loc[known.index, "odi_total"], known)
        # every imputed value was observed in the same arm at the same time point (PMM by arm)
        for (arm, t), rows in table.groupby(["arm", "timepoint"], observed=True):
            mine = trial.long[(trial.long["arm"] == arm) & (trial.long["timepoint"] == t)]
            assert set(rows["odi_total"]) <= set(mine["odi_total"].dropna())
    assert not first[0]["odi_total"].equals(first[1]["odi_total"])


def test_diagnostics_cover_every_analysis(result):
    diagnostics = result.diagnostics
    assert len(diagnostics) == 3
    assert diagnostics["converged"].all()
    assert "5 fits, one per imputation" in diagnostics["notes"].iloc[2]
