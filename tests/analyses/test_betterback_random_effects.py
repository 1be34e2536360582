"""MixedModelResult.random_effects() against lme4's ranef(condVar = TRUE)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "models" / "golden" / "data"
GOLDEN = pd.read_csv(HERE / "golden" / "ranef_golden.csv")
MODELS = {
    "nested": (
        "nested.csv",
        "y ~ arm * timepoint + age + (1 | clinic_id) + (1 | clinic_id:therapist_id)"
        " + (1 | patient_id)",
    ),
    "slopes": ("slopes.csv", "y ~ time * arm + (1 + time | patient_id)"),
    "boundary": (
        "boundary.csv",
        "y ~ treatment + x + (1 | clinic_id) + (1 | clinic_id:patient_id)",
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conditional_modes_and_sds_match_lme4(name):
    file, formula = MODELS[name]
    fit = fit_mixed(pd.read_csv(DATA / file), formula)
    ours = fit.random_effects()
    assert list(ours.columns) == ["group", "level", "term", "estimate", "cond_sd"]
    golden = GOLDEN[GOLDEN["model"] == name]
    assert len(ours) == len(golden)
    merged = ours.merge(golden, on=["group", "level", "term"], suffixes=("", "_r"))
    assert len(merged) == len(golden)
    scale = golden["estimate"].abs().max()
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], atol=2e-5 * scale)
    np.testing.assert_allclose(merged["cond_sd"], merged["cond_sd_r"], rtol=2e-4, atol=1e-7)


def test_a_boundary_term_has_zero_modes_and_zero_conditional_sd():
    file, formula = MODELS["boundary"]
    fit = fit_mixed(pd.read_csv(DATA / file), formula)
    table = fit.random_effects()
    assert fit.diagnostics["boundary_terms"] == ["(Intercept) | clinic_id"]
    at_zero = table[table["group"] == "clinic_id"]
    assert len(at_zero) > 0 and table["estimate"].abs().max() > 0.1
    assert np.allclose(at_zero["estimate"], 0) and np.allclose(at_zero["cond_sd"], 0)


def test_single_random_intercept_matches_the_closed_form():
    # One random intercept: b_j = λ² n_j / (1 + λ² n_j) * mean residual, and
    # Var(b_j | y) = σ² λ² / (1 + λ² n_j) with λ = σ_b / σ.
    rng = np.random.default_rng(3)
    sizes = [3, 7, 12, 5, 9]
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    effects = np.repeat(rng.normal(0, 2, len(sizes)), sizes)
    frame = pd.DataFrame({"g": groups, "y": 10 + effects + rng.normal(0, 1, len(groups))})
    fit = fit_mixed(frame, "y ~ 1 + (1 | g)")
    ratio = fit.theta[0] ** 2
    residual = frame["y"] - fit.beta[0]
    n = frame.groupby("g").size()
    expected = ratio * n / (1 + ratio * n) * residual.groupby(frame["g"]).mean()
    sd = np.sqrt(fit.sigma**2 * ratio / (1 + ratio * n))
    table = fit.random_effects().set_index("level")
    np.testing.assert_allclose(table["estimate"], expected.loc[table.index], rtol=1e-8)
    np.testing.assert_allclose(table["cond_sd"], sd.loc[table.index], rtol=1e-8)
