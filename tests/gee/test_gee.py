"""GEE with the Mancl-DeRouen sandwich, checked against R (make_golden.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.gee import fit_gee

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(HERE / "gee_data.csv")


@pytest.fixture(scope="module")
def golden():
    return pd.read_csv(HERE / "gee_golden.csv")


def test_independence_matches_r_exactly(data, golden):
    expected = golden[golden["correlation"] == "independence"].set_index("term")
    for cov_type, column in [("robust", "se_robust"), ("bias_reduced", "se_bias_reduced")]:
        fit = fit_gee(
            data, "y ~ treatment + age", "clinic_id", correlation="independence", cov_type=cov_type
        )
        got = fit.coefficients.set_index("term")
        np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-6)
        np.testing.assert_allclose(got["std_error"], expected[column], rtol=1e-6)


def test_exchangeable_is_close_to_geepack(data, golden):
    # statsmodels and geepack use slightly different moment estimators of the
    # exchangeable correlation (0.0278 vs 0.0280 here), so agreement is close
    # but not exact; the sandwich itself is checked exactly above.
    expected = golden[golden["correlation"] == "exchangeable"].set_index("term")
    got = fit_gee(data, "y ~ treatment + age", "clinic_id").coefficients.set_index("term")
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-3)
    np.testing.assert_allclose(got["std_error"], expected["se_bias_reduced"], rtol=2e-3)


def test_t_reference_uses_clusters_minus_parameters(data):
    fit = fit_gee(data, "y ~ treatment + age", "clinic_id")
    row = fit.coefficients.set_index("term").loc["treatment"]
    assert row["df"] == 17 - 3
    half_width = stats.t.ppf(0.975, 14) * row["std_error"]
    assert row["conf_high"] - row["estimate"] == pytest.approx(half_width)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(row["statistic"]), 14))
    z = fit_gee(data, "y ~ treatment + age", "clinic_id", df="z").coefficients
    assert (z["p_value"] <= fit.coefficients["p_value"]).all()


def test_odds_ratios_exponentiate_the_log_odds(data):
    fit = fit_gee(data, "y ~ treatment + age", "clinic_id")
    odds = fit.odds_ratios().set_index("term")
    log_odds = fit.coefficients.set_index("term")
    assert odds.loc["treatment", "odds_ratio"] == pytest.approx(
        np.exp(log_odds.loc["treatment", "estimate"])
    )
    assert odds.loc["treatment", "conf_low"] == pytest.approx(
        np.exp(log_odds.loc["treatment", "conf_low"])
    )
    assert "Intercept" not in odds.index


def test_risk_difference_by_standardisation(data):
    fit = fit_gee(data, "y ~ treatment + age", "clinic_id")
    rd = fit.risk_difference("treatment").iloc[0]
    beta = fit.coefficients.set_index("term")["estimate"]
    lp = beta["Intercept"] + beta["age"] * data["age"]
    treated = 1 / (1 + np.exp(-(lp + beta["treatment"])))
    untreated = 1 / (1 + np.exp(-lp))
    assert rd["risk_treated"] == pytest.approx(treated.mean())
    assert rd["estimate"] == pytest.approx(treated.mean() - untreated.mean())
    # delta method by finite differences of the standardised difference
    cov = fit.covariance.to_numpy()

    def standardised(b):
        lin = b[0] + b[2] * data["age"].to_numpy()
        return (1 / (1 + np.exp(-(lin + b[1]))) - 1 / (1 + np.exp(-lin))).mean()

    b = beta[fit.covariance.index].to_numpy()
    grad = np.array([(standardised(b + h) - standardised(b - h)) / 2e-6 for h in np.eye(3) * 1e-6])
    assert rd["std_error"] == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-5)
    assert rd["df"] == 14


def test_rows_with_missing_values_are_dropped_and_counted(data):
    holes = data.copy()
    holes.loc[:9, "y"] = np.nan
    holes.loc[10:14, "clinic_id"] = None
    fit = fit_gee(holes, "y ~ treatment + age", "clinic_id")
    assert fit.diagnostics["n_obs"] == len(data) - 15
    assert fit.diagnostics["n_dropped"] == 15


def test_bad_specifications_are_refused(data):
    with pytest.raises(ModelSpecificationError, match="0/1"):
        fit_gee(data.assign(y=data["y"] * 2), "y ~ treatment", "clinic_id")
    with pytest.raises(ModelSpecificationError, match="grouping column"):
        fit_gee(data, "y ~ treatment", "clinic")
    with pytest.raises(ModelSpecificationError, match="correlation"):
        fit_gee(data, "y ~ treatment", "clinic_id", correlation="ar1")
    with pytest.raises(ModelSpecificationError, match="no degrees of freedom"):
        fit_gee(data[data["clinic_id"].isin(["C01", "C02"])], "y ~ treatment + age", "clinic_id")
    with pytest.raises(ModelSpecificationError, match="formula"):
        fit_gee(data, "y ~ not_a_column", "clinic_id")
