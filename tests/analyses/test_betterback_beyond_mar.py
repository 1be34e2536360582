"""BetterBack: MI with earlier follow-ups, delta adjustment, completers and model checks.

Run through the workflow steps on the shipped example and on another
simulated draw (seed 5); checked for internal consistency (the delta = 0 row
is the MI analysis; tipping points lie where the conclusion changes on the
grid; counts add up) and against direct computation (residuals, BLUPs,
floor shares).
"""

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.analyses.draws import ROOT, betterback_inputs, draw_config
from trialanalysis.analyses.betterback.data import patient_design
from trialanalysis.analyses.betterback.missing import completed_scores, imputation_frame
from trialanalysis.steps.io import read_table_csv
from trialanalysis.steps.missing_data import betterback_missing_data_step
from trialanalysis.steps.model_checks import betterback_model_checks_step

SEEDS = [None, 5]
PRIMARY = ["nrs_back", "nrs_leg", "odi_total"]


def small_config() -> dict:
    config = copy.deepcopy(draw_config(ROOT / "data" / "example"))
    sensitivity = config["betterback"]["analyses"]["sensitivity"]
    sensitivity["multiple_imputation"].update(m=3, iterations=3)
    sensitivity["delta_adjustment"].update(grid_sd=[1.0], tolerance_sd=0.05)
    return config


def outputs_in(folder, names) -> dict:
    out = {n: str(folder / f"{n}.csv") for n in names}
    return out | {"figure": str(folder / "figure.svg"), "fragment": str(folder / "f.yaml")}


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_missing_data_step(tmp_path, seed):
    outputs = outputs_in(tmp_path, ["imputation", "delta_grid", "tipping", "completers"])
    inputs = betterback_inputs(seed)
    betterback_missing_data_step(small_config(), inputs, outputs)
    table = pd.read_csv(outputs["imputation"])
    assert set(table["outcome"]) == set(PRIMARY)
    kinds = table["analysis"].str.split(" ").str[0].value_counts()
    assert kinds.to_dict() == {"likelihood": 9, "multiple": 9}  # 3 outcomes x 3 follow-ups
    mi = table[table["analysis"].str.startswith("multiple")]
    assert ((mi["fmi"] > 0) & (mi["fmi"] < 1)).all() and (mi["m"] == 3).all()
    grid = pd.read_csv(outputs["delta_grid"])
    for outcome, part in grid.groupby("outcome"):
        at_zero = part[part["delta"] == 0].iloc[0]
        pooled = mi[(mi["outcome"] == outcome) & (mi["timepoint"] == "3m")].iloc[0]
        assert at_zero["estimate"] == pytest.approx(pooled["estimate"], rel=1e-9)
        assert at_zero["std_error"] == pytest.approx(pooled["std_error"], rel=1e-9)
        shifted = part[part["delta"] > 0].iloc[0]
        assert shifted["estimate"] > at_zero["estimate"]  # worse imputed intervention values
    tipping = pd.read_csv(outputs["tipping"]).set_index("outcome")
    for outcome, row in tipping.iterrows():
        part = grid[grid["outcome"] == outcome].sort_values("delta")
        if np.isfinite(row["significance_high"]):
            before = part[part["delta"] <= row["significance_high"]]["conclusion"].iloc[-1]
            after = part[part["delta"] >= row["significance_high"]]["conclusion"].iloc[0]
            assert before != after
    completers = pd.read_csv(outputs["completers"]).set_index("variable")
    patients = read_table_csv(inputs["patients"])
    for condition in ("control", "intervention"):
        counts = completers.loc["n", [f"{condition}_completer_n",
                                             f"{condition}_non_completer_n"]]  # fmt: skip
        assert counts.sum() == (patients["condition"] == condition).sum()
    fragment = yaml.safe_load(open(outputs["fragment"]))
    text = fragment["sections"][0]["blocks"][0]["text"]
    assert "clinic fixed effects" in text and "delta_adjustment" in text
    assert {m["config_key"] for m in fragment["models"]} == {
        "betterback.analyses.sensitivity.multiple_imputation"
    }


def test_imputation_frame_uses_every_follow_up_and_clinic_indicators():
    inputs = betterback_inputs()
    design = patient_design(read_table_csv(inputs["patients"]), read_table_csv(inputs["clinics"]))
    scores = read_table_csv(inputs["patient_scores"])
    timepoints = ["baseline", "3m", "6m", "12m"]
    frame, missing = imputation_frame(design, scores, PRIMARY, timepoints)
    assert list(missing.columns) == [f"{s}@{t}" for s in PRIMARY for t in timepoints]
    assert len(frame) == len(design)
    clinics = [c for c in frame.columns if c.startswith("clinic_id_")]
    periods = [c for c in frame.columns if c.startswith("period_")]
    assert len(clinics) == design["clinic_id"].nunique() - 1
    assert len(periods) == design["period"].nunique() - 1
    # dog-leg: treatment is a combination of clinic and period indicators, so it is dropped
    x = np.column_stack([np.ones(len(frame)), frame[clinics + periods]])
    beta = np.linalg.lstsq(x, design["treatment"].to_numpy(float), rcond=None)[0]
    in_span = np.allclose(x @ beta, design["treatment"])
    assert ("treatment" in frame.columns) != in_span
    wide = frame.fillna(0.0)
    back = completed_scores(wide, PRIMARY, timepoints).set_index(["patient_id", "timepoint"])
    first = design["patient_id"].iloc[0]
    assert back.loc[(first, "6m"), "odi_total"] == wide.loc[first, "odi_total@6m"]


@pytest.mark.parametrize("seed", SEEDS)
def test_model_checks_step(tmp_path, seed):
    outputs = outputs_in(tmp_path, ["residuals", "random_effects", "floor_ceiling"])
    inputs = betterback_inputs(seed)
    betterback_model_checks_step(small_config(), inputs, outputs)
    residuals = pd.read_csv(outputs["residuals"])
    assert set(residuals["model"]) == set(PRIMARY)
    for _, part in residuals.groupby("model"):
        # REML with an intercept: conditional residuals are centred, scale ~ 1
        assert abs(part["standardized"].mean()) < 0.1
        assert 0.7 < part["standardized"].std() < 1.3
    blups = pd.read_csv(outputs["random_effects"])
    clinics = read_table_csv(inputs["clinics"])
    assert (blups.groupby("model")["level"].nunique() == clinics["clinic_id"].nunique()).all()
    scores = read_table_csv(inputs["patient_scores"])
    floor = pd.read_csv(outputs["floor_ceiling"]).set_index(["outcome", "timepoint"])
    for t in ("baseline", "3m", "12m"):
        values = scores.loc[scores["timepoint"] == t, "nrs_leg"].dropna()
        assert floor.loc[("nrs_leg", t), "floor_pct"] == pytest.approx(100 * (values == 0).mean())
        assert floor.loc[("nrs_leg", t), "ceiling_pct"] == pytest.approx(
            100 * (values == 10).mean()
        )
    notes = floor.loc[floor["floor_pct"] > 15, "note"]
    assert len(notes) and notes.str.startswith("floor").all()
    text = yaml.safe_load(open(outputs["fragment"]))["sections"][0]["blocks"][0]["text"]
    assert "nrs_leg at 3m: floor" in text or seed is not None
