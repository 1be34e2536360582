"""PREPARE mediation: estimates equal ordinary least squares on the changes, computed directly."""

import numpy as np
import pytest

from tests.analyses.helpers import as_data, simulated_trial
from trialanalysis.analyses.prepare.mediation import MODEL_4, MODEL_7, run_mediation

SETTINGS = {
    "mediators": ["ses_total", "hads_depression"],
    "outcomes": ["odi_total"],
    "from_timepoint": "baseline",
    "to_timepoint": "3m",
    "adjust_for_baseline": True,
    "moderator": "expectation",
    "moderator_values": [4, 9],
    "n_boot": 300,
}


@pytest.fixture(scope="module")
def trial():
    patients, outcomes = simulated_trial(n=160, seed=11, missing=0.05)
    return patients, outcomes, as_data(patients, outcomes)


@pytest.fixture(scope="module")
def result(trial):
    return run_mediation(trial[2], SETTINGS, seed=4)


def ols(y, *columns):
    X = np.column_stack([np.ones(len(y)), *columns])
    return np.linalg.lstsq(X, y, rcond=None)[0]


def direct_frame(patients, outcomes):
    """Changes baseline -> 3m computed here, without the package."""
    wide = outcomes.pivot(index="patient_id", columns="timepoint")
    frame = patients.set_index("patient_id")[["arm", "expectation"]].copy()
    frame["x"] = (frame["arm"] == "treated").astype(float)
    for score in ("ses_total", "hads_depression", "odi_total"):
        frame[f"{score}_0"] = wide[(score, "baseline")]
        frame[f"{score}_d"] = wide[(score, "3m")] - wide[(score, "baseline")]
    return frame.dropna()


def test_effects_equal_products_of_ols_coefficients(trial, result):
    effects, paths = result.effects, result.paths
    frame = direct_frame(*trial[:2])
    starts = [frame[f"{s}_0"] for s in ("ses_total", "hads_depression", "odi_total")]
    a_ses = ols(frame["ses_total_d"], frame["x"], *starts)[1]
    a_hads = ols(frame["hads_depression_d"], frame["x"], *starts)[1]
    outcome = ols(frame["odi_total_d"], frame["x"], frame["ses_total_d"],
                  frame["hads_depression_d"], *starts)  # fmt: skip
    total = ols(frame["odi_total_d"], frame["x"], *starts)[1]
    mine = effects[effects["model"] == MODEL_4].set_index(["effect", "mediator"])
    assert mine.loc[("indirect", "ses_total"), "estimate"] == pytest.approx(a_ses * outcome[2])
    assert mine.loc[("indirect", "hads_depression"), "estimate"] == pytest.approx(
        a_hads * outcome[3]
    )
    assert mine.loc[("direct", ""), "estimate"] == pytest.approx(outcome[1])
    assert mine.loc[("total", ""), "estimate"] == pytest.approx(total)
    assert (mine["n"] == len(frame)).all()
    path = paths[paths["model"] == MODEL_4].set_index(["equation", "term"])["estimate"]
    assert path[("ses_total", "treatment")] == pytest.approx(a_ses)
    assert path[("odi_total", "ses_total")] == pytest.approx(outcome[2])


def test_conditional_indirect_effects_at_configured_values(trial, result):
    effects = result.effects
    frame = direct_frame(*trial[:2])
    starts = [frame[f"{s}_0"] for s in ("ses_total", "hads_depression", "odi_total")]
    w = frame["expectation"]
    a = ols(frame["ses_total_d"], frame["x"], w, frame["x"] * w, *starts)
    b = ols(frame["odi_total_d"], frame["x"], frame["ses_total_d"],
            frame["hads_depression_d"], *starts)[2]  # fmt: skip
    moderated = effects[(effects["model"] == MODEL_7) & (effects["mediator"] == "ses_total")]
    conditional = moderated[moderated["effect"] == "conditional_indirect"]
    for value in (4, 9):
        row = conditional[conditional["moderator_value"] == value].iloc[0]
        assert row["estimate"] == pytest.approx((a[1] + a[3] * value) * b)
    index = moderated[moderated["effect"] == "index_of_moderated_mediation"].iloc[0]
    assert index["estimate"] == pytest.approx(a[3] * b)


def test_the_built_in_mediation_is_recovered(result):
    # simulated (helpers.simulated_trial), baseline -> 3m is two steps: a(ses) = 2 * (6 + 1.5 *
    # (expectation - 7)), expectation uniform on 3..10 (mean 6.5) -> a = 10.5; b = -0.3
    truth = 10.5 * -0.3
    effects = result.effects
    row = effects[(effects["model"] == MODEL_4) & (effects["mediator"] == "ses_total")]
    row = row[row["effect"] == "indirect"].iloc[0]
    assert row["conf_high"] < 0
    assert row["conf_low"] < truth < row["conf_high"]
    null = effects[(effects["model"] == MODEL_4) & (effects["mediator"] == "hads_depression")]
    null = null[null["effect"] == "indirect"].iloc[0]  # depression does not enter the outcome
    assert null["conf_low"] < 0 < null["conf_high"]


def test_bootstrap_is_seeded(trial, result):
    again = run_mediation(trial[2], SETTINGS, seed=4).effects
    assert again.equals(result.effects)
    other = run_mediation(trial[2], {**SETTINGS, "moderator": None}, seed=5).effects
    assert set(other["model"]) == {MODEL_4}
    assert not np.allclose(
        other["conf_low"], result.effects.query("model == @MODEL_4")["conf_low"]
    )


def test_diagnostics_count_the_patients_left_out(trial):
    result = run_mediation(trial[2], {**SETTINGS, "n_boot": 100}, seed=1)
    effects, rows = result.effects, result.diagnostics.to_dict("records")
    assert [r["analysis"] for r in rows] == [f"mediation, {MODEL_4}", f"mediation, {MODEL_7}"]
    n_used = int(effects["n"].iloc[0])
    assert all(r["n_used"] == n_used and r["n_dropped"] == 160 - n_used for r in rows)
    assert n_used < 160  # 5% of follow-up values are missing
