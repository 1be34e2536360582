"""Analytic GLS power against published closed forms and an independent R computation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from trialanalysis.power.analytic import analytic_power, gls_variance, power_normal, power_t
from trialanalysis.power.spec import load_power_spec

GOLDEN = json.loads((Path(__file__).parent / "golden.json").read_text())["cases"]
C, T = "control", "intervention"


def spec_of(schedule, clusters, m, sd=14.0, icc=0.05, cac=1.0, effect=-4.0, **design):
    return load_power_spec(
        {
            "design": {
                "schedule": schedule,
                "clusters_per_sequence": clusters,
                "individuals_per_cluster_period": m,
                **design,
            },
            "outcome": {"sd": sd, "icc": icc, "cac": cac},
            "effect": effect,
        }
    )


def hussey_hughes_variance(X, sigma2, tau2):
    """Hussey & Hughes (2007), eq. 8: Var(theta) of a complete design (cluster-period means).

    ``sigma2`` is the variance of a cluster-period mean about its cluster's
    mean, ``tau2`` the between-cluster variance.
    """
    n, periods = X.shape
    U, W, V = X.sum(), (X.sum(axis=0) ** 2).sum(), (X.sum(axis=1) ** 2).sum()
    numerator = n * sigma2 * (sigma2 + periods * tau2)
    return numerator / (
        (n * U - W) * sigma2 + (U**2 + n * periods * U - periods * W - n * V) * tau2
    )


def components(sd, icc, cac):
    return icc * cac * sd**2, icc * (1 - cac) * sd**2, (1 - icc) * sd**2


STAIRS = np.array([[0, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], float)


@pytest.mark.parametrize("per_sequence", [1, 3])
@pytest.mark.parametrize("m", [1, 8, 50])
@pytest.mark.parametrize("icc", [0.0, 0.02, 0.3])
def test_complete_stepped_wedge_equals_hussey_hughes(per_sequence, m, icc):
    # Hussey & Hughes 2007, Contemp Clin Trials 28:182, eq. 8 (cac = 1).
    X = np.repeat(STAIRS, per_sequence, axis=0)
    var_c, var_cp, var_e = components(10.0, icc, 1.0)
    ours = gls_variance(X, np.full(X.shape, m), var_c, var_cp, var_e)
    assert ours == pytest.approx(hussey_hughes_variance(X, var_e / m, var_c), rel=1e-9)


@pytest.mark.parametrize("cac", [0.0, 0.4, 0.8])
def test_cluster_period_effect_equals_hooper_closed_form(cac):
    # Hooper et al. 2016, Stat Med 35:4718: with a cluster-period effect the
    # cluster-period means are exchangeable with variance s_cp + s_e/m about
    # the cluster effect, so Hussey & Hughes' formula holds with
    # sigma2 = s_cp + s_e/m and tau2 = s_c.
    X = np.repeat(STAIRS, 2, axis=0)
    var_c, var_cp, var_e = components(10.0, 0.1, cac)
    ours = gls_variance(X, np.full(X.shape, 12), var_c, var_cp, var_e)
    assert ours == pytest.approx(hussey_hughes_variance(X, var_cp + var_e / 12, var_c), rel=1e-9)


@pytest.mark.parametrize(("m", "icc", "k"), [(1, 0.0, 4), (10, 0.05, 6), (40, 0.2, 12)])
def test_parallel_design_effect(m, icc, k):
    # Donner & Klar (2000): Var = 2 * (2 sd^2 / (k m)) * (1 + (m - 1) icc), k clusters per arm.
    spec = spec_of({"A": [C], "B": [T]}, {"A": k, "B": k}, m, sd=3.0, icc=icc)
    expected = (3.0**2 / m) * (1 + (m - 1) * icc) * (2 / k)
    se = analytic_power(spec)["se_effect"].iloc[0]
    assert se**2 == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("cac", [0.0, 0.5, 1.0])
def test_parallel_with_baseline_equals_ancova_design_effect(cac):
    # Teerenstra et al. 2012 (Stat Med 31:2169) / Hooper et al. 2016: a
    # parallel design with a baseline period has design effect
    # (1 + (m - 1) icc) (1 - r^2), r = m icc cac / (1 + (m - 1) icc).
    m, icc, k = 10, 0.05, 8
    spec = spec_of({"A": [C, C], "B": [C, T]}, {"A": k, "B": k}, m, sd=14.0, icc=icc, cac=cac)
    r = m * icc * cac / (1 + (m - 1) * icc)
    expected = 14.0**2 / m * (1 + (m - 1) * icc) * (2 / k) * (1 - r**2)
    assert analytic_power(spec)["se_effect"].iloc[0] ** 2 == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_agrees_with_brute_force_gls_in_r(case):
    # tests/power/make_golden.R: individual-level (X'V^-1 X)^-1 in R.
    spec = load_power_spec(case["spec"])
    table = analytic_power(spec).set_index("method")
    assert table.loc["analytic-z", "se_effect"] ** 2 == pytest.approx(case["variance"], rel=1e-6)
    assert table.loc["analytic-z", "power"] == pytest.approx(case["power_z"], abs=1e-6)
    assert table.loc["analytic-t", "df"] == case["df"]
    assert table.loc["analytic-t", "power"] == pytest.approx(case["power_t"], abs=1e-6)


def test_power_normal_closed_form():
    # 80 % power at alpha 0.05 when |effect| / se = z_0.975 + z_0.8 (ignoring the far tail).
    shift = scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)
    far_tail = scipy.stats.norm.cdf(-shift - scipy.stats.norm.ppf(0.975))
    assert power_normal(shift, 1.0, 0.05) == pytest.approx(0.8 + far_tail, abs=1e-12)
    assert power_normal(0.0, 1.0, 0.05) == pytest.approx(0.05, abs=1e-12)
    assert power_t(0.0, 1.0, 7.0, 0.05) == pytest.approx(0.05, abs=1e-12)
    assert power_t(2.5, 1.0, 1e7, 0.05) == pytest.approx(power_normal(2.5, 1.0, 0.05), abs=1e-5)


def test_dropout_scales_sizes_and_sign_of_effect_does_not_matter():
    base = spec_of({"A": [C], "B": [T]}, {"A": 5, "B": 5}, 10, effect=[-4.0, 4.0])
    full = analytic_power(base)
    assert full["power"].iloc[0] == pytest.approx(full["power"].iloc[2])
    lossy = analytic_power(
        spec_of({"A": [C], "B": [T]}, {"A": 5, "B": 5}, 20, effect=-4.0, dropout=0.5)
    )
    assert lossy["se_effect"].iloc[0] == pytest.approx(full["se_effect"].iloc[0], rel=1e-12)


def test_unequal_random_sizes_average_over_seeded_draws():
    schedule, clusters = {"A": [C], "B": [T]}, {"A": 6, "B": 6}
    equal = analytic_power(spec_of(schedule, clusters, 20))
    unequal = analytic_power(spec_of(schedule, clusters, 20, cluster_size_cv=0.8))
    again = analytic_power(spec_of(schedule, clusters, 20, cluster_size_cv=0.8))
    # Unequal sizes lose power (Eldridge et al. 2006); the draws are seeded.
    assert unequal["power"].iloc[0] < equal["power"].iloc[0]
    assert unequal.equals(again)
