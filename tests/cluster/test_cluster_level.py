"""Cluster-level analysis and randomization tests, checked by hand."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.cluster_level import cluster_level_analysis
from trialanalysis.models.randomization import randomization_test


def parallel_trial(seed=0, clusters=10):
    rng = np.random.default_rng(seed)
    rows = []
    for j in range(clusters):
        treated = int(j % 2 == 0)
        effect = rng.normal(0, 1)
        for _ in range(rng.integers(5, 20)):
            x = rng.normal(0, 1)
            rows.append(
                {
                    "clinic": f"c{j}",
                    "treatment": treated,
                    "x": x,
                    "y": 2.0 * treated + 1.5 * x + effect + rng.normal(0, 2),
                }
            )
    return pd.DataFrame(rows)


def test_parallel_design_is_the_two_stage_t_test():
    data = parallel_trial()
    result = cluster_level_analysis(data, "y", "treatment", "clinic", covariates=["x"]).iloc[0]
    x = np.column_stack([np.ones(len(data)), data["x"]])
    beta = np.linalg.lstsq(x, data["y"], rcond=None)[0]
    means = (data["y"] - x @ beta).groupby(data["clinic"]).mean()
    arm = data.groupby("clinic")["treatment"].first()
    test = stats.ttest_ind(means[arm == 1], means[arm == 0], equal_var=True)
    assert result["estimate"] == pytest.approx(means[arm == 1].mean() - means[arm == 0].mean())
    assert result["statistic"] == pytest.approx(test.statistic)
    assert result["p_value"] == pytest.approx(test.pvalue)
    assert result["df"] == 10 - 2
    assert result["n_clusters"] == 10
    assert result["note"] == ""


def test_stepped_design_compares_clusters_within_periods():
    # period 1: a, b control, c treated; period 2: a control, b, c treated
    data = pd.DataFrame(
        {
            "clinic": ["a", "b", "c", "a", "b", "c"],
            "period": [1, 1, 1, 2, 2, 2],
            "treatment": [0, 0, 1, 0, 1, 1],
            "y": [1.0, 3.0, 5.0, 2.0, 6.0, 8.0],
        }
    )
    result = cluster_level_analysis(data, "y", "treatment", "clinic", period="period").iloc[0]
    d1, w1 = 5.0 - 2.0, 1 / (1 / 1 + 1 / 2)
    d2, w2 = 7.0 - 2.0, 1 / (1 / 2 + 1 / 1)
    squares = (1.0 - 2.0) ** 2 + (3.0 - 2.0) ** 2 + (6.0 - 7.0) ** 2 + (8.0 - 7.0) ** 2
    assert result["estimate"] == pytest.approx((w1 * d1 + w2 * d2) / (w1 + w2))
    assert result["df"] == 2
    assert result["std_error"] == pytest.approx(np.sqrt(squares / 2 / (w1 + w2)))
    assert result["periods_used"] == "1,2"
    assert "not independent" in result["note"]


def test_cluster_level_refuses_what_it_cannot_do():
    data = parallel_trial(clusters=4)
    with pytest.raises(ModelSpecificationError, match="not in the data"):
        cluster_level_analysis(data, "y", "treatment", "clinic", covariates=["age"])
    mixed = data.copy()
    mixed.loc[mixed.index[:2], "treatment"] = 1 - mixed.loc[mixed.index[:2], "treatment"]
    mixed.loc[mixed.index[0], "treatment"] = 1 - mixed.loc[mixed.index[0], "treatment"]
    with pytest.raises(ModelSpecificationError, match="varies within"):
        cluster_level_analysis(mixed, "y", "treatment", "clinic")
    one_arm = data[data["treatment"] == 1]
    with pytest.raises(ModelSpecificationError, match="both conditions"):
        cluster_level_analysis(one_arm, "y", "treatment", "clinic")


def stepped_wedge(seed=1, effect=3.0):
    rng = np.random.default_rng(seed)
    schedule = pd.DataFrame(
        [
            {"cluster_id": c, "period": p, "condition": "intervention" if p > s else "control"}
            for s, c in enumerate("ABCD", start=1)
            for p in range(1, 6)
        ]
    )
    rows = []
    for c, p, cond in schedule.itertuples(index=False):
        for _ in range(6):
            rows.append(
                {
                    "cluster_id": c,
                    "period": p,
                    "y": effect * (cond == "intervention") + 0.5 * p + rng.normal(0, 1),
                }
            )
    return pd.DataFrame(rows), schedule


def mean_difference(frame):
    return (
        frame.loc[frame["treatment"] == 1, "y"].mean()
        - frame.loc[frame["treatment"] == 0, "y"].mean()
    )


def test_exact_randomization_test_enumerates_every_allocation():
    data, schedule = stepped_wedge()
    result = randomization_test(data, schedule, mean_difference).iloc[0]
    assert result["exact"] and result["n_allocations"] == 24 and result["n_feasible"] == 24
    # brute force, independently
    sequences = {c: g.set_index("period")["condition"] for c, g in schedule.groupby("cluster_id")}
    values = []
    for perm in itertools.permutations("ABCD"):
        mapping = dict(zip("ABCD", perm, strict=True))
        treated = [
            sequences[mapping[c]][p] == "intervention"
            for c, p in zip(data["cluster_id"], data["period"], strict=True)
        ]
        values.append(mean_difference(data.assign(treatment=np.array(treated, int))))
    observed = values[0]
    assert result["statistic"] == pytest.approx(observed)
    assert result["p_value"] == pytest.approx(np.mean(np.abs(values) >= abs(observed) - 1e-12))
    assert result["p_value"] == pytest.approx(
        1 / 24
    )  # a strong effect: only the truth is as extreme


def test_monte_carlo_randomization_is_seeded():
    data, schedule = stepped_wedge(effect=0.0)
    a = randomization_test(data, schedule, mean_difference, max_permutations=10, seed=4)
    b = randomization_test(data, schedule, mean_difference, max_permutations=10, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.iloc[0]["exact"]
    assert a.iloc[0]["n_allocations"] == 10


def test_incomplete_design_is_reported_as_uninformative():
    schedule = pd.DataFrame(
        {
            "cluster_id": ["A", "A", "B", "B", "C", "C"],
            "period": [1, 2, 2, 3, 3, 4],
            "condition": ["control", "intervention"] * 3,
        }
    )
    data = schedule.loc[schedule.index.repeat(3), ["cluster_id", "period"]].assign(y=1.0)
    data["y"] = np.arange(len(data), dtype=float)
    result = randomization_test(data, schedule, mean_difference).iloc[0]
    assert result["n_allocations"] == 6
    assert result["n_feasible"] == 1
    assert result["p_value"] == 1.0
    assert "cannot detect" in result["note"]
