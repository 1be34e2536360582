"""BetterBack patient trial: Hussey & Hughes models, ICCs, analysed patients."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from tests.analyses.betterback_helpers import TRUTH, example_config, read
from trialanalysis.analyses.betterback.clusters import clinic_effects, outcome_icc_table
from trialanalysis.analyses.betterback.data import patient_design
from trialanalysis.analyses.betterback.patients import (
    analysed_patients,
    hussey_hughes,
    primary_fit,
)
from trialanalysis.errors import ConfigError

TIMEPOINTS = ["baseline", "3m", "6m", "12m"]
LABELS = {}


@pytest.fixture(scope="module")
def design():
    return patient_design(read("patients"), read("clinics"))


@pytest.fixture(scope="module")
def scores():
    return read("patient_outcomes_scores")


def settings(**changes):
    base = copy.deepcopy(example_config()["betterback"]["analyses"]["patients"])
    base.update(changes)
    return base


@pytest.fixture(scope="module")
def results(design, scores):
    return hussey_hughes(design, scores, settings(), TIMEPOINTS, LABELS)


def truth_of(outcome, timepoint):
    row = TRUTH[
        (TRUTH["trial"] == "betterback")
        & (TRUTH["outcome"] == outcome)
        & (TRUTH["timepoint"] == timepoint)
    ]
    return float(row["value"].iloc[0])


NRS_LEG_MISS = pytest.mark.xfail(
    strict=True,
    reason="known miss on the example data (seed 20261126): NRS leg at 3m is estimated at "
    "0.18 (95% CI -0.26 to 0.62) against a true -0.40; the same model recovers the effect "
    "in a larger simulated trial (test below), so this is sampling variation, not bias",
)


@pytest.mark.parametrize(
    "outcome", ["nrs_back", pytest.param("nrs_leg", marks=NRS_LEG_MISS), "odi_total"]
)
def test_primary_estimates_cover_the_simulated_truth(results, outcome):
    row = results.effects.set_index(["outcome", "timepoint"]).loc[(outcome, "3m")]
    assert row["role"] == "primary"
    assert row["conf_low"] < truth_of(outcome, "3m") < row["conf_high"]


def test_effects_table_lists_every_outcome_and_follow_up_primary_first(results):
    effects = results.effects
    assert len(effects) == 6 * 3
    assert list(effects["role"][:3]) == ["primary"] * 3
    assert set(effects.loc[effects["role"] == "primary", "timepoint"]) == {"3m"}
    assert (effects["df_method"] == "kenward-roger").all()
    assert (effects["n_clinics"] == 17).all()
    assert effects["conf_low"].lt(effects["estimate"]).all()


def test_treatment_effect_agrees_with_statsmodels_reml(results):
    data = results.data["odi_total"]
    data = data[data["timepoint"] == "3m"].dropna(
        subset=["odi_total_change", "odi_total_baseline"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm(
            "odi_total_change ~ C(period) + treatment + odi_total_baseline",
            data,
            groups=data["clinic_id"],
        ).fit(reml=True)
    row = results.effects.set_index(["outcome", "timepoint"]).loc[("odi_total", "3m")]
    assert row["estimate"] == pytest.approx(fit.params["treatment"], abs=1e-4)
    assert row["std_error"] == pytest.approx(fit.bse["treatment"], rel=2e-2)
    assert row["n_obs"] == len(data)


def test_change_and_follow_up_value_give_the_same_treatment_effect(design, scores):
    chosen = [{"score": "odi_total", "label": None, "primary": True}]
    change = hussey_hughes(
        design, scores, settings(outcomes=chosen, timepoints=["3m"]), TIMEPOINTS, LABELS
    )
    value = hussey_hughes(
        design,
        scores,
        settings(outcomes=chosen, timepoints=["3m"], response="value"),
        TIMEPOINTS,
        LABELS,
    )
    a = change.coefficients.set_index("term")
    b = value.coefficients.set_index("term")
    assert a.loc["treatment", "estimate"] == pytest.approx(
        b.loc["treatment", "estimate"], abs=1e-6
    )
    assert b.loc["odi_total_baseline", "estimate"] - a.loc["odi_total_baseline", "estimate"] == (
        pytest.approx(1.0, abs=1e-6)
    )
    assert value.effects["response"].iloc[0] == "value at follow-up, adjusted for baseline"


def test_outcome_without_baseline_is_analysed_as_its_follow_up_value(results):
    spec = results.specs["pei_total"]
    assert not spec.outcome.baseline
    assert spec.formula == "pei_total ~ C(period) + treatment + (1 | clinic_id)"
    pei = results.effects[results.effects["outcome"] == "pei_total"]
    assert (pei["response"] == "value at follow-up (no baseline measurement)").all()


def test_repeated_model_gives_time_specific_effects_from_one_fit(design, scores):
    chosen = [{"score": "odi_total", "label": None, "primary": True}]
    result = hussey_hughes(
        design,
        scores,
        settings(
            outcomes=chosen,
            model="repeated",
            random_effects=["(1 | clinic_id)", "(1 | patient_id)"],
        ),
        TIMEPOINTS,
        LABELS,
    )
    assert list(result.effects["timepoint"]) == ["3m", "6m", "12m"]
    fit = result.fits[("odi_total", "all")]
    table = fit.coefficients.set_index("term")
    for _, row in result.effects.iterrows():
        term = f"timepoint[{row['timepoint']}]:treatment"
        assert row["estimate"] == pytest.approx(table.loc[term, "estimate"])
    assert result.effects["n_obs"].sum() == len(fit.model.frame)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outcomes": [{"score": "vas_back", "label": None, "primary": True}]}, "vas_back"),
        ({"covariates": ["shoe_size"]}, "shoe_size"),
    ],
)
def test_settings_the_data_lack_are_clear_errors(design, scores, changes, message):
    with pytest.raises(ConfigError, match=message):
        hussey_hughes(design, scores, settings(**changes), TIMEPOINTS, LABELS)


def test_covariates_from_the_patients_table_and_baseline_scores(design, scores):
    chosen = [{"score": "nrs_back", "label": None, "primary": True}]
    result = hussey_hughes(
        design,
        scores,
        settings(outcomes=chosen, timepoints=["3m"], covariates=["age", "sex", "startback_total"]),
        TIMEPOINTS,
        LABELS,
    )
    formula = result.specs["nrs_back"].formula
    assert formula.endswith("+ age + sex + startback_total_baseline + (1 | clinic_id)")
    terms = set(result.coefficients["term"])
    assert {"age", "sex[T.male]", "startback_total_baseline"} <= terms


def test_analysed_patients_are_the_rows_of_the_primary_models(results, design):
    analysed = analysed_patients(results, settings())
    assert list(analysed.columns) == ["patient_id", "timepoint", "outcome"]
    assert set(analysed["outcome"]) == {"nrs_back", "nrs_leg", "odi_total"}
    fit = primary_fit(results, settings(), "odi_total")
    at_3m = analysed[(analysed["outcome"] == "odi_total") & (analysed["timepoint"] == "3m")]
    assert sorted(at_3m["patient_id"]) == sorted(fit.model.frame["patient_id"])
    assert set(analysed["patient_id"]) <= set(design["patient_id"])


def test_icc_and_design_effect_follow_from_the_variance_components(results):
    table = outcome_icc_table(results, settings(), "kenward-roger").table
    assert set(table["outcome"]) == {"nrs_back", "nrs_leg", "odi_total"}
    row = table[(table["outcome"] == "odi_total") & (table["model"] == "primary model (adjusted)")]
    row = row.iloc[0]
    fit = primary_fit(results, settings(), "odi_total")
    clinic_variance = (fit.theta[0] * fit.sigma) ** 2
    icc = clinic_variance / (clinic_variance + fit.sigma**2)
    assert row["icc"] == pytest.approx(icc, rel=1e-6)
    sizes = fit.model.frame.groupby("clinic_id")["patient_id"].nunique().to_numpy(float)
    cv = sizes.std(ddof=0) / sizes.mean()
    expected = 1 + ((cv**2 + 1) * sizes.mean() - 1) * icc
    assert row["design_effect"] == pytest.approx(expected, rel=1e-3)
    assert row["conf_low"] <= row["icc"] <= row["conf_high"]
    unadjusted = table[table["model"] == "outcome only (unadjusted)"]
    assert (unadjusted["formula"].str.endswith("~ 1 + (1 | clinic_id)")).all()


def test_clinic_effects_cover_every_clinic_of_each_primary_model(results):
    effects = clinic_effects(results, settings())
    assert effects.groupby("outcome")["level"].nunique().to_dict() == {
        "nrs_back": 17,
        "nrs_leg": 17,
        "odi_total": 17,
    }
    # NRS leg's clinic variance is estimated at zero: its modes and SDs are zero
    leg = effects[effects["outcome"] == "nrs_leg"]
    assert np.allclose(leg["estimate"], 0) and np.allclose(leg["cond_sd"], 0)
    assert (effects.loc[effects["outcome"] == "odi_total", "cond_sd"] > 0).all()


def test_timepoint_without_observations_is_reported_not_fitted(design, scores):
    chosen = [{"score": "pei_total", "label": None, "primary": False}]
    empty = scores.assign(
        pei_total=np.where(scores["timepoint"] == "12m", np.nan, scores["pei_total"])
    )
    result = hussey_hughes(design, empty, settings(outcomes=chosen), TIMEPOINTS, LABELS)
    assert list(result.effects["timepoint"]) == ["3m", "6m"]
    row = result.diagnostics[result.diagnostics["timepoint"] == "12m"].iloc[0]
    assert row["warnings"].startswith("not fitted: pei_total not observed at 12m")
    assert isinstance(result.effects, pd.DataFrame)


def test_a_larger_simulated_trial_recovers_the_primary_effects():
    # 60 clinics and 6000 patients from the same simulation settings: the
    # primary estimates' 95% CIs hold the truth. (NRS leg has a floor at 0 at
    # follow-up, which attenuates its effect a little; see the xfail above.)
    from pathlib import Path

    from trialanalysis.instruments import load_instruments
    from trialanalysis.instruments.scoring import score_table
    from trialanalysis.simulation import simulate

    root = Path(__file__).resolve().parents[2]
    instruments = load_instruments(root / "config" / "instruments")
    sizes = {"clinics": 60, "clusters": {"A": 20, "B": 20, "C": 20}, "patients": 6000}
    simulated = simulate(
        root / "config" / "simulation.yaml",
        instruments,
        seed=20261126,
        overrides={"betterback": {**sizes, "therapists": 300}, "prepare": {"patients": 20}},
    )["betterback"]
    scored = score_table(
        simulated["patient_outcomes"], {n: instruments[n] for n in ("odi", "nrs")}
    )
    ids = {c: "string" for c in ("patient_id", "clinic_id", "therapist_id")}
    design = patient_design(
        simulated["patients"].astype(ids), simulated["clinics"].astype({"clinic_id": "string"})
    )
    chosen = [
        {"score": s, "label": None, "primary": True} for s in ("nrs_back", "nrs_leg", "odi_total")
    ]
    result = hussey_hughes(
        design.astype({"clinic_id": "string"}),
        scored.astype({"patient_id": "string", "timepoint": "string"}),
        settings(outcomes=chosen, timepoints=["3m"], df_method="satterthwaite"),
        TIMEPOINTS,
        LABELS,
    )
    for _, row in result.effects.iterrows():
        assert row["conf_low"] < truth_of(row["outcome"], "3m") < row["conf_high"], row["outcome"]
    assert (result.effects["n_clinics"] == 60).all()
