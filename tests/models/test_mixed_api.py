"""fit_mixed: diagnostics, boundary fits, contrasts, errors, ICC and design effect."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed
from trialanalysis.errors import ModelSpecificationError, TrialAnalysisError
from trialanalysis.models import MixedModelConvergenceWarning, design_effect
from trialanalysis.models import fitting as fitting_module
from trialanalysis.models import mixed as mixed_module

DATA = Path(__file__).parent / "golden" / "data"
SW_FORMULA = (
    "odi_total ~ period + treatment + odi_baseline + (1 | clinic_id) + (1 | clinic_id:patient_id)"
)


@functools.cache
def data(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


@functools.cache
def stepped_wedge_fit():
    return fit_mixed(data("stepped_wedge"), SW_FORMULA)


def test_coefficients_table_has_the_contract_columns_and_names():
    table = stepped_wedge_fit().coefficients
    assert list(table.columns) == [
        "term",
        "estimate",
        "std_error",
        "df",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
        "df_method",
    ]
    assert list(table["term"]) == [
        "Intercept",
        "period[T.p2]",
        "period[T.p3]",
        "period[T.p4]",
        "treatment",
        "odi_baseline",
    ]
    assert (table["conf_low"] < table["estimate"]).all()
    assert (table["estimate"] < table["conf_high"]).all()


def test_diagnostics_count_rows_groups_and_missing_values():
    diagnostics = stepped_wedge_fit().diagnostics
    frame = data("stepped_wedge")
    assert diagnostics["n_rows"] == len(frame)
    assert diagnostics["n_dropped"] == int(frame["odi_total"].isna().sum())
    assert diagnostics["n_used"] == len(frame) - diagnostics["n_dropped"]
    assert diagnostics["missing_by_column"] == {"odi_total": diagnostics["n_dropped"]}
    assert diagnostics["groups"] == {
        "clinic_id": 17,
        "clinic_id:patient_id": frame.dropna(subset=["odi_total"])["patient_id"].nunique(),
    }
    assert diagnostics["converged"] and diagnostics["optimizer"] == "L-BFGS-B"
    assert not diagnostics["boundary"] and not diagnostics["singular"]
    table = stepped_wedge_fit().diagnostics_table()
    assert list(table.columns) == ["item", "value"]
    assert "n_dropped" in set(table["item"])


def test_missing_covariate_rows_are_dropped_and_counted():
    fit = fit_mixed(data("unbalanced"), "y ~ arm + visit + age + (1 | clinic_id)")
    frame = data("unbalanced")
    incomplete = frame["y"].isna() | frame["age"].isna()
    assert fit.diagnostics["n_dropped"] == int(incomplete.sum())
    assert fit.diagnostics["missing_by_column"] == {
        "y": int(frame["y"].isna().sum()),
        "age": int(frame["age"].isna().sum()),
    }


def test_boundary_fit_equals_fit_without_the_zero_variance_term():
    """Guard against statsmodels#10239: a zero variance must not corrupt β."""
    frame = data("boundary")
    full = fit_mixed(frame, "y ~ treatment + x + (1 | clinic_id) + (1 | clinic_id:patient_id)")
    reduced = fit_mixed(frame, "y ~ treatment + x + (1 | clinic_id:patient_id)")
    assert full.diagnostics["boundary"] and full.diagnostics["singular"]
    assert full.diagnostics["boundary_terms"] == ["(Intercept) | clinic_id"]
    assert "without that random effect" in full.diagnostics["notes"][0]
    np.testing.assert_allclose(full.beta, reduced.beta, rtol=1e-7)
    np.testing.assert_allclose(full.vcov, reduced.vcov, rtol=1e-6)
    np.testing.assert_allclose(full.coefficients["df"], reduced.coefficients["df"], rtol=1e-4)
    assert full.coefficients.loc[1, "estimate"] != 0.0  # the between-cluster effect survives


def test_non_convergence_is_reported_not_silent(monkeypatch):
    monkeypatch.setattr(fitting_module, "GRADIENT_TOL", 0.0)
    with pytest.warns(MixedModelConvergenceWarning, match="convergence"):
        fit = fit_mixed(data("balanced"), "y ~ treatment + (1 | clinic_id)")
    assert not fit.diagnostics["converged"]
    tried = [a["optimizer"] for a in fit.diagnostics["optimizer_attempts"]]
    assert tried == ["L-BFGS-B", "Nelder-Mead", "Powell"]


def test_warnings_during_fitting_are_captured(monkeypatch):
    real = mixed_module.optimise

    def noisy(criterion):
        warnings.warn("something odd in the optimiser", RuntimeWarning, stacklevel=1)
        return real(criterion)

    monkeypatch.setattr(mixed_module, "optimise", noisy)
    fit = fit_mixed(data("balanced"), "y ~ treatment + (1 | clinic_id)")
    assert "something odd in the optimiser" in fit.diagnostics["warnings"]


def test_ml_and_reml_differ_and_kr_needs_reml():
    frame = data("balanced")
    reml = fit_mixed(frame, "y ~ treatment + (1 | clinic_id)")
    ml = fit_mixed(frame, "y ~ treatment + (1 | clinic_id)", reml=False)
    clinic = [
        fit.variance_components_table(intervals=False)["estimate"].iloc[0] for fit in (ml, reml)
    ]
    assert clinic[0] < clinic[1]  # ML shrinks the between-clinic variance
    with pytest.raises(ModelSpecificationError, match="REML"):
        fit_mixed(frame, "y ~ treatment + (1 | clinic_id)", reml=False, df_method="kenward-roger")


def test_z_method_is_labelled_asymptotic_and_narrower():
    fit = stepped_wedge_fit()
    z = fit.coefficients_for("z")
    t = fit.coefficients
    assert set(z["df_method"]) == {"z (asymptotic)"}
    assert np.isinf(z["df"]).all()
    assert ((z["conf_high"] - z["conf_low"]) < (t["conf_high"] - t["conf_low"])).all()
    residual = fit.coefficients_for("residual")
    assert set(residual["df"]) == {fit.diagnostics["n_used"] - 6}


def test_contrast_accepts_vectors_dicts_and_frames():
    fit = stepped_wedge_fit()
    by_vector = fit.contrast([0, 0, 0, 1, -1, 0])
    by_dict = fit.contrast({"p4 vs treatment": {"period[T.p4]": 1, "treatment": -1}})
    by_frame = fit.contrast(pd.DataFrame({"period[T.p4]": [1.0], "treatment": [-1.0]}))
    for other in (by_dict, by_frame):
        np.testing.assert_allclose(
            other[["estimate", "std_error", "df"]], by_vector[["estimate", "std_error", "df"]]
        )
    assert by_dict["contrast"].iloc[0] == "p4 vs treatment"
    treatment = fit.coefficients.iloc[4]
    single = fit.contrast({"t": {"treatment": 1}}).iloc[0]
    assert single["estimate"] == treatment["estimate"]
    assert single["df"] == pytest.approx(treatment["df"])


def test_joint_f_test_of_one_row_is_the_squared_t():
    fit = stepped_wedge_fit()
    row = fit.coefficients.iloc[4]
    test = fit.f_test({"treatment": {"treatment": 1}})
    assert test["statistic"] == pytest.approx(row["statistic"] ** 2)
    assert test["den_df"] == pytest.approx(row["df"])
    assert test["p_value"] == pytest.approx(row["p_value"])


@pytest.mark.parametrize(
    ("contrast", "message"),
    [
        ([1, 0], "needs 6 weights"),
        ({"bad": {"nope": 1}}, "unknown coefficient"),
        (pd.DataFrame({"nope": [1.0]}), "unknown coefficient"),
    ],
)
def test_bad_contrasts_are_refused(contrast, message):
    with pytest.raises(ModelSpecificationError, match=message):
        stepped_wedge_fit().contrast(contrast)


def test_between_within_refuses_crossed_factors():
    fit = fit_mixed(data("crossed"), "y ~ x + (1 | rater) + (1 | item)")
    with pytest.raises(ModelSpecificationError, match="nested"):
        fit.coefficients_for("between-within")


@pytest.mark.parametrize(
    ("frame_edit", "formula", "message"),
    [
        (None, "y ~ treatment + (1 | nope)", "not in the data"),
        (None, "y ~ twice + treatment + (1 | clinic_id)", "treatment effect is not estimable"),
        (None, "clinic_id ~ treatment + (1 | clinic_id)", "must be numeric"),
        (None, "y ~ treatment + (1 | one)", "at least 2"),
        (None, "y ~ treatment + (1 | row)", "as many levels"),
        (None, "constant ~ treatment + (1 | clinic_id)", "constant"),
        (None, "y ~ treatment + (1 + nope | clinic_id)", "column\\(s\\) not in the data: nope"),
        (None, "empty ~ treatment + (1 | clinic_id)", "no complete rows"),
        (None, "y ~ treatment + (1 | clinic_id)", None),
    ],
)
def test_bad_models_raise_clear_errors(frame_edit, formula, message):
    frame = data("balanced").assign(
        twice=lambda d: 2 * d["treatment"],
        one="x",
        row=lambda d: np.arange(len(d)),
        constant=5.0,
        empty=np.nan,
    )
    if message is None:
        assert fit_mixed(frame, formula).diagnostics["converged"]
        return
    with pytest.raises(TrialAnalysisError, match=message):
        fit_mixed(frame, formula)


def test_bad_df_method_and_level_are_refused():
    with pytest.raises(ModelSpecificationError, match="df_method"):
        fit_mixed(data("balanced"), "y ~ treatment + (1 | clinic_id)", df_method="wald")
    with pytest.raises(ModelSpecificationError, match="level"):
        fit_mixed(data("balanced"), "y ~ treatment + (1 | clinic_id)", level=95)


def test_emmeans_refuses_unknown_factors_and_methods():
    fit = stepped_wedge_fit()
    with pytest.raises(ModelSpecificationError, match="not factors"):
        fit.emmeans("arm")
    emm = fit.emmeans("period")
    with pytest.raises(ModelSpecificationError, match="not one of"):
        emm.contrast("tukey")
    changes = emm.contrast("trt.vs.ctrl", ref="p1")
    assert list(changes["contrast"]) == ["p2 - p1", "p3 - p1", "p4 - p1"]


def test_emmeans_hold_covariates_at_their_mean():
    fit = stepped_wedge_fit()
    emm = fit.emmeans("period")
    used = data("stepped_wedge").dropna(subset=["odi_total"])
    beta = dict(zip(fit.fixed_names, fit.beta, strict=True))
    expected_p1 = (
        beta["Intercept"]
        + beta["treatment"] * used["treatment"].mean()
        + beta["odi_baseline"] * used["odi_baseline"].mean()
    )
    assert emm.table["estimate"].iloc[0] == pytest.approx(expected_p1)


def test_design_effect_formula_by_hand():
    # mean 20, population CV² = 1/6: 1 + ((1/6 + 1) * 20 - 1) * 0.05
    assert design_effect([10, 20, 30], 0.05) == pytest.approx(1 + (70 / 3 - 1) * 0.05)
    assert design_effect([8, 8, 8, 8], 0.1) == pytest.approx(1.7)
    with pytest.raises(ModelSpecificationError):
        design_effect([10, 0], 0.1)
    with pytest.raises(ModelSpecificationError):
        design_effect([10, 20], 1.5)


def test_fit_design_effect_uses_the_estimated_icc_and_cluster_sizes():
    fit = stepped_wedge_fit()
    table = fit.design_effect(group="clinic_id", unit="patient_id")
    row = table.iloc[0]
    used = data("stepped_wedge").dropna(subset=["odi_total"])
    sizes = used.groupby("clinic_id")["patient_id"].nunique()
    icc = fit.icc().set_index("group").loc["clinic_id"]
    assert row["n_clusters"] == 17 and row["total"] == sizes.sum()
    assert row["mean_size"] == pytest.approx(sizes.mean())
    assert row["icc"] == pytest.approx(icc["icc"])
    assert row["design_effect"] == pytest.approx(design_effect(sizes, icc["icc"]))
    assert row["conf_low"] < row["design_effect"] < row["conf_high"]


def test_icc_is_refused_with_random_slopes():
    fit = fit_mixed(data("slopes"), "y ~ time * arm + (1 + time | patient_id)")
    with pytest.raises(ModelSpecificationError, match="random-intercept"):
        fit.icc()


def test_random_slope_correlation_is_reported():
    fit = fit_mixed(data("slopes"), "y ~ time * arm + (1 + time | patient_id)")
    table = fit.variance_components_table(intervals=False)
    assert list(table["parameter"]) == ["variance", "correlation", "variance", "variance"]
    assert -1 <= table["estimate"].iloc[1] <= 1


def test_collinear_columns_are_dropped_as_lme4_does():
    frame = data("balanced").assign(twice=lambda d: 2 * d["clinic_volume"])
    full = fit_mixed(frame, "y ~ treatment + clinic_volume + twice + (1 | clinic_id)")
    reduced = fit_mixed(frame, "y ~ treatment + clinic_volume + (1 | clinic_id)")
    assert full.diagnostics["dropped_columns"] == ["twice"]
    assert any("dropped twice" in note for note in full.diagnostics["notes"])
    pd.testing.assert_frame_equal(full.coefficients, reduced.coefficients)
    assert list(full.anova()["term"]) == list(reduced.anova()["term"])
