"""Ingest settings: the config schema's defaults, partial configs, clear errors."""

from __future__ import annotations

import pytest

from tests.ingest.helpers import INSTRUMENTS_DIR
from trialanalysis.errors import ConfigError
from trialanalysis.ingest import DEFAULT_SETTINGS, resolve_settings, trial_contract


def test_resolve_merges_partial_config():
    settings = resolve_settings({"prepare": {"files": {"patients": "p.xlsx"}}, "seed": 1})
    assert settings["prepare"]["files"] == {
        "patients": "p.xlsx",
        "outcomes": "prepare/outcomes.csv",
        "adverse_events": "prepare/adverse_events.csv",
        "screening": "prepare/screening.csv",
    }
    assert settings["seed"] == 1
    assert settings["input"]["missing_codes"] == [-9, -99]
    assert DEFAULT_SETTINGS["prepare"]["files"]["patients"] == "prepare/patients.csv"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"input": {"csv": {"separator": "|"}}}, "input/csv/separator: '\\|' is not one of"),
        ({"input": {"csv": {"decimals": ","}}}, "did you mean 'decimal'"),
        ({"betterback": {"files": {"patient": "x.csv"}}}, "did you mean 'patients'"),
        ({"prepare": {"layout": {"outcomes": "tall"}}}, "prepare/layout/outcomes: 'tall' is not"),
        ({"prepare": {"layout": {"patients": "wide"}}}, "'patients' is not one of"),
        ({"prepare": {"timepoints": ["a", "a"]}}, "non-unique"),
        ({"privacy": {"min_cell_size": 0}}, "privacy/min_cell_size: 0 is less than"),
        ({"input": {"missing_codes": -9}}, "input/missing_codes: -9 is not of type 'array'"),
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
