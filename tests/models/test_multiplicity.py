"""Multiplicity adjustment against R's p.adjust and hand-worked fixed sequences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis.errors import ConfigError
from trialanalysis.models.multiplicity import adjust, fixed_sequence

GOLDEN = pd.read_csv(Path(__file__).parent / "golden" / "multiplicity" / "p_adjust_golden.csv")


@pytest.mark.parametrize(
    ("case", "method"), sorted(set(zip(GOLDEN["case"], GOLDEN["method"], strict=True)))
)
def test_holm_hochberg_match_r_p_adjust(case, method):
    rows = GOLDEN[(GOLDEN["case"] == case) & (GOLDEN["method"] == method)]
    mine = adjust(rows["p"].to_numpy(), method)
    np.testing.assert_allclose(mine, rows["adjusted"].to_numpy(), rtol=0, atol=1e-12)


def test_none_returns_the_raw_p_values():
    p = [0.046, 0.426, 0.011]
    np.testing.assert_array_equal(adjust(p, "none"), p)


def test_fixed_sequence_hand_worked():
    # order NRS back, NRS leg, ODI with the p-values: the gate closes at NRS leg
    np.testing.assert_allclose(fixed_sequence([0.046, 0.426, 0.011]), [0.046, 0.426, 0.426])
    # ODI first: 0.011, then max(0.011, 0.046), then 0.426
    p = adjust(
        [0.046, 0.426, 0.011],
        "hierarchical",
        names=["nrs_back", "nrs_leg", "odi_total"],
        order=["odi_total", "nrs_back", "nrs_leg"],
    )
    np.testing.assert_allclose(p, [0.046, 0.426, 0.011])


def test_fixed_sequence_ties_and_p_one():
    np.testing.assert_allclose(fixed_sequence([0.02, 0.02, 1.0, 0.001]), [0.02, 0.02, 1, 1])
    np.testing.assert_allclose(fixed_sequence([0.03, 0.01, 0.03]), [0.03, 0.03, 0.03])


def test_fixed_sequence_rejects_exactly_the_gatekept_hypotheses():
    # at alpha 0.05, H1 and H2 rejected, H3 not, H4 not (gate closed) despite p4 small
    adjusted = fixed_sequence([0.01, 0.04, 0.2, 0.001])
    assert (adjusted <= 0.05).tolist() == [True, True, False, False]


def test_missing_p_closes_the_gate():
    np.testing.assert_allclose(
        fixed_sequence([0.01, np.nan, 0.02]), [0.01, np.nan, 1.0], equal_nan=True
    )


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ConfigError, match="not one of"):
        adjust([0.1], "bonferonni")
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        adjust([1.2], "holm")
    with pytest.raises(ConfigError, match="exactly once"):
        adjust([0.1, 0.2], "hierarchical", names=["a", "b"], order=["a", "a"])
    with pytest.raises(ConfigError, match="exactly once"):
        adjust([0.1, 0.2], "hierarchical", names=["a", "b"], order=["a", "c"])
