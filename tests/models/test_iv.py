"""2SLS against AER::ivreg + sandwich::vcovHC (goldens in golden/iv, made by make_golden.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.iv import two_stage_least_squares

GOLDEN = Path(__file__).parent / "golden" / "iv"
RESULTS = pd.read_csv(GOLDEN / "ivreg_golden.csv")
CASES = {
    "cigarettes": ("cigarettes.csv", "lpacks", ["lprice"], ["tdiff", "tax"], ["lincome"]),
    "cigarettes_just": ("cigarettes.csv", "lpacks", ["lprice"], ["tdiff"], []),
    "trial": ("trial.csv", "y", ["received"], ["arm"], ["baseline"]),
    "trial_wald": ("trial.csv", "y", ["received"], ["arm"], []),
    "example": ("cace_example_frame.csv", "y", ["received"], ["arm"], ["baseline"]),
}


@pytest.mark.parametrize("vcov", ["classical", "HC0", "HC1"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_2sls_matches_ivreg(case, vcov):
    file, outcome, endogenous, instruments, exogenous = CASES[case]
    data = pd.read_csv(GOLDEN / file)
    fit = two_stage_least_squares(data, outcome, endogenous, instruments, exogenous, vcov=vcov)
    golden = RESULTS.query("case == @case and vcov == @vcov").reset_index(drop=True)
    got = fit.coefficients
    assert list(got["term"].iloc[1:]) == list(golden["term"].iloc[1:])
    for key in ("estimate", "std_error", "statistic", "conf_low", "conf_high", "df"):
        np.testing.assert_allclose(got[key], golden[key], rtol=1e-8, err_msg=key)
    np.testing.assert_allclose(got["p_value"], golden["p_value"], rtol=1e-6)
    if vcov == "HC1":
        assert fit.first_stage["f_statistic"].iloc[0] == pytest.approx(
            golden["weak_f"].iloc[0], rel=1e-8
        )


def test_wald_ratio_without_covariates():
    data = pd.read_csv(GOLDEN / "trial.csv")
    fit = two_stage_least_squares(data, "y", ["received"], ["arm"])
    means = data.groupby("arm")[["y", "received"]].mean()
    ratio = (means.loc[1, "y"] - means.loc[0, "y"]) / (
        means.loc[1, "received"] - means.loc[0, "received"]
    )
    assert fit.coefficients.set_index("term").loc["received", "estimate"] == pytest.approx(ratio)
    compliance = means.loc[1, "received"] - means.loc[0, "received"]
    assert fit.first_stage["instrument_estimate"].iloc[0] == pytest.approx(compliance)


def test_refuses_unidentified_or_incomplete_models():
    data = pd.read_csv(GOLDEN / "trial.csv")
    with pytest.raises(ModelSpecificationError, match="not identified"):
        two_stage_least_squares(data.assign(arm=0), "y", ["received"], ["arm"])
    with pytest.raises(ModelSpecificationError, match="complete data"):
        two_stage_least_squares(data.assign(y=np.nan), "y", ["received"], ["arm"])
    with pytest.raises(ModelSpecificationError, match="vcov"):
        two_stage_least_squares(data, "y", ["received"], ["arm"], vcov="HC3")
