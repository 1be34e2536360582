"""Schema and cross-checks of config/simulation.yaml."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from trialanalysis.cli.main import main
from trialanalysis.errors import ConfigError
from trialanalysis.simulation import load_simulation_config, simulate
from trialanalysis.simulation.checks import check_simulation_config

ROOT = Path(__file__).resolve().parents[2]
SIM_CONFIG = ROOT / "config" / "simulation.yaml"
BASE = yaml.safe_load(SIM_CONFIG.read_text(encoding="utf-8"))
FIVE_PERIODS = {
    "clusters": {"A": 4, "B": 4, "C": 4, "D": 5},
    "schedule": {
        "A": ["control", "intervention", "intervention", "intervention", "intervention"],
        "B": ["control", "control", "intervention", "intervention", "intervention"],
        "C": ["control", "control", "control", "intervention", "intervention"],
        "D": ["control", "control", "control", "control", "intervention"],
    },
}


def test_shipped_config_is_valid():
    assert load_simulation_config(SIM_CONFIG)["seed"] == BASE["seed"]


def test_five_periods_with_four_period_effects_names_every_key(tmp_path, capsys):
    # A new user's complete stepped wedge: the period effects still have 4 values.
    config = copy.deepcopy(BASE)
    config["betterback"].update(FIVE_PERIODS)
    with pytest.raises(ConfigError) as caught:
        check_simulation_config(config, source="sim.yaml")
    message = str(caught.value)
    for score in ("odi_total", "nrs_back", "nrs_leg", "eq5d_index", "pei_total", "bipq_total"):
        assert (
            f"sim.yaml: betterback/patient/scores/{score}/period_effect: 4 values, but "
            "betterback/schedule has 5 periods" in message
        )
    assert "startback_total" not in message  # baseline only: no period effect needed
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["simulate", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "period_effect: 4 values" in err and "IndexError" not in err
    assert not (tmp_path / "out").exists()


def test_five_periods_simulate_once_the_period_effects_match():
    config = copy.deepcopy(BASE)
    config["betterback"].update(FIVE_PERIODS)
    for score in config["betterback"]["patient"]["scores"].values():
        if "period_effect" in score:
            score["period_effect"] = [*score["period_effect"], score["period_effect"][-1]]
    tables = simulate(config, ROOT / "config" / "instruments")["betterback"]
    assert sorted(tables["schedule"]["period"].unique()) == [1, 2, 3, 4, 5]


SCORES = ("betterback", "patient", "scores")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("betterback", "clinics"), 18,
         "betterback/clusters: the clusters hold 17 clinics but betterback/clinics is 18"),
        (("betterback", "schedule"), {"A": ["control"], "B": ["control"], "C": ["control"]},
         "betterback/schedule: no sequence is ever switched to intervention"),
        (("betterback", "schedule"), {"A": ["control", "intervention"]},
         "betterback/schedule: needs one row per cluster"),
        (("betterback", "clinic_size_cv"), 0, "betterback/clinic_size_cv"),
        (("betterback", "patient", "dropout", "rate"), {"3m": 0.1},
         "betterback/patient/dropout/rate: no value for ['6m', '12m']"),
        ((*SCORES, "odi_total", "treatment_effect"), {"3m": -4.0},
         "betterback/patient/scores/odi_total/treatment_effect: no value for ['6m', '12m']"),
        (("betterback", "patients"), "many",
         "betterback/patients: 'many' is not of type 'integer'"),
        (("betterback", "therapist", "scores", "pcs_total", "mean"), {"baseline": 1.0},
         "betterback/therapist/scores/pcs_total/mean: no value for "
         "['post_training', '3m', '12m']"),
    ],
)  # fmt: skip
def test_problems_name_the_key(path, value, message):
    config = copy.deepcopy(BASE)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(ConfigError) as caught:
        check_simulation_config(config)
    assert message in str(caught.value)


def test_prepare_mediator_and_typo_are_reported_together():
    config = copy.deepcopy(BASE)
    config["prepare"]["scores"]["odi_total"]["mediators"] = {"ses_totl": -0.1}
    config["prepare"]["patiens"] = 10
    with pytest.raises(ConfigError) as caught:
        check_simulation_config(config)
    assert "unknown key 'patiens' (did you mean 'patients'?)" in str(caught.value)
    config["prepare"].pop("patiens")
    with pytest.raises(ConfigError) as caught:
        check_simulation_config(config)
    assert "prepare/scores/odi_total/mediators: 'ses_totl' is not a simulated score" in str(
        caught.value
    )
