"""Ingest settings: defaults in one place, agreeing with the config schema."""

from __future__ import annotations

import pytest

from tests.ingest.helpers import INSTRUMENTS_DIR
from trialanalysis.config import validate_config
from trialanalysis.errors import ConfigError
from trialanalysis.ingest import DEFAULT_SETTINGS, resolve_settings, trial_contract


def _leaves(mapping, prefix=()):
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def test_defaults_agree_with_the_config_schema():
    """Every ingest key the config schema knows has the same default there."""
    schema_defaults = validate_config({})
    compared = 0
    for path, value in _leaves(DEFAULT_SETTINGS):
        node = schema_defaults
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            assert node == value, path
            compared += 1
    assert compared >= 10


def test_resolve_merges_partial_config():
    settings = resolve_settings({"prepare": {"files": {"patients": "p.xlsx"}}, "seed": 1})
    assert settings["prepare"]["files"] == {
        "patients": "p.xlsx",
        "outcomes": "prepare/outcomes.csv",
    }
    assert settings["seed"] == 1
    assert settings["input"]["missing_codes"] == [-9, -99]
    assert DEFAULT_SETTINGS["prepare"]["files"]["patients"] == "prepare/patients.csv"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"input": {"csv": {"separator": "|"}}}, "input.csv.separator must be one of"),
        ({"input": {"csv": {"decimals": ","}}}, "did you mean 'decimal'"),
        ({"betterback": {"files": {"patient": "x.csv"}}}, "did you mean 'patients'"),
        ({"prepare": {"layout": {"outcomes": "tall"}}}, "prepare.layout.outcomes must be one of"),
        ({"prepare": {"timepoints": ["a", "a"]}}, "distinct time points"),
        ({"privacy": {"min_cell_size": 0}}, "min_cell_size"),
        ({"input": {"missing_codes": -9}}, "missing_codes must be a list"),
    ],
)
def test_bad_settings_are_reported(config, message):
    with pytest.raises(ConfigError, match=message):
        resolve_settings(config)


def test_unknown_instrument_in_config():
    config = {
        "instruments_dir": str(INSTRUMENTS_DIR),
        "prepare": {"instruments": {"outcomes": ["odi", "oswestry"]}},
    }
    with pytest.raises(ConfigError, match="no instrument definition 'oswestry'"):
        trial_contract(config, "prepare")
    config = {"instruments_dir": str(INSTRUMENTS_DIR), "prepare": {"layout": {"patients": "wide"}}}
    with pytest.raises(ConfigError, match="only tables with time points"):
        trial_contract(config, "prepare")


def test_contract_takes_item_ranges_from_instrument_definitions():
    contract = trial_contract({"instruments_dir": str(INSTRUMENTS_DIR)}, "betterback")
    outcomes = contract["patient_outcomes"]
    startback_9 = outcomes.column("startback_9")
    assert (startback_9.minimum, startback_9.maximum, startback_9.whole) == (1, 5, True)
    care = contract["care"]
    assert care.column_names[1:] == [
        "referral_specialist",
        "referral_imaging",
        "education_given",
        "exercise_given",
        "non_evidence_treatment",
    ]
    with pytest.raises(ConfigError, match="unknown trial"):
        trial_contract({"instruments_dir": str(INSTRUMENTS_DIR)}, "betterbak")
