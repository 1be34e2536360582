"""Simulation-based power: reproducible streams, the shift identity, counting failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialanalysis.models import fit_mixed
from trialanalysis.power.analytic import analytic_power
from trialanalysis.power.simulate import (
    analysis_formula,
    run_simulations,
    simulate_trial,
    simulation_stream,
    summarise_simulations,
)
from trialanalysis.power.spec import load_power_spec

C, T, N = "control", "intervention", None
DOGLEG = {"A": [C, T, N, N], "B": [N, C, T, N], "C": [N, N, C, T]}


def make_spec(schedule=DOGLEG, clusters=None, m=10, icc=0.05, cac=1.0, effect=-4.0, **extra):
    clusters = clusters or {"A": 6, "B": 6, "C": 5}
    design = {"schedule": schedule, "clusters_per_sequence": clusters}
    design["individuals_per_cluster_period"] = m
    design.update(extra.pop("design", {}))
    spec = {"design": design, "outcome": {"sd": 14.0, "icc": icc, "cac": cac}, "effect": effect}
    return load_power_spec({**spec, **extra})


def test_simulated_trial_follows_the_design():
    spec = make_spec(design={"dropout": 0.2, "cluster_size_cv": 0.5})
    data = simulate_trial(spec, simulation_stream(1, "s", 0))
    cells = data.groupby(["cluster", "period"])["treatment"].agg(["first", "nunique"])
    assert (cells["nunique"] == 1).all()
    # cluster k1 is in sequence A: control in period 1, intervention in period 2, else absent
    assert cells.loc["k1"]["first"].to_dict() == {1: 0.0, 2: 1.0}
    assert set(data["period"]) == {1, 2, 3, 4}
    assert data["cluster"].nunique() <= 17


def test_variance_components_are_recovered_by_moments():
    # Many clusters, one period: between- and within-cluster variances by ANOVA moments.
    spec = make_spec({"A": [C], "B": [T]}, {"A": 1500, "B": 1500}, m=20, icc=0.2)
    data = simulate_trial(spec, simulation_stream(3, "moments", 0))
    within = data.groupby("cluster")["y"].var(ddof=1).mean()
    between = data.groupby("cluster")["y"].mean().var(ddof=1) - within / 20
    assert within == pytest.approx(0.8 * 14.0**2, rel=0.02)
    assert between == pytest.approx(0.2 * 14.0**2, rel=0.1)


def test_chunks_are_reproducible_and_independent_of_chunking():
    spec = make_spec(clusters={"A": 2, "B": 2, "C": 2}, m=4)
    whole = run_simulations(spec, "s01", range(4))
    parts = pd.concat(
        [run_simulations(spec, "s01", range(2)), run_simulations(spec, "s01", range(2, 4))],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, parts)
    other = run_simulations(spec, "s02", range(4))
    assert not np.allclose(whole["estimate"], other["estimate"])


@pytest.mark.parametrize("df_method", ["kenward-roger", "satterthwaite"])
def test_one_fit_serves_every_effect(df_method):
    # Adding theta * treatment (a fixed-effect column) leaves the REML fit's
    # variance estimates, SE and df unchanged and moves the estimate by theta.
    spec = make_spec(cac=0.7, design={"cluster_size_cv": 0.4})
    null = simulate_trial(spec, simulation_stream(7, "shift", 0))
    shifted = null.assign(y=null["y"] + 5.0 * null["treatment"])
    formula = analysis_formula(spec)
    a, b = (
        fit_mixed(d, formula, df_method=df_method).coefficients.set_index("term").loc["treatment"]
        for d in (null, shifted)
    )
    assert b["estimate"] - 5.0 == pytest.approx(a["estimate"], abs=1e-6)
    assert b["std_error"] == pytest.approx(a["std_error"], rel=1e-5)
    assert b["df"] == pytest.approx(a["df"], rel=1e-4)


def test_failed_fits_are_counted_not_dropped_silently():
    # One individual per cluster-period with a cluster-period effect: the
    # cluster:period factor has as many levels as observations, which the
    # engine refuses; every simulated trial is then a recorded failure.
    spec = make_spec(m=1, cac=0.5, clusters={"A": 2, "B": 2, "C": 2})
    sims = run_simulations(spec, "fail", range(3))
    assert sims["failed"].all() and sims["message"].str.contains("cluster").all()
    summary = summarise_simulations(sims, spec)
    assert summary.loc[0, "n_failed"] == 3 and np.isnan(summary.loc[0, "power"])


def test_summary_counts_by_hand():
    spec = make_spec(effect=[0.0, -3.0])
    sims = pd.DataFrame(
        {
            "sim": range(5),
            "estimate": [0.5, -2.5, 3.0, 0.0, 9.0],
            "std_error": [1.0, 1.0, 1.0, 1.0, 1.0],
            "df": [np.inf] * 5,
            "converged": [True, True, True, True, False],
            "singular": [False, True, False, False, False],
            "failed": [False, False, False, False, True],
            "message": ["", "", "", "", "did not converge"],
        }
    )
    table = summarise_simulations(sims, spec).set_index("effect")
    # null: |0.5|, |-2.5|, |3|, |0| > 1.96 -> 2 of 4; at -3: |-2.5|, |-5.5|, |0|, |-3| -> 3 of 4
    assert table.loc[0.0, "type1_error"] == 0.5
    assert table.loc[-3.0, "power"] == 0.75
    assert table.loc[-3.0, "power_mc_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert table.loc[-3.0, "coverage"] == 0.5
    assert (table.loc[-3.0, "n_sims"], table.loc[-3.0, "n_failed"]) == (5, 1)
    assert table.loc[-3.0, "n_singular"] == 1
    assert table.loc[-3.0, "se_effect"] == pytest.approx(np.std([0.5, -2.5, 3.0, 0.0], ddof=1))


@pytest.mark.slow
def test_simulation_agrees_with_analytic_power_with_many_clusters():
    # 4-step complete stepped wedge with 40 clusters: the small-sample
    # correction is negligible, so simulated power (KR) should land within 3
    # Monte Carlo SEs of the GLS normal-approximation power.
    stairs = {
        "A": [C, T, T, T, T],
        "B": [C, C, T, T, T],
        "C": [C, C, C, T, T],
        "D": [C, C, C, C, T],
    }
    spec = make_spec(
        stairs, {s: 10 for s in stairs}, m=4, icc=0.1, cac=0.8, effect=-4.5, simulation={"seed": 3}
    )
    analytic = analytic_power(spec).set_index("method").loc["analytic-z", "power"]
    simulated = summarise_simulations(run_simulations(spec, "many", range(300)), spec).iloc[0]
    assert simulated["n_failed"] == 0
    assert abs(simulated["power"] - analytic) < 3 * simulated["power_mc_se"]
    assert abs(simulated["type1_error"] - 0.05) < 3 * simulated["type1_mc_se"]
