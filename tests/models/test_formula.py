"""Parsing lme4 formulas and translating them to statsmodels MixedLM."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from trialanalysis import fit_mixed
from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models import parse_formula, statsmodels_spec

GOLDEN = Path(__file__).parent / "golden" / "data"


def groups_and_exprs(formula: str) -> list[tuple[str, str]]:
    return [(t.group_label, t.expr) for t in parse_formula(formula).random]


def test_issue_example_splits_fixed_and_random_parts():
    parsed = parse_formula(
        "odi_total ~ period + treatment + odi_baseline + (1 | clinic_id) "
        "+ (1 | clinic_id:patient_id)"
    )
    assert parsed.response == "odi_total"
    assert parsed.fixed == "period + treatment + odi_baseline"
    assert groups_and_exprs(parsed.text) == [("clinic_id", "1"), ("clinic_id:patient_id", "1")]


def test_nesting_expands_as_lme4():
    assert groups_and_exprs("y ~ x + (1 | a/b/c)") == [("a", "1"), ("a:b", "1"), ("a:b:c", "1")]
    assert groups_and_exprs("y ~ (1 + t | a/b)") == [("a", "1 + t"), ("a:b", "1 + t")]


def test_double_bar_splits_into_independent_terms():
    assert groups_and_exprs("y ~ t + (1 + t || id)") == [("id", "1"), ("id", "0 + t")]
    assert groups_and_exprs("y ~ t + (0 + t + u || id)") == [("id", "0 + t"), ("id", "0 + u")]


def test_r_factor_is_read_as_patsy_c():
    parsed = parse_formula("y ~ factor(period) + (1 | g)")
    assert parsed.fixed == "C(period)"


def test_intercept_only_fixed_part():
    assert parse_formula("y ~ (1 | g)").fixed == "1"


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x", "no random-effect term"),
        ("y x + (1 | g)", "exactly one '~'"),
        ("y ~ x + (1 | g", "unbalanced parentheses"),
        ("log(y) ~ x + (1 | g)", "must be a column name"),
        ("y ~ x + (1 | g + h)", "not supported"),
        ("y ~ x + (1 | g) - 1 + (1 | h) * z", "cannot read"),
        ("y ~ x + ( | g)", "nothing before"),
        ("y ~ x + (1 | )", "no grouping factor"),
        ("y ~ x + (1 | g) + (1 | g)", "two random intercepts"),
        ("y ~ x + (0 | g)", "no random effect"),
    ],
)
def test_unfittable_formulas_are_refused_with_a_reason(formula, message):
    with pytest.raises(ModelSpecificationError, match=message):
        parse_formula(formula)


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_statsmodels_spec_nested_intercepts_keep_group_intercept():
    data = _frame(c=["a", "a", "b", "b"], p=["1", "2", "3", "4"], y=[1.0, 2, 3, 4])
    spec = statsmodels_spec(parse_formula("y ~ 1 + (1 | c) + (1 | c:p)"), data)
    assert spec["groups"] == "c"
    assert spec["re_formula"] == "1"  # the group intercept must be explicit with vc_formula
    assert spec["vc_formula"] == {"c:p:1": "0 + C(c):C(p)"}


def test_statsmodels_spec_crossed_uses_one_covering_group():
    data = _frame(r=["a", "a", "b", "b"], i=["1", "2", "1", "2"], y=[1.0, 2, 3, 4])
    spec = statsmodels_spec(parse_formula("y ~ 1 + (1 | r) + (1 | i)"), data)
    assert spec["re_formula"] == "0"
    assert set(np.unique(spec["groups"])) == {0}
    assert spec["vc_formula"] == {"r:1": "0 + C(r)", "i:1": "0 + C(i)"}


def test_statsmodels_spec_random_slope_of_the_group():
    data = _frame(id=["a", "a", "b", "b"], t=[0.0, 1, 0, 1], y=[1.0, 2, 3, 4])
    spec = statsmodels_spec(parse_formula("y ~ t + (1 + t | id)"), data)
    assert (spec["groups"], spec["re_formula"], spec["vc_formula"]) == ("id", "1 + t", {})
    spec = statsmodels_spec(parse_formula("y ~ t + (1 + t || id)"), data)
    assert (spec["re_formula"], spec["vc_formula"]) == ("1", {"id:t": "0 + t"})


def test_statsmodels_spec_refuses_correlated_slopes_of_an_inner_factor():
    data = _frame(c=["a", "a", "b", "b"], p=["1", "2", "3", "4"], t=[0.0, 1, 0, 1])
    with pytest.raises(ModelSpecificationError, match="cannot fit correlated"):
        statsmodels_spec(parse_formula("y ~ t + (1 | c) + (1 + t | c:p)"), data)


def test_statsmodels_fit_from_spec_agrees_with_the_engine():
    """statsmodels, given the translated arguments, fits the same model."""
    data = pd.read_csv(GOLDEN / "unbalanced.csv")
    formula = "y ~ arm + visit + age + (1 | clinic_id) + (1 | clinic_id:patient_id)"
    ours = fit_mixed(data, formula)
    spec = statsmodels_spec(parse_formula(formula), data)
    complete = data.dropna(subset=["y", "age"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = smf.mixedlm(
            spec["formula"],
            complete,
            groups=spec["groups"],
            re_formula=spec["re_formula"],
            vc_formula=spec["vc_formula"],
        ).fit(reml=True, method=["lbfgs"])
    np.testing.assert_allclose(sm.fe_params.to_numpy(), ours.beta, rtol=1e-3)
    variances = ours.variance_components_table(intervals=False)["estimate"].to_numpy()
    assert float(sm.cov_re.iloc[0, 0]) == pytest.approx(variances[0], rel=1e-2)
    assert float(sm.vcomp[0]) == pytest.approx(variances[1], rel=1e-2)
    assert float(sm.scale) == pytest.approx(variances[2], rel=1e-3)
