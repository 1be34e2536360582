"""The example data: the simulated truth (data/example/truth.csv) lies inside the PREPARE CIs."""

from pathlib import Path

import pandas as pd
import pytest

from trialanalysis.analyses.prepare.data import analysis_data
from trialanalysis.analyses.prepare.mediation import MODEL_4, run_mediation
from trialanalysis.analyses.prepare.models import arm_differences, fit_outcome_model
from trialanalysis.analyses.prepare.settings import resolve_settings
from trialanalysis.config import load_config
from trialanalysis.ingest import validate_all
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.scoring import score_table

ROOT = Path(__file__).resolve().parents[2]
TRUTH = pd.read_csv(ROOT / "data" / "example" / "truth.csv").query("trial == 'prepare'")


@pytest.fixture(scope="module")
def example():
    config = load_config(ROOT / "config" / "config.yaml")
    config["data_dir"] = str(ROOT / "data" / "example")
    config["instruments_dir"] = str(ROOT / "config" / "instruments")
    tables, _ = validate_all(config, trials=["prepare"])
    instruments = load_instruments(config["instruments_dir"])
    names = config["prepare"]["instruments"]["outcomes"]
    options = {k: v for k, v in config["scoring"]["options"].items() if k in names}
    scored = score_table(
        tables["prepare"]["outcomes"], {n: instruments[n] for n in names}, options=options
    )
    prepare = config["prepare"]
    data = analysis_data(
        tables["prepare"]["patients"], scored, prepare["arms"], prepare["timepoints"]
    )
    return data, resolve_settings(prepare["analyses"], data), config


@pytest.fixture(scope="module")
def differences(example):
    data, settings, _ = example
    tables = [
        arm_differences(fit_outcome_model(data, o, settings["mixed_model"]))
        for o in settings["outcomes"]
    ]
    truth = TRUTH[TRUTH["effect"] == "treatment"].rename(columns={"value": "truth"})
    merged = pd.concat(tables).merge(truth, on=["outcome", "timepoint"], validate="1:1")
    return merged.assign(inside=(merged["conf_low"] <= merged["truth"])
                         & (merged["truth"] <= merged["conf_high"]))  # fmt: skip


def test_primary_estimand_covers_the_true_effect(differences):
    primary = differences.set_index(["outcome", "timepoint"]).loc[
        ("odi_total", "post_intervention")
    ]
    assert primary["truth"] == -5.3
    assert primary["conf_low"] < primary["truth"] < primary["conf_high"]
    assert primary["conf_high"] < 0


def test_secondary_intervals_cover_the_truth_at_a_plausible_rate(differences):
    # EQ-5D truth is on the mean-level scale (1-3), not the index: not comparable
    comparable = differences[differences["outcome"] != "eq5d_index"]
    assert len(comparable) == 48
    assert comparable["inside"].mean() >= 0.85


def test_mediation_through_self_efficacy_is_recovered(example):
    data, settings, config = example
    mediation = {**settings["mediation"], "moderator": None}
    effects = run_mediation(data, mediation, config["seed"]).effects
    indirect = effects[(effects["model"] == MODEL_4) & (effects["effect"] == "indirect")]
    ses = indirect[indirect["mediator"] == "ses_total"].set_index("outcome")
    for outcome in ("odi_total", "vas_back", "eqvas_score"):
        row = ses.loc[outcome]
        assert row["conf_low"] > 0 or row["conf_high"] < 0, outcome
    truth = TRUTH.set_index(["outcome", "effect"]).loc[
        ("odi_total", "indirect_ses_total"), "value"
    ]
    assert ses.loc["odi_total", "conf_low"] < truth < ses.loc["odi_total", "conf_high"]
