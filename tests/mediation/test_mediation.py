"""Mediation estimates equal direct OLS computations; the bootstrap is seeded."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.mediation import bias_corrected_interval, mediation_analysis


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 300
    x = rng.integers(0, 2, n)
    w = rng.normal(7, 2, n)
    c = rng.normal(0, 1, n)
    m1 = 2.0 * x + 0.5 * x * (w - 7) + 0.3 * c + rng.normal(0, 2, n)
    m2 = -1.0 * x + rng.normal(0, 1.5, n)
    y = -1.0 * x - 0.6 * m1 + 0.8 * m2 + 0.5 * c + rng.normal(0, 2, n)
    frame = pd.DataFrame({"x": x, "w": w, "c": c, "m1": m1, "m2": m2, "y": y})
    frame.loc[[3, 10], "m2"] = np.nan  # complete cases are used
    return frame


def test_effects_equal_ols_products(data):
    result = mediation_analysis(data, "x", ["m1", "m2"], "y", covariates=["c"], n_boot=200)
    cc = data.dropna()
    a1 = smf.ols("m1 ~ x + c", cc).fit().params["x"]
    a2 = smf.ols("m2 ~ x + c", cc).fit().params["x"]
    outcome = smf.ols("y ~ x + m1 + m2 + c", cc).fit().params
    total = smf.ols("y ~ x + c", cc).fit().params["x"]
    effects = result.effects.set_index(["effect", "mediator"])["estimate"]
    assert effects[("indirect", "m1")] == pytest.approx(a1 * outcome["m1"])
    assert effects[("indirect", "m2")] == pytest.approx(a2 * outcome["m2"])
    assert effects[("direct", "")] == pytest.approx(outcome["x"])
    assert effects[("total", "")] == pytest.approx(total)
    assert effects[("indirect", "(sum)")] == pytest.approx(a1 * outcome["m1"] + a2 * outcome["m2"])
    assert (result.effects["n"] == len(cc)).all()
    paths = result.paths.set_index(["equation", "term"])
    assert paths.loc[("y", "m1"), "estimate"] == pytest.approx(outcome["m1"])
    fit = smf.ols("y ~ x + m1 + m2 + c", cc).fit()
    assert paths.loc[("y", "m1"), "std_error"] == pytest.approx(fit.bse["m1"])
    # the simulated indirect effect through m1 (2.0 x -0.6) is recovered
    row = result.effects.set_index(["effect", "mediator"]).loc[("indirect", "m1")]
    assert row["conf_low"] < -1.2 < row["conf_high"]
    assert row["conf_high"] < 0


def test_conditional_indirect_effects_follow_the_moderator(data):
    result = mediation_analysis(
        data, "x", ["m1"], "y", moderator="w", moderator_values=[5.0, 9.0], n_boot=200
    )
    cc = data.dropna(subset=["x", "m1", "y", "w"])
    a = smf.ols("m1 ~ x * w", cc).fit().params
    b = smf.ols("y ~ x + m1", cc).fit().params["m1"]
    effects = result.effects.set_index(["effect", "mediator", "moderator_value"])["estimate"]
    for w in (5.0, 9.0):
        expected = (a["x"] + a["x:w"] * w) * b
        assert effects[("conditional_indirect", "m1", w)] == pytest.approx(expected)
    index = effects.xs("index_of_moderated_mediation", level="effect").iloc[0]
    assert index == pytest.approx(a["x:w"] * b)


def test_default_moderator_values_are_mean_and_one_sd(data):
    result = mediation_analysis(data, "x", ["m1"], "y", moderator="w", n_boot=100)
    w = data["w"]
    values = result.effects.query("effect == 'conditional_indirect'")["moderator_value"].unique()
    np.testing.assert_allclose(values, [w.mean() - w.std(), w.mean(), w.mean() + w.std()])


def test_bootstrap_is_reproducible_from_the_seed(data):
    first = mediation_analysis(data, "x", ["m1"], "y", n_boot=150, seed=1).effects
    again = mediation_analysis(data, "x", ["m1"], "y", n_boot=150, seed=1).effects
    other = mediation_analysis(data, "x", ["m1"], "y", n_boot=150, seed=2).effects
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["conf_low"], other["conf_low"])


def test_bias_corrected_interval_by_hand():
    draws = np.arange(1, 1001) / 1000.0
    # estimate at the median: no bias correction, plain percentile interval
    low, high = bias_corrected_interval(0.5005, draws)
    assert (low, high) == pytest.approx((np.quantile(draws, 0.025), np.quantile(draws, 0.975)))
    # 30% of replicates below the estimate: z0 = Phi^-1(0.3)
    low, high = bias_corrected_interval(0.3005, draws)
    z0, z = stats.norm.ppf(0.3), stats.norm.ppf(0.975)
    expected = np.quantile(draws, [stats.norm.cdf(2 * z0 - z), stats.norm.cdf(2 * z0 + z)])
    assert (low, high) == pytest.approx(tuple(expected))


def test_bad_requests_are_refused(data):
    with pytest.raises(ModelSpecificationError, match="not in the data"):
        mediation_analysis(data, "x", ["nope"], "y")
    with pytest.raises(ModelSpecificationError, match="at least one mediator"):
        mediation_analysis(data, "x", [], "y")
    with pytest.raises(ModelSpecificationError, match="at least 100"):
        mediation_analysis(data, "x", ["m1"], "y", n_boot=10)
    with pytest.raises(ModelSpecificationError, match="complete cases"):
        mediation_analysis(data.head(4), "x", ["m1", "m2"], "y", covariates=["c"], n_boot=100)
