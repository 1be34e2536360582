"""Residuals and BLUPs against lme4 and nlme::gls (golden/residuals/make_golden.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from trialanalysis.models.mixed import fit_mixed
from trialanalysis.models.residuals import qq_points, residual_table

GOLDEN = Path(__file__).parent / "golden"
HERE = GOLDEN / "residuals"


def check(fit, name, rtol=1e-5, atol=1e-4):
    table = residual_table(fit)
    golden = pd.read_csv(HERE / f"{name}_residuals.csv")
    assert len(table) == len(golden)
    for key in ("fitted", "residual", "standardized"):
        np.testing.assert_allclose(table[key], golden[key], rtol=rtol, atol=atol, err_msg=key)


def test_lmm_random_slopes_matches_lme4():
    data = pd.read_csv(GOLDEN / "data" / "slopes.csv")
    fit = fit_mixed(data, "y ~ time * arm + (1 + time | patient_id)", variance_ci="none")
    check(fit, "slopes")
    blups = fit.random_effects().pivot(index="level", columns="term", values="estimate")
    golden = pd.read_csv(HERE / "slopes_ranef.csv").set_index("level")
    np.testing.assert_allclose(blups["(Intercept)"], golden["intercept"], atol=1e-4)
    np.testing.assert_allclose(blups["time"], golden["time"], atol=1e-4)


def test_lmm_random_intercept_matches_lme4_on_sleepstudy():
    data = pd.read_csv(HERE / "sleepstudy.csv")
    fit = fit_mixed(data, "Reaction ~ Days + (1 | Subject)", variance_ci="none")
    check(fit, "sleepstudy", atol=1e-3)


def test_mmrm_normalized_residuals_match_gls():
    data = pd.read_csv(GOLDEN / "mmrm" / "data" / "orthodont_missing.csv")
    fit = fit_mixed(data, "y ~ sex * visit + us(visit | id)")
    check(fit, "orthodont_us", atol=1e-4)


def test_qq_points_are_rs_qqnorm_positions():
    values = [3.0, np.nan, 1.0, 2.0]
    table = qq_points(values)
    assert list(table["sample"]) == [1.0, 2.0, 3.0]
    expected = stats.norm.ppf((np.arange(1, 4) - 3 / 8) / (3 + 1 - 3 / 4))
    np.testing.assert_allclose(table["theoretical"], expected)
