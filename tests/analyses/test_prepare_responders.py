"""Responders (risk difference, odds ratio) and the per-protocol dose comparison, by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.analyses.helpers import as_data, simulated_trial
from trialanalysis.analyses.prepare.responders import (
    compare_proportions,
    definition_label,
    dose_table,
    improvement,
    responder_table,
)

Z = stats.norm.ppf(0.975)


def wilson(r, n, z=Z):
    p = r / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def test_risk_difference_and_odds_ratio_by_hand():
    result = compare_proportions((12, 26), (97, 89))
    p0, p1 = 12 / 97, 26 / 89
    l0, u0 = wilson(12, 97)
    l1, u1 = wilson(26, 89)
    # Newcombe's hybrid score interval (method 10)
    low = (p1 - p0) - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = (p1 - p0) + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    assert result["risk_difference"] == pytest.approx(p1 - p0)
    assert result["rd_conf_low"] == pytest.approx(low)
    assert result["rd_conf_high"] == pytest.approx(high)
    odds_ratio = (26 / 63) / (12 / 85)
    se = math.sqrt(1 / 26 + 1 / 63 + 1 / 12 + 1 / 85)
    assert result["odds_ratio"] == pytest.approx(odds_ratio)
    assert result["or_conf_low"] == pytest.approx(math.exp(math.log(odds_ratio) - 1.959964 * se))
    assert result["or_conf_high"] == pytest.approx(math.exp(math.log(odds_ratio) + 1.959964 * se))


def test_an_empty_cell_gets_the_haldane_correction():
    result = compare_proportions((0, 5), (20, 20))
    assert result["odds_ratio"] == pytest.approx((5.5 / 15.5) / (0.5 / 20.5))
    assert "0.5 added" in result["or_method"]
    assert math.isfinite(result["or_conf_high"])


def test_improvement_in_points_and_percent():
    before, after = np.array([40.0, 50.0, 0.0]), np.array([30.0, 45.0, 10.0])
    np.testing.assert_allclose(improvement(before, after, "lower", "points"), [10, 5, -10])
    np.testing.assert_allclose(improvement(before, after, "higher", "points"), [-10, -5, 10])
    percent = improvement(before, after, "lower", "percent")
    np.testing.assert_allclose(percent[:2], [25.0, 10.0])
    assert np.isnan(percent[2])


def test_responder_counts_per_arm():
    patients = pd.DataFrame(
        {"patient_id": list("abcdefgh"), "arm": ["control"] * 4 + ["treated"] * 4}
    )
    baseline = dict(zip("abcdefgh", [40, 40, 40, 40, 50, 50, 50, 0], strict=True))
    post = dict(zip("abcdefgh", [40, 27, 30, None, 30, 36, 34, 0], strict=True))
    outcomes = pd.DataFrame(
        [(p, "baseline", baseline[p]) for p in baseline]
        + [(p, "post", post[p]) for p in post if post[p] is not None],
        columns=["patient_id", "timepoint", "odi_total"],
    )
    data = as_data(patients, outcomes, ("baseline", "post"))
    definitions = [
        {"outcome": "odi_total", "better": "lower", "unit": "percent", "threshold": 30},
        {"outcome": "odi_total", "better": "lower", "unit": "points", "threshold": 10},
    ]
    table = responder_table(data, definitions, ["post"]).set_index("definition")
    pct = table.loc[definition_label(definitions[0])]
    # control: 0%, 32.5%, 25% (d missing) -> 1 of 3; treated: 40%, 28%, 32% (h undefined) -> 2 of 3
    assert (pct["control_n"], pct["control_responders"]) == (3, 1)
    assert (pct["treated_n"], pct["treated_responders"]) == (3, 2)
    assert pct["n_undefined"] == 1
    points = table.loc[definition_label(definitions[1])]
    # control: 0, 13, 10 -> 2 of 3; treated: 20, 14, 16, 0 -> 3 of 4
    assert (points["control_responders"], points["treated_n"], points["treated_responders"]) == (
        2, 4, 3,
    )  # fmt: skip
    assert points["risk_difference"] == pytest.approx(3 / 4 - 2 / 3)


def test_dose_compares_attendance_within_the_intervention_arm_only():
    patients, outcomes = simulated_trial(n=60, seed=5)
    data = as_data(patients, outcomes)
    table = dose_table(data, ["odi_total"], ["post"], threshold=12).iloc[0]
    treated = patients[patients["arm"] == "treated"].set_index("patient_id")
    wide = data.wide(["odi_total"], ["baseline", "post"]).loc[treated.index]
    full = treated["sessions_attended"] >= 12
    change = wide["odi_total_post"] - wide["odi_total_baseline"]
    assert table["n_full_dose"] == full.sum()
    assert table["n_partial_dose"] == (~full).sum()
    assert table["change_full_dose"] == pytest.approx(change[full].mean())
    X = np.column_stack([np.ones(len(wide)), full.astype(float), wide["odi_total_baseline"]])
    beta = np.linalg.lstsq(X, wide["odi_total_post"], rcond=None)[0]
    assert table["estimate"] == pytest.approx(beta[1])
    assert "non-randomised" in table["analysis"]
