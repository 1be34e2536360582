"""PREPARE mixed models: EMMs and between-arm differences against lme4/lmerTest/emmeans."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tests.analyses.helpers import GOLDEN, as_data, golden_data, simulated_trial
from trialanalysis.analyses.prepare.models import (
    ancova_check,
    arm_differences,
    cell_means,
    fit_outcome_model,
    model_formula,
)
from trialanalysis.errors import ModelSpecificationError

GOLDEN_VALUES = pd.read_csv(GOLDEN / "prepare_lmm_golden.csv")


def settings(baseline, df_method, covariance="random_intercept"):
    return {"baseline": baseline, "baseline_by_time": True, "random_slope": False,
            "df_method": df_method, "reml": True, "covariance": covariance,
            "sensitivity": []}  # fmt: skip


@pytest.fixture(scope="module")
def data():
    frame = golden_data()
    frame.long["y"] = frame.long["y"].astype(float)
    return frame


@pytest.mark.parametrize("design", ["covariate", "response"])
@pytest.mark.parametrize("df_method", ["kenward-roger", "satterthwaite"])
def test_means_and_differences_match_r(data, design, df_method):
    model = fit_outcome_model(data, "y", settings(design, df_method), covariates=["sex"])
    golden = GOLDEN_VALUES[
        (GOLDEN_VALUES["design"] == design) & (GOLDEN_VALUES["df_method"] == df_method)
    ]
    means = cell_means(model, data.baseline).set_index(["arm", "timepoint"])
    differences = arm_differences(model).set_index("timepoint")
    for row in golden.itertuples():
        ours = (
            differences.loc[row.timepoint]
            if row.kind == "difference"
            else means.loc[(row.arm, row.timepoint)]
        )
        assert ours["estimate"] == pytest.approx(row.estimate, abs=1e-6)
        assert ours["std_error"] == pytest.approx(row.std_error, rel=1e-6)
        assert ours["df"] == pytest.approx(row.df, rel=1e-5)
    assert set(differences["contrast"]) == {"treated - control"}


def test_differences_equal_the_coefficients_that_define_them(data):
    ancova = fit_outcome_model(data, "y", settings("covariate", "satterthwaite"))
    beta = ancova.fit.coefficients.set_index("term")["estimate"]
    difference = arm_differences(ancova).set_index("timepoint")["estimate"]
    assert difference["post"] == pytest.approx(beta["treatment"])
    assert difference["12m"] == pytest.approx(
        beta["treatment"] + beta["timepoint[T.12m]:treatment"]
    )
    clda = fit_outcome_model(data, "y", settings("response", "satterthwaite"))
    beta = clda.fit.coefficients.set_index("term")["estimate"]
    difference = arm_differences(clda).set_index("timepoint")["estimate"]
    for t in ("post", "3m", "12m"):
        assert difference[t] == pytest.approx(beta[f"treatment_{t}"])
    means = cell_means(clda, data.baseline).set_index(["arm", "timepoint"])["estimate"]
    assert means[("control", "baseline")] == pytest.approx(means[("treated", "baseline")])


def test_baseline_is_drawn_from_the_model_so_changes_equal_its_estimates(data):
    model = fit_outcome_model(data, "y", settings("covariate", "satterthwaite"))
    means = cell_means(model, data.baseline)
    baseline = means[means["timepoint"] == "baseline"].set_index("arm")
    used = model.frame.dropna(subset=["y", "y_baseline"])
    # the covariate value of the reference grid: the mean baseline of the model's rows
    assert (baseline["source"] == "covariate").all()
    assert baseline["estimate"].tolist() == pytest.approx([used["y_baseline"].mean()] * 2)
    assert baseline["conf_low"].isna().all()  # conditioned on, not estimated
    for arm in ("control", "treated"):
        assert baseline.loc[arm, "n"] == used.loc[used["arm"] == arm, "patient_id"].nunique()
    # the change from baseline of each arm, as drawn, differs between arms by the model's effect
    cells = means.set_index(["arm", "timepoint"])["estimate"]
    difference = arm_differences(model).set_index("timepoint")["estimate"]
    for t in ("post", "3m", "12m"):
        drawn = (cells[("treated", t)] - cells[("treated", "baseline")]) - (
            cells[("control", t)] - cells[("control", "baseline")]
        )
        assert drawn == pytest.approx(difference[t])
    # follow-up counts are the rows with both the outcome and the baseline value
    used = model.frame.dropna(subset=["y", "y_baseline"])
    counts = used.groupby(["arm", used["timepoint"].astype(str)]).size()
    modelled = means[means["source"] == "model"]
    for row in modelled.itertuples():
        assert row.n == counts[(row.arm, row.timepoint)]


def test_ancova_check_equals_least_squares_by_hand(data):
    result = ancova_check(data, "y", "post")
    wide = data.wide(["y"], ["baseline", "post"])
    wide = wide.join(data.patients.set_index("patient_id")["treatment"]).dropna()
    X = np.column_stack([np.ones(len(wide)), wide["treatment"], wide["y_baseline"]])
    beta, rss = np.linalg.lstsq(X, wide["y_post"], rcond=None)[:2]
    sigma2 = rss[0] / (len(wide) - 3)
    se = np.sqrt(sigma2 * np.linalg.inv(X.T @ X)[1, 1])
    assert result["estimate"] == pytest.approx(beta[1])
    assert result["std_error"] == pytest.approx(se)
    assert result["n"] == len(wide)
    fit = sm.OLS(wide["y_post"], X).fit()
    assert result["conf_low"] == pytest.approx(fit.conf_int().iloc[1, 0])


def test_formulas_state_the_design():
    assert model_formula("odi", "covariate", ["p", "3m"]) == (
        "odi ~ timepoint * treatment + odi_baseline * timepoint + (1 | patient_id)"
    )
    assert model_formula("odi", "response", ["p", "3m"], ["age"], random_slope=True) == (
        "odi ~ timepoint + treatment_p + treatment_3m + age + (1 + years | patient_id)"
    )
    assert "odi_baseline + " in model_formula("odi", "covariate", ["p"], baseline_by_time=False)


def test_random_slope_uses_time_since_randomisation():
    patients, outcomes = simulated_trial(n=40, seed=3)
    patients["randomisation_date"] = pd.Timestamp("2020-01-01")
    days = outcomes["timepoint"].map({"baseline": -3, "post": 70, "3m": 180})
    outcomes["response_date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")
    data = as_data(patients, outcomes)
    model = fit_outcome_model(
        data, "odi_total", {**settings("response", "satterthwaite"), "random_slope": True}
    )
    assert "(1 + years | patient_id)" in model.formula
    assert data.long["years"].max() == pytest.approx(180 / 365.25)
    assert model.fit.diagnostics["groups"] == {"patient_id": 40}


def test_a_single_follow_up_needs_the_response_design():
    patients, outcomes = simulated_trial(n=30, timepoints=("baseline", "post"))
    data = as_data(patients, outcomes, ("baseline", "post"))
    with pytest.raises(ModelSpecificationError, match="baseline to response"):
        fit_outcome_model(data, "odi_total", settings("covariate", "satterthwaite"))
    model = fit_outcome_model(data, "odi_total", settings("response", "satterthwaite"))
    assert list(arm_differences(model)["timepoint"]) == ["post"]


MMRM_GOLDEN = pd.read_csv(GOLDEN / "prepare_mmrm_golden.csv")


@pytest.mark.parametrize("design", ["covariate", "response"])
def test_unstructured_mmrm_matches_nlme_gls(data, design):
    # golden/prepare_mmrm_golden.R: nlme::gls with corSymm + varIdent, REML
    model = fit_outcome_model(data, "y", settings(design, "kenward-roger", "us"), ["sex"])
    assert model.covariance == "us"
    assert model.formula.endswith("+ us(timepoint | patient_id)")
    golden = MMRM_GOLDEN[MMRM_GOLDEN["design"] == design].set_index("timepoint")
    assert model.fit.deviance == pytest.approx(golden["deviance"].iloc[0], abs=1e-6)
    differences = arm_differences(model).set_index("timepoint")
    assert (differences["covariance"] == "us").all()
    for timepoint, row in golden.iterrows():
        # the model-based SE (the KR-adjusted one is larger)
        weights = {"d": _difference_weights(model, timepoint)}
        plain = model.fit.contrast(weights, df_method="satterthwaite").iloc[0]
        assert differences.loc[timepoint, "estimate"] == pytest.approx(row.estimate, abs=1e-5)
        assert plain["std_error"] == pytest.approx(row.std_error, rel=5e-5)
        assert differences.loc[timepoint, "std_error"] >= plain["std_error"] - 1e-12


def _difference_weights(model, timepoint):
    from trialanalysis.analyses.prepare.models import _cell_weights

    return _cell_weights(model, 1, timepoint) - _cell_weights(model, 0, timepoint)


def test_model_formula_writes_the_covariance_term():
    args = ("odi", "covariate", ["post", "3m"])
    assert model_formula(*args, covariance="us").endswith("+ us(timepoint | patient_id)")
    assert model_formula(*args, covariance="ar1h").endswith("+ ar1h(timepoint | patient_id)")
    assert model_formula(*args, random_slope=True, covariance="random_intercept").endswith(
        "+ (1 + years | patient_id)"
    )
    with pytest.raises(ModelSpecificationError, match="covariance 'un'"):
        model_formula(*args, covariance="un")


def test_trajectory_figure_draws_the_model_table_values(data):
    from trialanalysis.analyses.prepare.figures import trajectory_figure

    model = fit_outcome_model(data, "y", settings("covariate", "satterthwaite"))
    means = cell_means(model, data.baseline)
    figure = trajectory_figure(means, data.arms, data.timepoints, {"y": "Y"})
    ax = figure.axes[0]
    for arm in data.arms:
        (line,) = [line for line in ax.get_lines() if line.get_label() == arm]
        table = means[means["arm"] == arm].set_index("timepoint")["estimate"]
        assert list(line.get_ydata()) == pytest.approx([table[t] for t in data.timepoints])
