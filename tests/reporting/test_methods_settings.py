"""The methods text states the configured inference, multiplicity and sensitivity settings."""

from __future__ import annotations

from trialanalysis.config import validate_config
from trialanalysis.reporting.methods import analysis_settings_lines


def test_defaults_are_stated_with_their_keys():
    text = "\n".join(analysis_settings_lines(validate_config({})))
    assert "policy `model` (`betterback.analyses.patients.df_policy`" in text
    assert "multiplicity `holm`" in text
    assert "receipt = at least 12 sessions, HC1 standard errors" in text
    assert "secondary outcomes without a baseline value: `clda`" in text


def test_changed_settings_change_the_text():
    patients = {"df_policy": "cluster-level", "multiplicity": {"method": "hochberg"}}
    config = validate_config(
        {
            "betterback": {
                "analyses": {
                    "patients": patients,
                    "sensitivity": {"inference": ["therapist"], "multiple_imputation": {"m": 0}},
                }
            },
            "prepare": {"analyses": {"cace": {"threshold": 8, "vcov": "classical"}}},
        }
    )
    text = "\n".join(analysis_settings_lines(config))
    assert "policy `cluster-level`" in text and "multiplicity `hochberg`" in text
    assert "BetterBack inference set: therapist " in text
    assert "BetterBack departures from MAR" not in text  # no imputation, no delta shift
    assert "at least 8 sessions, classical standard errors" in text
