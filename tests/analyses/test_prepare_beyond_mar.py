"""PREPARE: delta-adjusted MI and tipping point, completers, CACE, missing baselines, checks.

Run on the shipped example and on another simulated draw (seed 5), through
the workflow steps, and checked against closed forms: the pooled estimate of
an OLS analysis is exactly linear in the shift; 2SLS with one instrument is
the ratio of the reduced-form and first-stage coefficients; the ITT row is
the ANCOVA of the same patients.
"""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.analyses.draws import ROOT, draw_config, prepare_inputs
from tests.analyses.helpers import as_data, simulated_trial
from trialanalysis.analyses.prepare.cace import cace_frame
from trialanalysis.analyses.prepare.models import (
    ancova_check,
    fit_outcome_model,
    secondary_model_inputs,
    without_baseline,
)
from trialanalysis.analyses.prepare.tipping import delta_adjusted_analysis
from trialanalysis.steps.missing_data import prepare_tipping_point_step
from trialanalysis.steps.model_checks import prepare_model_checks_step
from trialanalysis.steps.prepare import load_analysis, prepare_cace_step

SEEDS = [None, 5]  # the shipped example, another draw


def small_config(**delta) -> dict:
    config = copy.deepcopy(draw_config(ROOT / "data" / "example"))
    analyses = config["prepare"]["analyses"]
    analyses["multiple_imputation"].update(m=5, iterations=4)
    analyses["delta_adjustment"].update({"grid_sd": [-3.0, -1.0, 1.0, 3.0], **delta})
    config["reporting"]["tables"]["formats"] = ["csv"]
    return config


def outputs_in(folder, names, figure=True) -> dict:
    out = {n: str(folder / f"{n}.csv") for n in names}
    if figure:
        out["figure"] = str(folder / "figure.svg")
    out["fragment"] = str(folder / "fragment.yaml")
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_tipping_point_step(tmp_path, seed):
    config = small_config()
    outputs = outputs_in(tmp_path, ["delta_grid", "tipping", "completers"])
    prepare_tipping_point_step(config, prepare_inputs(seed), outputs)
    grid = pd.read_csv(outputs["delta_grid"]).set_index("delta_sd")
    assert list(grid.index) == [-3.0, -1.0, 0.0, 1.0, 3.0]
    # ANCOVA by OLS is linear in y: the pooled estimate moves exactly linearly in delta
    slope = (grid["estimate"] - grid.loc[0.0, "estimate"]) / grid["delta"]
    np.testing.assert_allclose(slope.drop(0.0), slope.drop(0.0).iloc[0], rtol=1e-9)
    assert slope.drop(0.0).iloc[0] > 0  # worse imputed outcomes in the intervention arm
    point = pd.read_csv(outputs["tipping"]).iloc[0]
    assert 0 < point["share_imputed"] < 0.5
    data, settings = load_analysis(config, **prepare_inputs(seed))
    at_time = data.long[data.long["timepoint"] == settings["primary_timepoint"]]
    observed = at_time[settings["primary_outcome"]].notna().sum()
    assert point["share_imputed"] == pytest.approx(1 - observed / len(data.patients))
    changes = np.flatnonzero(np.diff(grid["conclusion"].to_numpy()))
    if np.isfinite(point["significance_high"]):
        # the CI bound reaches 0 at the tipping point, within the search tolerance
        tip = point["significance_high_sd"]
        assert any(grid.index[i] < tip < grid.index[i + 1] for i in changes)
        again = copy.deepcopy(settings)
        again["delta_adjustment"]["grid_sd"] = [tip]
        at_tip = delta_adjusted_analysis(data, again, int(config["seed"])).grid
        row = at_tip.set_index("delta_sd").loc[tip]
        bound = row["conf_high"] if grid.loc[0.0, "conclusion"] == -1 else row["conf_low"]
        assert abs(bound) < 0.01
    else:
        assert not [i for i in changes if grid.index[i] >= 0]
    completers = pd.read_csv(outputs["completers"]).set_index("variable")
    for arm in data.arms:
        total = completers.loc["n", [f"{arm}_completer_n", f"{arm}_non_completer_n"]]
        assert total.sum() == (data.patients["arm"] == arm).sum()
    fragment = yaml.safe_load(open(outputs["fragment"]))
    text = fragment["sections"][0]["blocks"][0]["text"]
    assert "tipping point" in text and "delta_adjustment" in text


def test_tipping_point_search_finds_the_crossing_of_a_significant_effect():
    patients, outcomes = simulated_trial(n=300, seed=31, missing=0.25)
    data = as_data(patients, outcomes)
    settings = {
        "primary_outcome": "odi_total", "primary_timepoint": "post", "covariates": [],
        "conf_level": 0.95,
        "multiple_imputation": {"m": 4, "iterations": 3, "donors": 5, "auxiliary": [],
                                "predictors": ["age"], "by_arm": True},
        "delta_adjustment": {"arms": "intervention", "grid_sd": [1.0, 2.0, 4.0],
                             "tolerance_sd": 1e-4},
    }  # fmt: skip
    result = delta_adjusted_analysis(data, settings, seed=2)
    grid, points = result.grid, result.points
    assert grid.loc[grid["delta"] == 0, "conclusion"].iloc[0] == -1
    tip = points["significance_high"].iloc[0]
    assert np.isfinite(tip)
    again = copy.deepcopy(settings)
    sd = points["baseline_sd"].iloc[0]
    again["delta_adjustment"]["grid_sd"] = [tip / sd]
    at_tip = delta_adjusted_analysis(data, again, seed=2).grid
    assert at_tip.loc[at_tip["delta"] > 0, "conf_high"].iloc[0] == pytest.approx(0, abs=1e-3)
    both = copy.deepcopy(settings)
    both["delta_adjustment"]["arms"] = "both"
    grid_both = delta_adjusted_analysis(data, both, seed=2).grid
    # the same shift in both arms moves the difference far less than in one arm
    move_one = np.ptp(grid["estimate"])
    move_both = np.ptp(grid_both["estimate"])
    assert move_both < move_one / 2


def test_example_cace_frame_is_the_golden_one():
    data, _ = load_analysis(small_config(), **prepare_inputs())
    frame = cace_frame(data, "odi_total", "post_intervention", 12)
    golden = pd.read_csv(ROOT / "tests" / "models" / "golden" / "iv" / "cace_example_frame.csv")
    pd.testing.assert_frame_equal(
        frame[["y", "arm", "received", "baseline"]].reset_index(drop=True), golden,
        check_dtype=False,
    )  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_cace_step(tmp_path, seed):
    config = small_config()
    config["prepare"]["analyses"]["cace"]["vcov"] = "classical"
    outputs = outputs_in(tmp_path, ["table"], figure=False)
    prepare_cace_step(config, prepare_inputs(seed), outputs)
    table = pd.read_csv(outputs["table"])
    itt, iv, per_protocol = table.to_dict("records")
    assert itt["analysis"].startswith("ITT") and iv["analysis"].startswith("CACE")
    assert per_protocol["analysis"].startswith("per protocol: non-randomised")
    data, _ = load_analysis(config, **prepare_inputs(seed))
    ancova = ancova_check(data, "odi_total", "post_intervention", [], 0.95)
    assert itt["estimate"] == pytest.approx(ancova["estimate"], rel=1e-10)
    assert itt["std_error"] == pytest.approx(ancova["std_error"], rel=1e-10)
    assert itt["n"] == ancova["n"]
    # one instrument: 2SLS = reduced form / first stage (both adjusted for baseline)
    assert iv["estimate"] == pytest.approx(itt["estimate"] / iv["compliance"], rel=1e-10)
    frame = cace_frame(data, "odi_total", "post_intervention", 12)
    treated = frame[frame["arm"] == 1]
    assert iv["n_received"] == int((treated["sessions"] >= 12).sum())
    assert 0 < iv["compliance"] <= 1 and iv["first_stage_f"] > 10
    text = yaml.safe_load(open(outputs["fragment"]))["sections"][0]["blocks"][0]["text"]
    assert "complier-average causal effect" in text and "prepare.analyses.cace" in text


def test_missing_baseline_choices_keep_or_drop_patients():
    patients, outcomes = simulated_trial(n=60, seed=4)
    lost = outcomes["patient_id"].isin(["P001", "P002", "P040"]) & (
        outcomes["timepoint"] == "baseline"
    )
    outcomes.loc[lost, "ses_total"] = np.nan
    data = as_data(patients, outcomes)
    assert without_baseline(data, "ses_total") == ["P001", "P002", "P040"]
    mixed = {"baseline": "covariate", "baseline_by_time": True, "covariance": "us",
             "random_slope": False, "df_method": "satterthwaite", "reml": True}  # fmt: skip
    used = {}
    for how in ("exclude", "clda", "impute"):
        chosen = secondary_model_inputs(data, "ses_total", mixed, how)
        settings, long, note = chosen.mixed, chosen.long, chosen.note
        model = fit_outcome_model(data, "ses_total", settings, [], 0.95, long)
        used[how] = model.used["patient_id"].nunique()
        assert note.startswith("3 patients without a baseline value")
        if how == "impute":
            base = long[long["timepoint"] == "baseline"].set_index("patient_id")["ses_total"]
            observed = data.long.loc[data.long["timepoint"] == "baseline", "ses_total"].mean()
            assert base.loc["P040"] == pytest.approx(observed)
    assert used == {"exclude": 57, "clda": 60, "impute": 60}
    unchanged = secondary_model_inputs(data, "odi_total", mixed, "clda")
    assert unchanged.mixed["baseline"] == "covariate" and unchanged.note == ""


@pytest.mark.parametrize("seed", SEEDS)
def test_model_checks_step(tmp_path, seed):
    config = small_config()
    outputs = outputs_in(tmp_path, ["residuals", "random_effects", "floor_ceiling"])
    prepare_model_checks_step(config, prepare_inputs(seed), outputs)
    residuals = pd.read_csv(outputs["residuals"])
    data, settings = load_analysis(config, **prepare_inputs(seed))
    model = fit_outcome_model(data, "odi_total", settings["mixed_model"], [], 0.95)
    np.testing.assert_allclose(residuals["fitted"] + residuals["residual"], model.fit.model.y)
    assert abs(residuals["standardized"].mean()) < 0.2
    assert 0.8 < residuals["standardized"].std() < 1.2  # normalized residuals ~ N(0, 1)
    assert pd.read_csv(outputs["random_effects"]).empty  # an MMRM has none
    floor = pd.read_csv(outputs["floor_ceiling"]).set_index(["outcome", "timepoint"])
    for t in data.timepoints:
        values = data.long.loc[data.long["timepoint"] == t, "odi_total"].dropna()
        assert floor.loc[("odi_total", t), "floor_pct"] == pytest.approx(
            100 * (values == 0).mean()
        )
        assert floor.loc[("odi_total", t), "n"] == len(values)
    flagged = floor[floor["floor_pct"] > 15]
    assert (flagged["note"].str.contains("floor")).all()
    text = yaml.safe_load(open(outputs["fragment"]))["sections"][0]["blocks"][0]["text"]
    assert "floor_ceiling_threshold" in text
