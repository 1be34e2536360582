"""Hedges' g between and within arms, checked by hand arithmetic."""

import math

import numpy as np
import pandas as pd
import pytest

from tests.analyses.helpers import as_data
from trialanalysis.analyses.prepare.effect_sizes import (
    BETWEEN_STANDARDISER,
    WITHIN_STANDARDISER,
    between_arm_g,
    effect_size_table,
    pooled_sd,
    within_arm_g,
)


def test_pooled_sd_by_hand():
    a, b = [1.0, 2.0, 3.0, 6.0], [2.0, 4.0, 9.0]
    # variances: a 14/3 (SS 14), b 13 (SS 26); pooled = (14 + 26) / 5 = 8
    sd, df = pooled_sd(a, b)
    assert df == 5
    assert sd == pytest.approx(math.sqrt(8.0))


def test_between_arm_g_by_hand():
    result = between_arm_g(-4.0, 1.5, 100.0, 10.0, 98.0)
    j = 1 - 3 / (4 * 98 - 1)
    g = j * -0.4
    se = j * math.sqrt(1.5**2 / 100 + 0.16 / (2 * 98))
    assert result["hedges_g"] == pytest.approx(g)
    assert result["std_error"] == pytest.approx(se)
    assert result["conf_low"] == pytest.approx(g - 1.9839715185235556 * se)  # qt(0.975, 100)


def test_within_arm_g_by_hand():
    before = np.array([10.0, 12.0, 14.0, 16.0, 18.0])
    after = np.array([8.0, 11.0, 11.0, 13.0, 17.0])
    # change: -2, -1, -3, -3, -1 -> mean -2; SD(before) = sqrt(10); r from the data
    r = np.corrcoef(before, after)[0, 1]
    d = -2 / math.sqrt(10)
    j = 1 - 3 / (4 * 4 - 1)
    se = j * math.sqrt(2 * (1 - r) / 5 + d**2 / (2 * 4))
    result = within_arm_g(before, after)
    assert result["raw_estimate"] == pytest.approx(-2.0)
    assert result["sd"] == pytest.approx(math.sqrt(10))
    assert result["hedges_g"] == pytest.approx(j * d)
    assert result["std_error"] == pytest.approx(se)
    assert result["conf_high"] == pytest.approx(j * d + 1.959963984540054 * se)


def test_table_labels_every_row_with_its_standardiser():
    patients = pd.DataFrame(
        {"patient_id": ["a", "b", "c", "d", "e", "f"], "arm": ["control"] * 3 + ["treated"] * 3}
    )
    values = {"a": (10, 9), "b": (14, 12), "c": (12, 12), "d": (11, 6), "e": (15, 9), "f": (13, 8)}
    outcomes = pd.DataFrame(
        [(p, t, v[k]) for p, v in values.items() for k, t in enumerate(["baseline", "post"])],
        columns=["patient_id", "timepoint", "y"],
    )
    data = as_data(patients, outcomes, ("baseline", "post"))
    differences = pd.DataFrame(
        {"outcome": ["y"], "timepoint": ["post"], "contrast": ["treated - control"],
         "estimate": [-3.0], "std_error": [1.2], "df": [4.0]}
    )  # fmt: skip
    table = effect_size_table(data, differences)
    between = table[table["comparison"] == "between_arms"].iloc[0]
    # baseline SDs: control 2 (10, 14, 12), treated 2 (11, 15, 13): pooled 2, df 4
    assert between["sd"] == pytest.approx(2.0)
    assert between["standardiser"] == BETWEEN_STANDARDISER
    assert between["hedges_g"] == pytest.approx((1 - 3 / 15) * -1.5)
    within = table[table["comparison"] == "within_arm"].set_index("arm")
    assert within.loc["treated", "raw_estimate"] == pytest.approx(-16 / 3)
    assert within.loc["treated", "sd"] == pytest.approx(2.0)
    assert (within["standardiser"] == WITHIN_STANDARDISER).all()
    assert within.loc["control", "n_1"] == 3
