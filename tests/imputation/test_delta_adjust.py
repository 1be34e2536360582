"""Delta-adjusted MI: hand-worked shifts, mice's post-processing + pool, tipping points."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.delta_adjust import (
    pooled_at,
    shift_imputed,
    shifted_rows,
    tipping_points,
)

HERE = Path(__file__).parent


def mean_difference(table: pd.DataFrame) -> pd.DataFrame:
    treated = table.loc[table["arm"] == 1, "y"]
    control = table.loc[table["arm"] == 0, "y"]
    se = np.sqrt(treated.var() / len(treated) + control.var() / len(control))
    return pd.DataFrame(
        {"term": ["arm"], "estimate": [treated.mean() - control.mean()], "std_error": [se]}
    )


def small_case():
    """4 treated (1 imputed) and 4 controls (2 imputed); two imputations."""
    missing = pd.DataFrame({"y": [False, False, False, True, False, True, True, False]})
    arm = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    first = pd.DataFrame({"arm": arm, "y": [10.0, 12.0, 14.0, 8.0, 20.0, 18.0, 16.0, 22.0]})
    second = first.assign(y=[10.0, 12.0, 14.0, 16.0, 20.0, 24.0, 12.0, 22.0])
    return [first, second], missing, arm


@pytest.mark.parametrize(
    ("arms", "moves"),
    [("intervention", 1 / 4), ("control", -2 / 4), ("both", 1 / 4 - 2 / 4)],
)
def test_shift_moves_pooled_difference_by_delta_times_share_imputed(arms, moves):
    completed, missing, arm = small_case()
    rows = shifted_rows(arm, arms)
    base = pooled_at(completed, missing, rows, mean_difference, "arm", 0.0)
    for delta in (2.0, -8.0, 12.0):
        shifted = pooled_at(completed, missing, rows, mean_difference, "arm", delta)
        # dyadic numbers: the arithmetic is exact in floating point
        assert shifted["estimate"] - base["estimate"] == delta * moves


def test_shift_changes_only_imputed_cells_of_selected_rows():
    completed, missing, arm = small_case()
    shifted = shift_imputed(completed, missing, 5.0, shifted_rows(arm, "intervention"))
    expected = completed[0]["y"].to_numpy().copy()
    expected[3] += 5.0
    np.testing.assert_array_equal(shifted[0]["y"].to_numpy(), expected)
    np.testing.assert_array_equal(completed[0]["y"].to_numpy()[3], 8.0)  # input untouched
    with pytest.raises(ModelSpecificationError, match="arms must be"):
        shifted_rows(arm, "treated")


def ols(formula_terms, shift_column):
    def analyse(table):
        x = sm.add_constant(table[formula_terms].astype(float))
        fit = sm.OLS(table[shift_column].astype(float), x).fit()
        return pd.DataFrame(
            {
                "term": formula_terms,
                "estimate": fit.params[formula_terms].to_numpy(),
                "std_error": fit.bse[formula_terms].to_numpy(),
                "df": fit.df_resid,
            }
        )

    return analyse


CASES = {
    "trial": (["arm", "baseline"], "y", "arm"),
    "nhanes": (["older", "bmi"], "chl", "older"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_delta_adjusted_pooling_matches_mice_on_the_same_imputations(case):
    terms, outcome, group = CASES[case]
    rows = pd.read_csv(HERE / f"delta_{case}_completed.csv")
    completed = [g.set_index("row")[[*terms, outcome]] for _, g in rows.groupby("imputation")]
    missing = rows[rows["imputation"] == 1].set_index("row")[["imputed"]]
    missing = missing.rename(columns={"imputed": outcome}).astype(bool)
    golden = pd.read_csv(HERE / "delta_golden.csv").query("case == @case")
    assert len(golden) == 15
    for record in golden.to_dict("records"):
        selected = shifted_rows(completed[0][group], record["arms"])
        got = pooled_at(completed, missing, selected, ols(terms, outcome), group, record["delta"])
        for key in ("estimate", "std_error", "conf_low", "conf_high"):
            assert got[key] == pytest.approx(record[key], rel=1e-9, abs=1e-9), key
        assert got["df"] == pytest.approx(record["df"], rel=1e-8)
        assert got["p_value"] == pytest.approx(record["p_value"], rel=1e-6)


def test_tipping_point_of_a_linear_shift_is_found_exactly():
    # estimate -6 + 0.5 delta, half-width 2: CI reaches 0 at delta = 8, sign at 12,
    # and on the other side the conclusion never changes.
    def evaluate(delta):
        estimate = -6.0 + 0.5 * delta
        return {"estimate": estimate, "conf_low": estimate - 2, "conf_high": estimate + 2}

    table, points = tipping_points(evaluate, np.linspace(-20, 20, 9))
    assert points["significance_high"] == pytest.approx(8.0, abs=1e-6)
    assert points["sign_high"] == pytest.approx(12.0, abs=1e-6)
    assert np.isnan(points["significance_low"]) and np.isnan(points["sign_low"])
    assert list(table["delta"]) == sorted(set(np.linspace(-20, 20, 9)) | {0.0})
    assert set(table["conclusion"]) == {-1, 0, 1}


def test_tipping_point_from_non_significant_goes_both_ways():
    def evaluate(delta):
        estimate = 1.0 + 0.25 * delta
        return {"estimate": estimate, "conf_low": estimate - 3, "conf_high": estimate + 3}

    _, points = tipping_points(evaluate, [-30, -10, 10, 30])
    assert points["significance_low"] == pytest.approx(-16.0, abs=1e-6)  # conf_high = 0
    assert points["significance_high"] == pytest.approx(8.0, abs=1e-6)  # conf_low = 0
    assert points["sign_low"] == pytest.approx(-4.0, abs=1e-6)
    assert np.isnan(points["sign_high"])
