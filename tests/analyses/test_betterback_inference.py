"""BetterBack inference sensitivity set against lme4/lmerTest/pbkrtest goldens.

Goldens: tests/analyses/golden/betterback_inference_golden.R, run on the
example's analysis data exported by make_betterback_inference_data.py, and on
lme4's grouseticks (location / brood, year as period).
"""

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.analyses.betterback_helpers import example_config, read
from trialanalysis import fit_mixed
from trialanalysis.analyses.betterback.data import patient_design
from trialanalysis.analyses.betterback.inference import (
    ANALYSES,
    both_condition_periods,
    inference_set,
)
from trialanalysis.analyses.betterback.patients import hussey_hughes
from trialanalysis.errors import ConfigError
from trialanalysis.models.multiplicity import adjust

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN = pd.read_csv(GOLDEN_DIR / "betterback_inference_golden.csv")
TIMEPOINTS = ["baseline", "3m", "6m", "12m"]
REL, DF_REL, P_ABS = 1e-4, 0.01, 0.002


@pytest.fixture(scope="module")
def example():
    settings = example_config()["betterback"]["analyses"]["patients"]
    design = patient_design(read("patients"), read("clinics"))
    results = hussey_hughes(design, read("patient_outcomes_scores"), settings, TIMEPOINTS, {})
    inference = inference_set(results, settings, ANALYSES, [], read("schedule"))
    return inference.table, inference.diagnostics


def golden_row(data, outcome, analysis, df_method):
    match = GOLDEN[
        (GOLDEN["data"] == data)
        & (GOLDEN["outcome"] == outcome)
        & (GOLDEN["analysis"] == analysis)
        & (GOLDEN["df_method"] == df_method)
    ]
    assert len(match) == 1, (data, outcome, analysis, df_method)
    return match.iloc[0]


def test_every_primary_outcome_gets_the_whole_set(example):
    table, _ = example
    assert list(dict.fromkeys(table["outcome"])) == ["nrs_back", "nrs_leg", "odi_total"]
    for _, rows in table.groupby("outcome"):
        assert list(rows["analysis"]) == ["primary", *ANALYSES]


@pytest.mark.parametrize("outcome", ["nrs_back", "nrs_leg", "odi_total"])
@pytest.mark.parametrize("analysis", ["primary", *ANALYSES])
def test_matches_lmertest_and_pbkrtest(example, outcome, analysis):
    table, _ = example
    mine = table[(table["outcome"] == outcome) & (table["analysis"] == analysis)].iloc[0]
    method = "cluster-level" if analysis == "cluster_df" else "kenward-roger"
    ref = golden_row("example", outcome, analysis, method)
    assert mine["estimate"] == pytest.approx(ref["estimate"], rel=REL, abs=1e-5)
    assert mine["std_error"] == pytest.approx(ref["std_error"], rel=REL)
    assert mine["df"] == pytest.approx(ref["df"], rel=DF_REL)
    assert mine["p_value"] == pytest.approx(ref["p_value"], abs=P_ABS)
    assert mine["n_obs"] == ref["n_obs"]


def test_cluster_df_is_clinics_minus_cluster_period_terms(example):
    table, _ = example
    rows = table[table["analysis"] == "cluster_df"]
    assert (rows["df"] == 17 - 5).all()
    assert rows["note"].str.contains("K = 17 clinics, p = 5").all()


def test_both_conditions_uses_periods_2_and_3(example):
    table, _ = example
    rows = table[table["analysis"] == "both_conditions"]
    assert (rows["periods"] == "2, 3").all()
    assert both_condition_periods(read("schedule")) == [2, 3]


@pytest.mark.parametrize("analysis", ["clinic_period", "allocation_unit"])
def test_random_structures_on_grouseticks(analysis):
    data = pd.read_csv(GOLDEN_DIR / "grouseticks.csv", dtype={"year": str, "location": str})
    random = {
        "clinic_period": "(1 | location) + (1 | location:year)",
        "allocation_unit": "(1 | location/brood)",
    }[analysis]
    fit = fit_mixed(data, f"y ~ year + height + {random}", variance_ci="none")
    for method in ("kenward-roger", "satterthwaite"):
        mine = fit.coefficients_for(method).set_index("term").loc["height"]
        ref = golden_row("grouseticks", "y", analysis, method)
        assert mine["estimate"] == pytest.approx(ref["estimate"], rel=REL)
        assert mine["std_error"] == pytest.approx(ref["std_error"], rel=REL)
        assert mine["df"] == pytest.approx(ref["df"], rel=DF_REL)
    variances = fit.variance_components.set_index("group")
    refs = GOLDEN[(GOLDEN["data"] == "grouseticks") & (GOLDEN["analysis"] == analysis)]
    for _, ref in refs[refs["df_method"].str.startswith("variance:")].iterrows():
        group = ref["df_method"].split(":", 1)[1]
        names = {"brood:location": "location:brood", "Residual": "Residual"}
        key = names.get(group, group)
        assert np.isclose(variances.loc[key, "estimate"], ref["estimate"], rtol=1e-3)


def test_unknown_analysis_is_a_config_error(example):
    settings = example_config()["betterback"]["analyses"]["patients"]
    with pytest.raises(ConfigError, match="not among"):
        inference_set(None, settings, ["clinic_perod"], [], read("schedule"))


def test_df_policy_cluster_level_puts_the_effects_table_on_k_minus_p():
    settings = copy.deepcopy(example_config()["betterback"]["analyses"]["patients"])
    settings.update(df_policy="cluster-level", timepoints=["3m"])
    design = patient_design(read("patients"), read("clinics"))
    results = hussey_hughes(design, read("patient_outcomes_scores"), settings, TIMEPOINTS, {})
    primary = results.effects[results.effects["role"] == "primary"]
    for _, row in primary.iterrows():
        ref = golden_row("example", row["outcome"], "cluster_df", "cluster-level")
        assert row["df"] == 12 and row["df_method"] == "cluster-level"
        assert row["std_error"] == pytest.approx(ref["std_error"], rel=REL)
        assert row["p_value"] == pytest.approx(ref["p_value"], abs=P_ABS)
    # Holm over the three on cluster-level df
    np.testing.assert_allclose(
        primary["p_adjusted"], adjust(primary["p_value"].to_numpy(), "holm"), rtol=1e-12
    )
