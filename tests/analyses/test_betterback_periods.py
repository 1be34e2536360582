"""BetterBack cluster-period table and adjusted means per period (secular trend)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.analyses.betterback_helpers import example_config, read
from trialanalysis.analyses.betterback.data import patient_design
from trialanalysis.analyses.betterback.patients import analysed_patients, hussey_hughes
from trialanalysis.analyses.betterback.periods import (
    VIA_CLINIC,
    WITHIN,
    cluster_period_table,
    period_means,
    stepped_design_effects,
)

GOLDEN = pd.read_csv(Path(__file__).parent / "golden" / "betterback_inference_golden.csv")
TIMEPOINTS = ["baseline", "3m", "6m", "12m"]


@pytest.fixture(scope="module")
def example():
    settings = example_config()["betterback"]["analyses"]["patients"]
    design = patient_design(read("patients"), read("clinics"))
    results = hussey_hughes(design, read("patient_outcomes_scores"), settings, TIMEPOINTS, {})
    return settings, design, results


def test_cluster_period_counts_by_hand(example):
    settings, design, results = example
    schedule = read("schedule")
    table = cluster_period_table(schedule, design, analysed_patients(results, settings), "3m")
    cells = table[table["cluster_id"] != "Total"]
    assert len(cells) == len(schedule) == 6
    patients = read("patients").merge(read("clinics"), on="clinic_id")
    for _, cell in cells.iterrows():
        mine = patients[(patients["cluster_id"] == cell["cluster_id"])
                        & (patients["period"] == cell["period"])]  # fmt: skip
        assert cell["patients_recruited"] == len(mine)
        assert cell["n_clinics"] == mine["clinic_id"].nunique()
        assert cell["n_therapists"] == mine["therapist_id"].nunique()
        assert cell["contributes"] == (WITHIN if cell["period"] in (2, 3) else VIA_CLINIC)
    total = table[table["cluster_id"] == "Total"].iloc[0]
    assert total["patients_recruited"] == len(patients) == cells["patients_recruited"].sum()
    assert total["n_clinics"] == 17
    assert total["period_start"] == "2016-11-01" and total["period_end"] == "2018-02-23"
    # analysed: in at least one primary model at 3 months (ODI has the most: 396)
    assert 396 <= total["patients_analysed"] <= total["patients_recruited"]
    assert total["patients_analysed"] == cells["patients_analysed"].sum()


def test_patients_analysed_only_at_the_primary_timepoint(example):
    settings, design, results = example
    analysed = analysed_patients(results, settings)
    table = cluster_period_table(read("schedule"), design, analysed.iloc[:0], "3m")
    assert (table["patients_analysed"] == 0).all()


def test_period_means_match_emmeans(example):
    settings, _, results = example
    table = period_means(results, settings, read("schedule"))
    assert list(dict.fromkeys(table["outcome"])) == ["nrs_back", "nrs_leg", "odi_total"]
    for _, row in table.iterrows():
        ref = GOLDEN[
            (GOLDEN["outcome"] == row["outcome"])
            & (
                GOLDEN["analysis"]
                == f"emm:{row['period']}:{int(row['condition'] == 'intervention')}"
            )
        ].iloc[0]
        assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-4)
        assert row["std_error"] == pytest.approx(ref["std_error"], rel=1e-4)
        assert row["df"] == pytest.approx(ref["df"], rel=0.01)


def test_period_effects_and_scheduled_cells(example):
    settings, _, results = example
    table = period_means(results, settings, read("schedule"))
    odi = table[table["outcome"] == "odi_total"].set_index(["period", "condition"])
    coefficients = results.fits[("odi_total", "3m")].coefficients.set_index("term")["estimate"]
    assert odi.loc[(1, "control"), "period_effect"] == 0
    for p in (2, 3, 4):
        assert odi.loc[(p, "control"), "period_effect"] == coefficients[f"C(period)[T.{p}]"]
        # the difference of the period's control means is its coefficient
        gap = odi.loc[(p, "control"), "estimate"] - odi.loc[(1, "control"), "estimate"]
        assert gap == pytest.approx(coefficients[f"C(period)[T.{p}]"])
    assert odi["scheduled"].sum() == 6  # control in periods 1-3, intervention in 2-4
    assert not odi.loc[(1, "intervention"), "scheduled"]
    assert not odi.loc[(4, "control"), "scheduled"]


def test_stepped_design_effect_with_icc_zero_is_the_ols_variance(example):
    settings, _, results = example
    table = stepped_design_effects(results, settings).set_index("outcome")
    assert list(table.index) == ["nrs_back", "nrs_leg", "odi_total"]
    leg = table.loc["nrs_leg"]
    assert leg["icc"] == 0  # the clinic variance of NRS leg is estimated at 0
    frame = results.fits[("nrs_leg", "3m")].model.frame
    x = pd.get_dummies(frame["period"].astype(str), dtype=float)
    x["treatment"] = frame["treatment"].to_numpy(float)
    variance = np.linalg.inv(x.T.to_numpy() @ x.to_numpy())[-1, -1]
    assert leg["design_effect_stepped"] == pytest.approx(len(frame) * variance / 4, rel=1e-9)
    assert leg["design_effect_parallel"] == pytest.approx(1.0)
    assert leg["n_patients"] == len(frame) and leg["n_clinics"] == 17
    # with clustering the stepped design effect differs from Eldridge's
    odi = table.loc["odi_total"]
    assert odi["design_effect_stepped"] != pytest.approx(odi["design_effect_parallel"], rel=0.05)
