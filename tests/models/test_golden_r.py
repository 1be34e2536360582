"""Agreement with lme4, lmerTest, pbkrtest, emmeans and nlme (golden values).

The values in tests/models/golden/*.json were produced by make_golden.R in
that folder from the data sets in golden/data. Tolerances are those of the
project's acceptance criteria: estimates and standard errors 1e-4 relative,
degrees of freedom 1 %, p-values 0.002 absolute.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed

GOLDEN = Path(__file__).parent / "golden"
DESIGNS = [
    "balanced",
    "unbalanced",
    "unbalanced_ml",
    "nested",
    "nested_slopes",
    "slopes",
    "slopes_uncorrelated",
    "stepped_wedge",
    "boundary",
    "crossed",
]
REML_DESIGNS = [d for d in DESIGNS if d != "unbalanced_ml"]
REL, DF_REL, P_ABS = 1e-4, 0.01, 0.002


@functools.cache
def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


@functools.cache
def fitted(name: str):
    spec = golden(name)
    data = pd.read_csv(GOLDEN / "data" / spec["data"])
    return fit_mixed(data, spec["formula"], reml=spec["reml"])


def r_name(term: str) -> str:
    """patsy coefficient name → R's (``arm[T.b]`` → ``armb``)."""
    return "(Intercept)" if term == "Intercept" else term.replace("[T.", "").replace("]", "")


def same_group(mine: pd.Series, r_group: str) -> pd.Series:
    """Match grouping factors by their variables (lme4 writes nesting as ``b:(a)``)."""
    wanted = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", r_group.split(".")[0]))
    return mine.map(lambda g: set(g.split(":")) == wanted)


def assert_t_table(mine: pd.DataFrame, reference: list[dict]) -> None:
    ref = pd.DataFrame(reference)
    assert len(mine) == len(ref)
    np.testing.assert_allclose(mine["estimate"], ref["estimate"], rtol=REL, atol=1e-10)
    np.testing.assert_allclose(mine["std_error"], ref["std_error"], rtol=REL)
    np.testing.assert_allclose(mine["statistic"], ref["statistic"], rtol=REL, atol=1e-8)
    np.testing.assert_allclose(mine["df"], ref["df"], rtol=DF_REL)
    np.testing.assert_allclose(mine["p_value"], ref["p_value"], atol=P_ABS)


@pytest.mark.parametrize("name", DESIGNS)
def test_fit_matches_lme4(name):
    spec, fit = golden(name), fitted(name)
    assert fit.diagnostics["converged"]
    assert fit.diagnostics["n_used"] == spec["n_used"]
    assert fit.deviance == pytest.approx(spec["deviance"], rel=1e-8)
    assert fit.sigma == pytest.approx(spec["sigma"], rel=REL)
    assert fit.diagnostics["singular"] == spec["singular"]
    np.testing.assert_allclose(fit.vcov, np.array(spec["vcov"]), rtol=REL, atol=1e-12)
    assert [r_name(t) for t in fit.fixed_names] == [r["term"] for r in spec["satterthwaite"]]


@pytest.mark.parametrize("name", DESIGNS)
def test_satterthwaite_matches_lmertest(name):
    assert_t_table(fitted(name).coefficients, golden(name)["satterthwaite"])


@pytest.mark.parametrize("name", REML_DESIGNS)
def test_kenward_roger_matches_pbkrtest(name):
    fit, spec = fitted(name), golden(name)
    assert_t_table(fit.coefficients_for("kenward-roger"), spec["kenward_roger"])
    np.testing.assert_allclose(
        fit.vcov_for("kenward-roger"), np.array(spec["vcov_kenward_roger"]), rtol=REL, atol=1e-12
    )


@pytest.mark.parametrize(
    ("name", "method"),
    [(n, "satterthwaite") for n in DESIGNS] + [(n, "kenward-roger") for n in REML_DESIGNS],
)
def test_type3_anova_matches_lmertest(name, method):
    spec = golden(name)
    key = "anova_" + method.replace("-", "_")
    mine, ref = fitted(name).anova(method), pd.DataFrame(spec[key])
    assert list(mine["term"]) == list(ref["term"])
    np.testing.assert_array_equal(mine["num_df"], ref["num_df"])
    np.testing.assert_allclose(mine["den_df"], ref["den_df"], rtol=DF_REL)
    np.testing.assert_allclose(mine["statistic"], ref["statistic"], rtol=REL)
    np.testing.assert_allclose(mine["p_value"], ref["p_value"], atol=P_ABS)


@pytest.mark.parametrize("name", DESIGNS)
def test_variance_components_match_varcorr(name):
    table = fitted(name).variance_components_table(intervals=False)
    ref = pd.DataFrame(golden(name)["varcorr"])
    for _, row in ref.iterrows():
        if row["group"] == "Residual":
            mine = table[table["group"] == "Residual"]
            assert mine["std_dev"].iloc[0] == pytest.approx(row["sdcor"], rel=REL)
            continue
        group = same_group(table["group"], row["group"])
        if row["var2"]:
            mine = table[(table["parameter"] == "correlation") & group]
            assert mine["estimate"].iloc[0] == pytest.approx(row["sdcor"], rel=REL, abs=1e-6)
        else:
            mine = table[
                (table["parameter"] == "variance") & group & (table["term"] == row["var1"])
            ]
            assert len(mine) == 1
            assert mine["estimate"].iloc[0] == pytest.approx(row["vcov"], rel=REL, abs=1e-10)


@pytest.mark.parametrize("name", ["balanced", "unbalanced", "nested", "stepped_wedge", "boundary"])
def test_between_within_matches_nlme(name):
    fit = fitted(name)
    ref = golden(name)["between_within"]
    mine = fit.coefficients_for("between-within")
    np.testing.assert_array_equal(mine["df"], pd.DataFrame(ref["coefficients"])["df"])
    terms = pd.DataFrame(ref["terms"]).set_index("term")["den_df"]
    for _, row in fit.anova("between-within").iterrows():
        assert row["den_df"] == terms[r_name(row["term"])]


@pytest.mark.parametrize("name", ["balanced", "nested", "stepped_wedge"])
def test_custom_contrasts_match_contest(name):
    fit = fitted(name)
    for item in golden(name)["contrasts"]:
        weights = np.array(item["L"], dtype=float)
        for method in ("satterthwaite", "kenward-roger"):
            ref = item[method.replace("-", "_")][0]
            mine = fit.contrast(weights, df_method=method).iloc[0]
            assert mine["estimate"] == pytest.approx(ref["Estimate"], rel=REL)
            assert mine["std_error"] == pytest.approx(ref["Std. Error"], rel=REL)
            assert mine["df"] == pytest.approx(ref["df"], rel=DF_REL)
            assert mine["conf_low"] == pytest.approx(ref["lower"], rel=REL)
            assert mine["conf_high"] == pytest.approx(ref["upper"], rel=REL)
            assert mine["p_value"] == pytest.approx(ref["Pr(>|t|)"], abs=P_ABS)


def _emm_cases():
    for name in DESIGNS:
        for index, item in enumerate(golden(name).get("emmeans", [])):
            for method in ("satterthwaite", "kenward-roger"):
                if method in item:
                    yield pytest.param(name, index, method, id=f"{name}-{index}-{method}")


@pytest.mark.parametrize(("name", "index", "method"), list(_emm_cases()))
def test_emmeans_and_contrasts_match_emmeans(name, index, method):
    item = golden(name)["emmeans"][index]
    by = item.get("by") or None
    emm = fitted(name).emmeans(item["spec"], by=by, at=item.get("at") or None, df_method=method)
    specs = [item["spec"]] if isinstance(item["spec"], str) else item["spec"]
    keys = specs + ([] if by is None else [by])
    ref = pd.DataFrame(item[method]["emmeans"])
    merged = ref.merge(emm.table, on=keys, suffixes=("_r", ""))
    assert len(merged) == len(ref) == len(emm.table)
    for column, tol in [("estimate", REL), ("std_error", REL), ("conf_low", REL)]:
        np.testing.assert_allclose(merged[column], merged[column + "_r"], rtol=tol)
    np.testing.assert_allclose(merged["df"], merged["df_r"], rtol=DF_REL)
    if item.get("interaction"):
        contrasts = emm.contrast(interaction=item["interaction"])
    else:
        contrasts = emm.contrast(item["method"])
    ref_con = pd.DataFrame(item[method]["contrasts"])
    assert len(contrasts) == len(ref_con)
    if not item.get("interaction"):
        assert list(contrasts["contrast"]) == list(ref_con["contrast"])
    np.testing.assert_allclose(contrasts["estimate"], ref_con["estimate"], rtol=REL)
    np.testing.assert_allclose(contrasts["std_error"], ref_con["std_error"], rtol=REL)
    np.testing.assert_allclose(contrasts["df"], ref_con["df"], rtol=DF_REL)
    np.testing.assert_allclose(contrasts["p_value"], ref_con["p_value"], atol=P_ABS)


@pytest.mark.parametrize("name", ["balanced", "stepped_wedge"])
def test_reml_profile_intervals_match_independent_r_code(name):
    table = fitted(name).variance_components
    ref = pd.DataFrame(golden(name)["reml_profile_ci"])
    for _, row in ref.iterrows():
        mine = table[same_group(table["group"], row["group"])].iloc[0]
        assert mine["std_dev"] == pytest.approx(row["estimate"], rel=REL)
        assert np.sqrt(mine["conf_low"]) == pytest.approx(row["lower"], rel=1e-4, abs=1e-6)
        assert np.sqrt(mine["conf_high"]) == pytest.approx(row["upper"], rel=1e-4)


@pytest.mark.parametrize("name", ["balanced", "boundary"])
def test_ml_profile_intervals_match_lme4_confint(name):
    """lme4's confint(method = "profile") profiles the ML deviance, even for REML fits.

    lme4 interpolates its profile with splines, so agreement is to ~1e-4.
    """
    table = fitted(name).variance_components_table(criterion="ML")
    for row in golden(name)["profile_ci"]:
        if row["parameter"] == "sigma":
            mine = table[table["group"] == "Residual"].iloc[0]
        else:
            mine = table[same_group(table["group"], row["parameter"].split("|")[1])].iloc[0]
        assert np.sqrt(mine["conf_low"]) == pytest.approx(row["lower"], rel=1e-3, abs=1e-5)
        assert np.sqrt(mine["conf_high"]) == pytest.approx(row["upper"], rel=1e-3)


@pytest.mark.parametrize("name", ["balanced", "stepped_wedge"])
def test_icc_profile_intervals_match_independent_r_code(name):
    table = fitted(name).icc()
    for row in golden(name)["icc_profile"]:
        mine = table[same_group(table["group"], row["group"])].iloc[0]
        assert mine["icc"] == pytest.approx(row["icc"], rel=REL)
        assert mine["conf_low"] == pytest.approx(row["conf_low"], abs=1e-5)
        assert mine["conf_high"] == pytest.approx(row["conf_high"], abs=1e-5)
