"""Estimand and multiplicity text from the config; schema validation of estimands."""

import copy

import pytest

from trialanalysis.config import validate_config
from trialanalysis.errors import ConfigError
from trialanalysis.reporting.estimands import estimand_text, estimands_section, multiplicity_text


@pytest.fixture(scope="module")
def config():
    return validate_config({})


def test_default_estimands_name_every_attribute(config):
    text = estimand_text(
        config["betterback"]["analyses"]["patients"]["estimand"], "BetterBack", True
    )
    for part in ("Population:", "Treatment:", "Variable:", "Intercurrent events:",
                 "Population-level summary:", "individual-average effect"):  # fmt: skip
        assert part in text
    assert "treatment policy strategy" in text
    prepare = estimand_text(config["prepare"]["analyses"]["estimand"], "PREPARE")
    assert "Surgery before the post-intervention visit: treatment policy" in prepare
    assert "Weighting" not in prepare


def test_cluster_average_is_stated(config):
    estimand = dict(config["betterback"]["analyses"]["patients"]["estimand"], level="cluster")
    assert "cluster-average effect" in estimand_text(estimand, "BetterBack", True)


def test_multiplicity_text_per_method():
    family = ["nrs_back", "nrs_leg", "odi_total"]
    assert "Holm's step-down" in multiplicity_text({"method": "holm"}, family, "co-primary")
    assert "not adjusted" in multiplicity_text({"method": "none"}, family, "co-primary")
    text = multiplicity_text(
        {"method": "hierarchical", "order": ["odi_total", "nrs_back", "nrs_leg"]}, family, "x"
    )
    assert "odi_total > nrs_back > nrs_leg" in text
    assert "no adjustment is needed" in multiplicity_text({"method": "holm"}, ["odi"], "x")


def test_section_holds_both_trials(config):
    section = estimands_section(config)
    texts = [b.text for b in section.blocks]
    assert len(texts) == 4
    assert texts[0].startswith("BetterBack primary estimand")
    assert "Holm" in texts[1] and "nrs_back, nrs_leg, odi_total" in texts[1]
    assert texts[2].startswith("PREPARE primary estimand")
    assert "one hypothesis" in texts[3]


def test_schema_rejects_an_unknown_strategy_and_a_missing_attribute(config):
    estimand = copy.deepcopy(config["prepare"]["analyses"]["estimand"])
    estimand["intercurrent_events"][0]["strategy"] = "last observation carried forward"
    with pytest.raises(ConfigError, match="strategy"):
        validate_config({"prepare": {"analyses": {"estimand": estimand}}})
    del estimand["population"]
    with pytest.raises(ConfigError, match="population"):
        validate_config({"prepare": {"analyses": {"estimand": estimand}}})
    with pytest.raises(ConfigError, match="method"):
        validate_config(
            {"betterback": {"analyses": {"patients": {"multiplicity": {"method": "bonf"}}}}}
        )
