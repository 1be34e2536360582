"""MMRM engine: closed forms, covariance structures, the result API and its refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed
from trialanalysis.cli.main import main
from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.covariance import (
    STRUCTURES,
    Structure,
    pacf_to_acf,
    split_covariance_term,
)
from trialanalysis.models.mmrm import MMRMResult

BALANCED = Path(__file__).parent / "golden" / "mmrm" / "data" / "simulated_balanced.csv"
MAR = Path(__file__).parent / "golden" / "mmrm" / "data" / "simulated_mar.csv"
FIXED = "y ~ arm * visit + base * visit"


@pytest.fixture(scope="module")
def balanced():
    return pd.read_csv(BALANCED)


@pytest.fixture(scope="module")
def us_fit(balanced):
    return fit_mixed(balanced, f"{FIXED} + us(visit | id)", df_method="kenward-roger")


# ---------------------------------------------------------------- closed form


def test_unstructured_on_complete_balanced_data_is_multivariate_regression(balanced, us_fit):
    # With every visit observed and the same between-subject design at every
    # visit, GLS with Σ unstructured equals OLS per visit; the REML Σ̂ is the
    # residual cross-product / (n - p) and every per-visit contrast is an
    # exact t on n - p df (n = 40 subjects, p = 3: intercept, arm, base).
    n, p = balanced["id"].nunique(), 3
    emm = us_fit.emmeans("arm", by="visit")
    residuals = []
    for method in ("kenward-roger", "satterthwaite"):
        table = (
            emm.contrast("revpairwise")
            if method == "kenward-roger"
            else (us_fit.emmeans("arm", by="visit", df_method=method).contrast("revpairwise"))
        )
        for row in table.itertuples():
            visit = balanced[balanced["visit"] == row.visit]
            X = np.column_stack(
                [np.ones(len(visit)), visit["arm"] == "treat", visit["base"]]
            ).astype(float)
            coef, rss, *_ = np.linalg.lstsq(X, visit["y"], rcond=None)
            s2 = rss[0] / (n - p)
            se = np.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])
            assert row.estimate == pytest.approx(coef[1], rel=1e-8)
            assert row.std_error == pytest.approx(se, rel=1e-6)
            assert row.df == pytest.approx(n - p, rel=1e-6)
            if method == "satterthwaite":
                residuals.append(visit["y"].to_numpy() - X @ coef)
    cross = np.array(residuals) @ np.array(residuals).T / (n - p)
    np.testing.assert_allclose(us_fit.covariance_matrix.to_numpy(), cross, rtol=1e-6)


def test_kenward_roger_f_test_of_three_visits_is_hotelling(us_fit, balanced):
    # A joint test of the arm-by-visit interaction (2 numerator df) in a
    # multivariate regression is an exact F on n - p - q + 1 = 36 df.
    table = us_fit.anova().set_index("term")
    assert table.loc["arm:visit", "num_df"] == 2
    assert table.loc["arm:visit", "den_df"] == pytest.approx(36, rel=1e-6)
    # and the unadjusted KR covariance equals the model-based one here
    np.testing.assert_allclose(us_fit.vcov_for("kenward-roger"), us_fit.vcov, rtol=1e-6)


# ------------------------------------------------------ covariance structures


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_natural_parameters_reproduce_the_matrix(name):
    structure = Structure(name, 4)
    rng = np.random.default_rng(3)
    theta = rng.normal(0, 0.5, structure.n_theta)
    sigma = structure.matrix(theta)
    assert np.all(np.linalg.eigvalsh(sigma) > 0)
    np.testing.assert_allclose(structure.matrix_natural(structure.natural(theta)), sigma)
    assert len(structure.natural_names(["a", "b", "c", "d"])) == structure.n_theta
    # complex-step Jacobian against central differences
    h = 1e-6
    for k in range(structure.n_theta):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (structure.matrix(up) - structure.matrix(down)) / (2 * h)
        np.testing.assert_allclose(structure.jacobian(theta)[k], numeric, atol=1e-7)


def test_structures_have_the_stated_pattern():
    theta = np.array([np.log(2.0), np.arctanh(0.5)])
    ar1 = Structure("ar1", 3).matrix(theta)
    np.testing.assert_allclose(ar1, 4 * np.array([[1, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 1]]))
    cs = Structure("cs", 3).matrix_natural(np.array([1.0, 3.0]))
    np.testing.assert_allclose(cs, np.full((3, 3), 1.0) + 3 * np.eye(3))
    toep = Structure("toep", 3).matrix_natural(np.array([5.0, 2.0, 1.0]))
    np.testing.assert_allclose(toep, [[5, 2, 1], [2, 5, 2], [1, 2, 5]])


def test_partial_autocorrelations_give_the_autocorrelations_of_an_ar_process():
    # AR(1) with coefficient 0.6: partial autocorrelations 0.6, 0, 0 → 0.6, 0.36, 0.216
    np.testing.assert_allclose(pacf_to_acf(np.array([0.6, 0.0, 0.0])), [0.6, 0.36, 0.216])
    # any partial autocorrelations in (-1, 1) give a positive-definite Toeplitz matrix
    rng = np.random.default_rng(1)
    for _ in range(20):
        rho = pacf_to_acf(rng.uniform(-0.99, 0.99, 5))
        matrix = np.r_[1.0, rho][np.abs(np.subtract.outer(np.arange(6), np.arange(6)))]
        assert np.linalg.eigvalsh(matrix).min() > 0


# ---------------------------------------------------------------- formula


def test_split_covariance_term():
    rest, term = split_covariance_term("y ~ arm * visit + us(visit | id) + base")
    assert rest == "y ~ arm * visit + base"
    assert (term.structure, term.visit, term.subject) == ("us", "visit", "id")
    assert term.label == "us(visit | id)"
    assert split_covariance_term("y ~ x + (1 | g)") == ("y ~ x + (1 | g)", None)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x + us(visit | id) + ar1(visit | id)", "2 covariance terms"),
        ("y ~ x + us(visit:time | id)", "must read structure(visit | subject)"),
        ("y ~ x + toep(visit)", "must read structure(visit | subject)"),
        ("y ~ x + us(id | id)", "different columns"),
    ],
)
def test_malformed_covariance_terms_are_refused(formula, message):
    with pytest.raises(
        ModelSpecificationError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        split_covariance_term(formula)


# ------------------------------------------------------------------- API


def test_result_has_the_mixed_model_api(us_fit):
    assert isinstance(us_fit, MMRMResult)
    assert list(us_fit.coefficients.columns[:3]) == ["term", "estimate", "std_error"]
    assert us_fit.diagnostics["covariance"].startswith("us(visit | id)")
    assert us_fit.diagnostics["groups"] == {"id": 40}
    components = us_fit.variance_components
    assert set(components["parameter"]) == {"variance", "covariance", "correlation"}
    assert len(us_fit.covariance_parameters) == 6
    table = us_fit.diagnostics_table()
    assert "covariance" in set(table["item"])
    contrast = us_fit.contrast({"arm": {"arm[T.treat]": 1}})
    assert contrast["estimate"].iloc[0] == pytest.approx(us_fit.beta[1])


@pytest.mark.parametrize("call", ["icc", "random_effects", "design_effect", "cluster_sizes"])
def test_random_effect_summaries_are_refused_with_a_reason(us_fit, call):
    with pytest.raises(ModelSpecificationError, match="no random effects"):
        getattr(us_fit, call)()


def test_between_within_and_kr_under_ml_are_refused(balanced):
    with pytest.raises(ModelSpecificationError, match="between-within"):
        fit_mixed(balanced, f"{FIXED} + us(visit | id)", df_method="between-within")
    with pytest.raises(ModelSpecificationError, match="REML"):
        fit_mixed(balanced, f"{FIXED} + us(visit | id)", df_method="kenward-roger", reml=False)


def test_random_effect_terms_with_a_covariance_term_are_refused(balanced):
    with pytest.raises(ModelSpecificationError, match="cannot yet be combined"):
        fit_mixed(balanced, f"{FIXED} + (1 | id) + cs(visit | id)")


def test_data_problems_are_explained(balanced):
    with pytest.raises(ModelSpecificationError, match="repeat a id-visit pair"):
        fit_mixed(pd.concat([balanced, balanced.head(2)]), f"{FIXED} + us(visit | id)")
    with pytest.raises(ModelSpecificationError, match=r"column.*wave"):
        fit_mixed(balanced, f"{FIXED} + us(wave | id)")
    early = balanced["id"].isin(balanced["id"].unique()[:20])
    gap = balanced[
        ~((early & (balanced["visit"] == "v3")) | (~early & (balanced["visit"] == "v1")))
    ]
    with pytest.raises(ModelSpecificationError, match="no subject is observed at both v3 and v1"):
        fit_mixed(gap, "y ~ visit + us(visit | id)")
    assert fit_mixed(gap, "y ~ visit + ar1h(visit | id)").diagnostics["converged"]
    one = balanced[balanced["visit"] == "v1"]
    with pytest.raises(ModelSpecificationError):
        fit_mixed(one, "y ~ arm + us(visit | id)")


def test_incomplete_rows_are_dropped_and_counted():
    data = pd.read_csv(MAR)
    data.loc[[0, 5], "base"] = np.nan
    data.loc[3, "visit"] = None
    fit = fit_mixed(data, f"{FIXED} + ar1(visit | id)")
    assert fit.diagnostics["n_dropped"] == 3
    assert fit.diagnostics["n_used"] == len(data) - 3
    assert len(fit.model.rows_used) == len(data) - 3
    assert 3 not in set(fit.model.rows_used)


def test_visit_order_follows_categories_and_results_do_not_depend_on_row_order(balanced):
    shuffled = balanced.sample(frac=1, random_state=4).reset_index(drop=True)
    shuffled["visit"] = pd.Categorical(shuffled["visit"], categories=["v3", "v2", "v1"])
    fit = fit_mixed(shuffled, "y ~ arm + base + ar1h(visit | id)")
    assert fit.visits == ["v3", "v2", "v1"]
    again = fit_mixed(balanced, "y ~ arm + base + ar1h(visit | id)")
    # reversing the visits reverses Σ
    np.testing.assert_allclose(
        fit.covariance_matrix.to_numpy()[::-1, ::-1], again.covariance_matrix.to_numpy(), rtol=1e-6
    )
    assert fit.deviance == pytest.approx(again.deviance, abs=1e-8)


def test_fit_command_fits_an_mmrm(tmp_path, capsys):
    out = tmp_path / "mmrm.csv"
    formula = f"{FIXED} + us(visit | id)"
    status = main(
        [
            "fit",
            str(BALANCED),
            "--formula",
            formula,
            "--df-method",
            "kenward-roger",
            "-o",
            str(out),
        ]
    )
    assert status == 0
    written = pd.read_csv(out)
    expected = fit_mixed(pd.read_csv(BALANCED), formula).coefficients_for("kenward-roger")
    pd.testing.assert_frame_equal(written, expected, check_exact=False, rtol=1e-10)
    variance = pd.read_csv(tmp_path / "mmrm_variance.csv")
    assert (variance["group"] == "us(visit | id)").all()


def test_fit_command_reports_a_refused_df_method_without_traceback(tmp_path, capsys):
    status = main(
        ["fit", str(BALANCED), "--formula", f"{FIXED} + us(visit | id)",
         "--df-method", "between-within", "-o", str(tmp_path / "x.csv")]
    )  # fmt: skip
    assert status != 0
    err = capsys.readouterr().err
    assert "between-within" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()
