"""Rubin's rules against mice::pool.scalar; chained PMM imputation behaves."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.imputation import impute_chained, pool_rubin

HERE = Path(__file__).parent


@pytest.mark.parametrize("case", pd.read_csv(HERE / "rubin_golden.csv").to_dict("records"))
def test_pooling_matches_mice(case):
    q = [float(v) for v in case["estimates"].split(";")]
    u = [float(v) for v in case["variances"].split(";")]
    tables = [
        pd.DataFrame(
            {
                "term": ["x"],
                "estimate": [qi],
                "std_error": [np.sqrt(ui)],
                "df": [case["df_complete"]],
            }
        )
        for qi, ui in zip(q, u, strict=True)
    ]
    pooled = pool_rubin(tables).iloc[0]
    assert pooled["estimate"] == pytest.approx(case["qbar"], rel=1e-10)
    assert pooled["within_variance"] == pytest.approx(case["ubar"], rel=1e-10)
    assert pooled["between_variance"] == pytest.approx(case["b"], rel=1e-10)
    assert pooled["std_error"] ** 2 == pytest.approx(case["t"], rel=1e-10)
    assert pooled["df"] == pytest.approx(case["df"], rel=1e-8)
    assert pooled["riv"] == pytest.approx(case["r"], rel=1e-10)
    assert pooled["fmi"] == pytest.approx(case["fmi"], rel=1e-8)
    assert pooled["m"] == case["m"]


def test_pooling_refuses_too_few_or_ragged_tables():
    one = pd.DataFrame({"term": ["x"], "estimate": [1.0], "std_error": [0.1]})
    with pytest.raises(ModelSpecificationError, match="at least two"):
        pool_rubin([one])
    two = pd.DataFrame({"term": ["x", "z"], "estimate": [1.0, 2.0], "std_error": [0.1, 0.2]})
    with pytest.raises(ModelSpecificationError, match="missing from some"):
        pool_rubin([one, two])


@pytest.fixture(scope="module")
def mar_data():
    rng = np.random.default_rng(11)
    n = 600
    arm = rng.integers(0, 2, n)
    baseline = rng.normal(40, 12, n)
    follow = 0.6 * baseline - 5 * arm + rng.normal(0, 8, n)
    # missing at random: higher baseline, more often missing
    p_missing = 1 / (1 + np.exp(-(baseline - 45) / 6))
    observed = np.where(rng.random(n) < p_missing, np.nan, follow)
    frame = pd.DataFrame({"arm": arm, "baseline": baseline, "follow": observed})
    return frame, follow


def test_imputation_corrects_bias_under_mar(mar_data):
    frame, truth = mar_data
    completed = impute_chained(frame, m=10, seed=3)
    imputed_mean = np.mean([c["follow"].mean() for c in completed])
    complete_case_bias = abs(frame["follow"].mean() - truth.mean())
    assert complete_case_bias > 2.0  # the naive mean is clearly biased
    assert abs(imputed_mean - truth.mean()) < complete_case_bias / 3


def test_imputation_keeps_observed_values_and_uses_observed_donors(mar_data):
    frame, _ = mar_data
    completed = impute_chained(frame, m=3, seed=1)
    observed = frame["follow"].notna()
    donors = set(frame.loc[observed, "follow"])
    for c in completed:
        assert c.notna().all().all()
        pd.testing.assert_series_equal(c.loc[observed, "follow"], frame.loc[observed, "follow"])
        assert set(c.loc[~observed, "follow"]) <= donors
        pd.testing.assert_frame_equal(
            c[["arm", "baseline"]], frame[["arm", "baseline"]].astype(float)
        )


def test_imputations_are_seeded_and_differ_between_copies(mar_data):
    frame, _ = mar_data
    a = impute_chained(frame, m=2, seed=5)
    b = impute_chained(frame, m=2, seed=5)
    c = impute_chained(frame, m=2, seed=6)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert not a[0].equals(a[1])
    assert not a[0].equals(c[0])


def test_pooled_analysis_of_imputed_data_recovers_the_effect(mar_data):
    import statsmodels.formula.api as smf

    frame, _ = mar_data
    fits = []
    for c in impute_chained(frame, m=10, seed=2):
        fit = smf.ols("follow ~ arm + baseline", c).fit()
        fits.append(
            pd.DataFrame(
                {
                    "term": fit.params.index,
                    "estimate": fit.params.values,
                    "std_error": fit.bse.values,
                    "df": fit.df_resid,
                }
            )
        )
    arm = pool_rubin(fits).set_index("term").loc["arm"]
    assert arm["conf_low"] < -5 < arm["conf_high"]
    assert 0 < arm["fmi"] < 1


def test_imputation_input_errors():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", "y", "z", "w"]})
    with pytest.raises(ModelSpecificationError, match="numeric"):
        impute_chained(frame)
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0] * 5, "b": [np.nan, 2.0, 3.0] * 5})
    with pytest.raises(ModelSpecificationError, match="must be complete"):
        impute_chained(frame, columns=["a"])
    few = pd.DataFrame({"a": [1.0, np.nan, np.nan, np.nan, np.nan], "b": [1.0, 2, 3, 4, 5]})
    with pytest.raises(ModelSpecificationError, match="too few observed"):
        impute_chained(few)
