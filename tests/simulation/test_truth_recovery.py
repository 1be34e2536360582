"""Simple models fitted to large simulated draws recover the configured truth."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
import yaml

from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.psychometrics import psychometrics_table
from trialanalysis.instruments.scoring import score_table
from trialanalysis.simulation import simulate

ROOT = Path(__file__).resolve().parents[2]
SIM_CONFIG = ROOT / "config" / "simulation.yaml"
TRUTH = yaml.safe_load(SIM_CONFIG.read_text())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def instruments():
    return load_instruments(ROOT / "config" / "instruments")


@pytest.fixture(scope="module")
def large(instruments):
    return simulate(
        SIM_CONFIG,
        instruments,
        seed=99,
        overrides={
            "betterback": {
                "clinics": 150,
                "clusters": {"A": 50, "B": 50, "C": 50},
                "patients": 15000,
                "therapists": 900,
            },
            "prepare": {"patients": 4000},
        },
    )


def scored(frame, instruments, names):
    return score_table(frame, {n: instruments[n] for n in names})


def fit_mixed(formula, data, groups):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(formula, data, groups=data[groups]).fit(reml=True)


def test_betterback_treatment_effect_and_icc(large, instruments):
    bb = large["betterback"]
    outcomes = scored(bb["patient_outcomes"], instruments, ["odi", "bipq"])
    for score, tolerance in [("odi_total", 0.9), ("bipq_total", 0.9)]:
        wide = outcomes.pivot(index="patient_id", columns="timepoint", values=score)
        data = bb["patients"].set_index("patient_id").join(wide).dropna(subset=["baseline", "3m"])
        data["treated"] = (data["condition"] == "intervention").astype(int)
        data = data.rename(columns={"3m": "y"})
        fit = fit_mixed("y ~ C(period) + treated + baseline", data, "clinic_id")
        truth = TRUTH["betterback"]["patient"]["scores"][score]
        assert fit.params["treated"] == pytest.approx(
            truth["treatment_effect"]["3m"], abs=tolerance
        )
    # BIPQ has no floor effect (ODI has, at 3 months), so its baseline slope and
    # clinic-level ICC are recovered closely
    assert fit.params["baseline"] == pytest.approx(truth["baseline_slope"], abs=0.04)
    clinic_var = fit.cov_re.iloc[0, 0]
    icc = clinic_var / (clinic_var + fit.scale)
    true_icc = truth["sd_clinic"] ** 2 / (
        truth["sd_clinic"] ** 2 + truth["sd_patient"] ** 2 + truth["sd_residual"] ** 2
    )
    assert icc == pytest.approx(true_icc, abs=0.012)


def test_betterback_binary_care_indicators(large):
    bb = large["betterback"]
    care = bb["care"].merge(bb["patients"], on="patient_id")
    for column, spec in TRUTH["betterback"]["care"].items():
        control_rate = care.loc[care["condition"] == "control", column].mean()
        # the clinic random effect and severity make the marginal rate differ a little
        assert control_rate == pytest.approx(spec["control_rate"], abs=0.06), column
        odds = care.groupby("condition")[column].mean()
        odds = odds / (1 - odds)
        log_or = np.log(odds["intervention"] / odds["control"])
        assert np.sign(log_or) == np.sign(np.log(spec["odds_ratio"])), column


def test_therapist_means_follow_the_configured_trajectory(large, instruments):
    responses = scored(
        large["betterback"]["therapist_responses"], instruments, ["pcs", "pabs", "dibq"]
    )
    means = responses.groupby("timepoint")[["pcs_total", "pabs_bm", "dibq_organisation"]].mean()
    scores = TRUTH["betterback"]["therapist"]["scores"]
    for column, tolerance in [("pcs_total", 0.3), ("pabs_bm", 0.6), ("dibq_organisation", 2.0)]:
        for timepoint, value in scores[column]["mean"].items():
            assert means.loc[timepoint, column] == pytest.approx(value, abs=tolerance)


def test_prepare_effects_and_mediation(large, instruments):
    prepare = large["prepare"]
    outcomes = scored(prepare["outcomes"], instruments, ["odi", "ses"])
    wide = outcomes.pivot(
        index="patient_id", columns="timepoint", values=["odi_total", "ses_total"]
    )
    data = prepare["patients"].set_index("patient_id")
    data["treated"] = (data["arm"] == "physiotherapy").astype(int)
    data["d_odi"] = wide[("odi_total", "post_intervention")] - wide[("odi_total", "baseline")]
    data["d_ses"] = wide[("ses_total", "post_intervention")] - wide[("ses_total", "baseline")]
    data = data.dropna(subset=["d_odi", "d_ses"])
    scores = TRUTH["prepare"]["scores"]
    a_path = smf.ols("d_ses ~ treated", data).fit().params["treated"]
    assert a_path == pytest.approx(scores["ses_total"]["direct_effect"], abs=1.5)
    b_path = smf.ols("d_odi ~ treated + d_ses", data).fit().params["d_ses"]
    # other mediators correlate with self-efficacy only through treatment
    assert b_path == pytest.approx(scores["odi_total"]["mediators"]["ses_total"], abs=0.03)
    total = smf.ols("d_odi ~ treated", data).fit().params["treated"]
    true_total = scores["odi_total"]["direct_effect"] + sum(
        path * scores[m]["direct_effect"] for m, path in scores["odi_total"]["mediators"].items()
    )
    assert total == pytest.approx(true_total, abs=0.8)


def test_simulated_scales_have_realistic_internal_consistency(instruments):
    data = simulate(SIM_CONFIG, instruments)
    tables = [
        (data["betterback"]["therapist_responses"], ["pabs", "pcs", "dibq"]),
        (data["betterback"]["patient_outcomes"], ["odi", "eq5d", "startback", "pei", "bipq"]),
        (data["prepare"]["outcomes"], ["odi", "eq5d", "ses", "fabq", "tsk", "hads"]),
    ]
    rows = []
    for frame, names in tables:
        table = psychometrics_table(frame, {n: instruments[n] for n in names}, by="timepoint")
        rows.append(table.dropna(subset=["cronbach_alpha"]))
    alphas = pd.concat(rows)
    # short DIBQ domains (2-3 items) and the 5-item subscales sit lower, as in real data
    assert alphas["cronbach_alpha"].between(0.5, 0.95).all(), alphas.loc[
        ~alphas["cronbach_alpha"].between(0.5, 0.95), ["instrument", "score", "cronbach_alpha"]
    ]
    main_scales = alphas[
        alphas["column"].isin(
            ["odi_total", "pabs_bm", "pabs_bps", "ses_total", "tsk_total", "bipq_total"]
        )
    ]
    assert main_scales["cronbach_alpha"].between(0.6, 0.95).all()
