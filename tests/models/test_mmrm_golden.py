"""MMRM agreement with nlme::gls, emmeans (Satterthwaite) and, for compound symmetry, lme4.

The values in tests/models/golden/mmrm/*.json were produced by
make_mmrm_golden.R in that folder from the data in golden/mmrm/data: nlme's
Orthodont (balanced), Orthodont with 25 visits deleted at random
(unbalanced), BodyWeight at four days and Dialyzer (heterogeneous
variances), a simulated PREPARE-like trial with dropout depending on the
last value (unbalanced, heterogeneous) and a simulated complete balanced
trial. nlme::gls stops at its own tolerance, so the comparison is with the
tighter of its optim and nlminb fits; where the two engines differ, ours has
the lower criterion.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed

GOLDEN = Path(__file__).parent / "golden" / "mmrm"
DATASETS = [
    "orthodont",
    "orthodont_missing",
    "bodyweight",
    "dialyzer",
    "simulated_mar",
    "simulated_balanced",
]
TOL = 1e-6  # estimates, SEs and the criterion (relative; criterion absolute)
DF_REL = 0.01


@functools.cache
def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


@functools.cache
def data(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / "data" / f"{name}.csv")


def formula(name: str, structure: str) -> str:
    return f"y ~ {golden(name)['formula'].split('~')[1].strip()} + {structure}(visit | id)"


@functools.cache
def fitted(name: str, structure: str, method: str, df_method: str = "satterthwaite"):
    return fit_mixed(
        data(name), formula(name, structure), df_method=df_method, reml=method == "REML"
    )


def r_name(term: str) -> str:
    """Patsy coefficient name → R's (``sex[T.Male]`` → ``sexMale``)."""
    return "(Intercept)" if term == "Intercept" else term.replace("[T.", "").replace("]", "")


CASES = [
    pytest.param(name, i, id=f"{name}-{fit['structure']}-{fit['method']}")
    for name in DATASETS
    for i, fit in enumerate(golden(name)["fits"])
]


def gls_se(fit, std_errors: np.ndarray, method: str) -> np.ndarray:
    """Our SEs on nlme's scale: gls rescales its ML covariance of β̂ by N / (N − p)."""
    if method == "ML":
        n, p = fit.model.X.shape
        return std_errors * np.sqrt(n / (n - p))
    return std_errors


def in_r_order(fit, spec) -> np.ndarray:
    """Position of each of R's coefficients among ours (interactions named in any order)."""
    ours = [frozenset(r_name(t).split(":")) for t in fit.fixed_names]
    theirs = [frozenset(name.split(":")) for name in spec["coefficients"]]
    assert sorted(map(sorted, ours)) == sorted(map(sorted, theirs))
    return np.array([ours.index(name) for name in theirs])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_criterion_and_gls_estimates_at_the_same_covariance_match_gls(name, index):
    # At nlme's own estimate of Σ, our criterion, β̂ and SEs are nlme's: this
    # checks the likelihood and GLS computations free of optimiser tolerances.
    spec = golden(name)["fits"][index]
    fit = fitted(name, spec["structure"], spec["method"])
    order = in_r_order(fit, spec)
    at_nlme = fit.criterion.solve(np.array(spec["covariance"]))
    assert at_nlme["deviance"] == pytest.approx(-2 * spec["loglik"], abs=1e-8)
    reference = np.array(list(spec["coefficients"].values()))
    np.testing.assert_allclose(at_nlme["beta"][order], reference, rtol=1e-8, atol=1e-8)
    se = gls_se(fit, np.sqrt(np.diag(at_nlme["vcov"])), spec["method"])[order]
    np.testing.assert_allclose(se, list(spec["std_errors"].values()), rtol=1e-8)


@pytest.mark.parametrize(("name", "index"), CASES)
def test_fit_reaches_the_gls_optimum(name, index):
    # Our optimum: the criterion equals nlme's to 1e-6 (and is never worse);
    # estimates, SEs and Σ agree to the precision nlme's optimiser stops at.
    spec = golden(name)["fits"][index]
    fit = fitted(name, spec["structure"], spec["method"])
    assert fit.diagnostics["converged"]
    assert fit.deviance == pytest.approx(-2 * spec["loglik"], abs=TOL)
    assert fit.deviance <= -2 * spec["loglik"] + 1e-9
    order = in_r_order(fit, spec)
    reference = np.array(list(spec["coefficients"].values()))
    np.testing.assert_allclose(fit.beta[order], reference, rtol=5e-5, atol=TOL)
    se = gls_se(fit, np.sqrt(np.diag(fit.vcov)), spec["method"])[order]
    np.testing.assert_allclose(se, list(spec["std_errors"].values()), rtol=5e-5)
    sigma = np.array(spec["covariance"])
    np.testing.assert_allclose(
        fit.covariance_matrix.to_numpy(), sigma, rtol=0, atol=1e-4 * np.abs(sigma).max()
    )


REML_FITS = [
    pytest.param(name, i, id=f"{name}-{fit['structure']}")
    for name in DATASETS
    for i, fit in enumerate(golden(name)["fits"])
    if fit["method"] == "REML"
]


@pytest.mark.parametrize(("name", "index"), REML_FITS)
def test_contrasts_and_df_match_the_reference(name, index):
    # Reference df: make_mmrm_golden.R's dense re-computation at nlme's
    # estimate (numDeriv Satterthwaite; Kenward-Roger with the second-
    # derivative term). emmeans' own gls df (column emmeans_df) are not used:
    # they rest on nlme's numerical apVar and, for most heterogeneous
    # structures, on its "appx-satterthwaite" refits, and miss the exact
    # n - p of complete balanced unstructured data by up to 2 %.
    spec = golden(name)["fits"][index]
    reference = pd.DataFrame(spec["contrasts"])
    for df_method in ("satterthwaite", "kenward-roger"):
        column = df_method.replace("-", "_")
        fit = fitted(name, spec["structure"], "REML", df_method)
        mine = fit.emmeans(golden(name)["group"], by="visit").contrast("pairwise")
        assert list(mine["visit"].astype(str)) == list(reference["visit"])
        assert list(mine["contrast"]) == list(reference["contrast"])
        np.testing.assert_allclose(mine["estimate"], reference["estimate"], rtol=5e-5, atol=TOL)
        np.testing.assert_allclose(mine["df"], reference[column], rtol=DF_REL)
        if df_method == "kenward-roger":
            np.testing.assert_allclose(mine["std_error"], reference["kr_std_error"], rtol=5e-5)
        else:
            np.testing.assert_allclose(mine["std_error"], reference["std_error"], rtol=5e-5)


LMER_CS = [n for n in DATASETS if golden(n)["lmer_cs"]]


@pytest.mark.parametrize("name", LMER_CS)
@pytest.mark.parametrize("df_method", ["kenward-roger", "satterthwaite"])
def test_compound_symmetry_df_match_the_random_intercept_lmer(name, df_method):
    # With a positive correlation, cs(visit | id) is the model y ~ ... + (1 | id):
    # pbkrtest (Kenward-Roger) and lmerTest (Satterthwaite) are references.
    reference = golden(name)["lmer_cs"]
    fit = fitted(name, "cs", "REML", df_method)
    assert fit.deviance == pytest.approx(reference["deviance"], abs=TOL)
    mine = fit.emmeans(golden(name)["group"], by="visit").contrast("pairwise")
    expected = pd.DataFrame(reference[df_method.replace("-", "_")])
    np.testing.assert_allclose(mine["estimate"], expected["estimate"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(mine["std_error"], expected["std_error"], rtol=1e-5)
    np.testing.assert_allclose(mine["df"], expected["df"], rtol=DF_REL)


def test_lmer_reference_exists_for_at_least_three_datasets():
    assert len(LMER_CS) >= 3
