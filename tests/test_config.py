"""The workflow config and its schema: documented, defaulted, strict."""

from pathlib import Path

import pytest
import yaml

from trialanalysis.config import load_config, load_schema, validate_config
from trialanalysis.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def walk(schema, path="", inherited=None):
    """Yield (path, subschema, default supplied by the parent) for every property."""
    for name, sub in schema.get("properties", {}).items():
        supplied = (inherited or {}).get(name) if isinstance(inherited, dict) else None
        yield f"{path}/{name}", sub, supplied
        yield from walk(sub, f"{path}/{name}", sub.get("default", supplied))


def test_every_key_has_a_description_and_a_default():
    schema = load_schema("config.schema.yaml")
    keys = list(walk(schema))
    assert len([k for k in keys if k[0].count("/") == 1]) >= 8
    for path, sub, supplied in keys:
        assert sub.get("description"), f"{path} has no description"
        assert "default" in sub or supplied is not None, f"{path} has no default"


def test_schema_declares_json_schema_2020_12():
    assert load_schema("config.schema.yaml")["$schema"].endswith("2020-12/schema")


def test_shipped_config_is_valid_and_an_empty_config_gets_every_default():
    shipped = load_config(ROOT / "config" / "config.yaml")
    defaults = validate_config({})
    assert set(shipped) == set(defaults)
    assert defaults["data_dir"] == "data/example"
    assert defaults["betterback"]["timepoints"]["patient"][0] == "baseline"


def test_a_misspelt_key_is_named_with_the_closest_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"data_dri": "x", "privacy": {"min_cel_size": 3}}))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "unknown key 'data_dri' (did you mean 'data_dir'?)" in message
    assert "privacy: unknown key 'min_cel_size' (did you mean 'min_cell_size'?)" in message


def test_wrong_types_and_choices_are_reported_with_their_path():
    with pytest.raises(ConfigError, match="seed: 'x' is not of type 'integer'"):
        validate_config({"seed": "x"})
    with pytest.raises(ConfigError, match="prepare/arms"):
        validate_config({"prepare": {"arms": ["one"]}})


def test_overrides_replace_top_level_keys(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: a\n")
    assert load_config(path, overrides={"data_dir": "b"})["data_dir"] == "b"
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
