"""BetterBack therapist cohort: RM-ANOVA, mixed models, multiplicity, associations."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

from trialanalysis.analyses.betterback.therapists import (
    associations,
    mixed_analysis,
    paired_comparisons,
    published_analysis,
    rm_anova,
)
from trialanalysis.models.classical import adjust_p

TIMEPOINTS = ["baseline", "post_training", "3m", "12m"]
SETTINGS = {
    "random_effects": ["(1 | clinic_id)", "(1 | clinic_id:therapist_id)"],
    "df_method": "kenward-roger",
    "p_adjust": "holm",
}


def cohort(n_therapists=24, n_clinics=6, seed=5, missing=0.0):
    """Simulated therapist cohort: clinic and therapist effects, time means, noise."""
    rng = np.random.default_rng(seed)
    means = {"baseline": 50.0, "post_training": 70.0, "3m": 62.0, "12m": 60.0}
    rows = []
    for t in range(n_therapists):
        clinic = f"K{t % n_clinics:02d}"
        person = rng.normal(0, 8)
        for timepoint, mean in means.items():
            row = {"therapist_id": f"T{t:03d}", "clinic_id": clinic, "timepoint": timepoint}
            for k, domain in enumerate(("dibq_a", "dibq_b", "dibq_c")):
                row[domain] = mean + k + person + rng.normal(0, 6)
            row["pcs_total"] = 13 + (mean - 50) / 8 + person / 4 + rng.normal(0, 1)
            rows.append(row)
    frame = pd.DataFrame(rows)
    if missing:
        drop = rng.random(len(frame)) < missing
        drop &= frame["timepoint"] != "baseline"
        frame.loc[drop, ["dibq_a", "pcs_total"]] = np.nan
    return frame.astype({"therapist_id": "string", "clinic_id": "string", "timepoint": "string"})


def test_rm_anova_matches_the_hand_computed_decomposition():
    data = cohort(missing=0.2)
    result = rm_anova(data, "pcs_total", TIMEPOINTS)
    wide = data.pivot(index="therapist_id", columns="timepoint", values="pcs_total")[TIMEPOINTS]
    wide = wide.dropna().to_numpy()
    n, k = wide.shape
    grand = wide.mean()
    ss_time = n * ((wide.mean(axis=0) - grand) ** 2).sum()
    ss_subject = k * ((wide.mean(axis=1) - grand) ** 2).sum()
    ss_error = ((wide - grand) ** 2).sum() - ss_time - ss_subject
    f_value = (ss_time / (k - 1)) / (ss_error / ((n - 1) * (k - 1)))
    assert result["n_complete"] == n
    assert result["f_value"] == pytest.approx(f_value)
    assert result["df_effect"] == k - 1 and result["df_error"] == (n - 1) * (k - 1)
    assert result["partial_eta_sq"] == pytest.approx(ss_time / (ss_time + ss_error))
    assert result["p_value"] == pytest.approx(scipy.stats.f.sf(f_value, k - 1, (n - 1) * (k - 1)))
    assert 1 / (k - 1) <= result["gg_epsilon"] <= 1


def test_paired_comparisons_are_paired_t_tests_on_complete_cases():
    data = cohort(missing=0.2)
    table = paired_comparisons(data, "dibq_a", TIMEPOINTS, "bonferroni")
    wide = data.pivot(index="therapist_id", columns="timepoint", values="dibq_a")[TIMEPOINTS]
    wide = wide.dropna()
    expected = [scipy.stats.ttest_rel(wide[t], wide["baseline"]) for t in TIMEPOINTS[1:]]
    assert list(table["contrast"]) == [f"{t} - baseline" for t in TIMEPOINTS[1:]]
    assert table["statistic"].to_numpy() == pytest.approx([e.statistic for e in expected])
    assert table["p_value"].to_numpy() == pytest.approx([e.pvalue for e in expected])
    assert table["p_adjusted"].to_numpy() == pytest.approx(
        np.minimum(1, 3 * table["p_value"].to_numpy())
    )
    interval = expected[0].confidence_interval()
    assert (table["conf_low"][0], table["conf_high"][0]) == pytest.approx(
        (interval.low, interval.high)
    )


def test_mixed_model_contrasts_equal_mean_differences_in_a_balanced_complete_design():
    data = cohort()
    models = mixed_analysis(
        data, ["pcs_total"], ["dibq_a", "dibq_b", "dibq_c"], TIMEPOINTS, SETTINGS, {}
    )
    emmeans, contrasts, diagnostics = models.emmeans, models.contrasts, models.diagnostics
    means = data.groupby("timepoint")["dibq_b"].mean()
    rows = contrasts[contrasts["score"] == "dibq_b"].set_index("contrast")
    for t in TIMEPOINTS[1:]:
        assert rows.loc[f"{t} - baseline", "estimate"] == pytest.approx(
            means[t] - means["baseline"], abs=1e-6
        )
    emm = emmeans[emmeans["score"] == "dibq_b"]
    assert list(emm["timepoint"]) == TIMEPOINTS
    assert emm["estimate"].to_numpy() == pytest.approx(means[TIMEPOINTS].to_numpy(), abs=1e-6)
    assert (emm["n"] == 24).all()
    assert len(diagnostics) == 4 and diagnostics["converged"].all()


def test_domains_are_adjusted_across_domains_within_each_contrast_scores_are_not():
    data = cohort(missing=0.1)
    contrasts = mixed_analysis(
        data, ["pcs_total"], ["dibq_a", "dibq_b", "dibq_c"], TIMEPOINTS, SETTINGS, {}
    ).contrasts
    scores = contrasts[contrasts["family"] == "pcs_total"]
    assert (scores["p_adjusted"] == scores["p_value"]).all() and (
        scores["p_adjust"] == "none"
    ).all()
    for _, group in contrasts[contrasts["family"] == "domains"].groupby("contrast"):
        assert len(group) == 3
        expected = multipletests(group["p_value"], method="holm")[1]
        assert group["p_adjusted"].to_numpy() == pytest.approx(expected)
    fdr = mixed_analysis(
        data, [], ["dibq_a", "dibq_b", "dibq_c"], TIMEPOINTS, {**SETTINGS, "p_adjust": "fdr"}, {}
    ).contrasts
    group = fdr[fdr["contrast"] == "3m - baseline"]
    assert group["p_adjusted"].to_numpy() == pytest.approx(
        multipletests(group["p_value"], method="fdr_bh")[1]
    )


def test_associations_scale_the_domain_and_adjust_within_each_outcome():
    data = cohort(n_therapists=40, n_clinics=8)
    settings = {
        "timepoint": "12m",
        "outcomes": ["pcs_total"],
        "per": 10,
        "random_effects": ["(1 | clinic_id)"],
    }
    result = associations(
        data, ["dibq_a", "dibq_b"], settings, {"dibq_a": "A"}, "satterthwaite", "holm"
    )
    table, diagnostics = result.table, result.diagnostics
    per_point = associations(
        data, ["dibq_a", "dibq_b"], {**settings, "per": 1}, {}, "satterthwaite", "holm"
    ).table
    assert table["estimate"].to_numpy() == pytest.approx(10 * per_point["estimate"].to_numpy())
    assert table["p_value"].to_numpy() == pytest.approx(per_point["p_value"].to_numpy())
    assert list(table["domain_label"]) == ["A", "dibq_b"]
    assert table["p_adjusted"].to_numpy() == pytest.approx(adjust_p(table["p_value"], "holm"))
    assert (table["n_obs"] == 40).all() and len(diagnostics) == 2


def test_published_analysis_reports_every_score_even_without_complete_cases():
    data = cohort()
    data.loc[data["timepoint"] == "12m", "dibq_c"] = np.nan
    result = published_analysis(data, ["pcs_total", "dibq_c"], TIMEPOINTS, "holm", {})
    anova, pairs = result.anova, result.pairwise
    assert list(anova["score"]) == ["pcs_total", "dibq_c"]
    assert anova.set_index("score").loc["dibq_c", "n_complete"] == 0
    assert set(pairs["score"]) == {"pcs_total"}


def test_adjust_p_keeps_missing_values_and_rejects_unknown_methods():
    adjusted = adjust_p([0.01, np.nan, 0.04], "bonferroni")
    assert adjusted[0] == pytest.approx(0.02) and np.isnan(adjusted[1])
    with pytest.raises(ValueError, match="not one of"):
        adjust_p([0.1], "sidak-ish")
    # nothing adjusted: blank, not a copy of p
    assert np.isnan(adjust_p([0.01, 0.04], "none")).all()
