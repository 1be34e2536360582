"""Power spec validation, impossible designs and the ``trialanalysis power`` command."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from trialanalysis.cli.main import main
from trialanalysis.errors import ConfigError
from trialanalysis.power.spec import load_power_spec

C, T, N = "control", "intervention", None
SPEC = {
    "design": {
        "schedule": {"A": [C, T, N, N], "B": [N, C, T, N], "C": [N, N, C, T]},
        "clusters_per_sequence": {"A": 6, "B": 6, "C": 5},
        "individuals_per_cluster_period": 10,
    },
    "outcome": {"sd": 14.0, "icc": 0.05, "cac": 1.0},
    "effect": -4.0,
}


def with_changes(**design):
    spec = copy.deepcopy(SPEC)
    spec["design"].update(design)
    return spec


def test_defaults_are_filled_and_clusters_expanded():
    spec = load_power_spec(SPEC)
    assert spec.n_clusters == 17 and spec.n_periods == 4
    assert (spec.alpha, spec.df_method, spec.cac, spec.dropout) == (0.05, "kenward-roger", 1, 0)
    assert spec.t_df == 15
    assert np.isnan(spec.treatment[0, 2]) and spec.treatment[6, 2] == 1.0
    assert spec.sizes.sum() == 17 * 2 * 10


def test_known_sizes_per_cluster_and_period():
    sizes = {"A": [[4, 5, 0, 0]] * 6, "B": [7] * 6, "C": [[None, None, 3, 9]] * 5}
    spec = load_power_spec(with_changes(individuals_per_cluster_period=sizes))
    assert spec.sizes[0].tolist() == [4, 5, 0, 0]
    assert spec.sizes[6].tolist() == [0, 7, 7, 0]
    assert spec.sizes[-1].tolist() == [0, 0, 3, 9]


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ({"schedule": {"A": [C, C], "B": [C, C]}, "clusters_per_sequence": {"A": 2, "B": 2}},
         "no sequence is ever switched to intervention"),
        ({"schedule": {"A": [C, T], "B": [C, T]}, "clusters_per_sequence": {"A": 2, "B": 2}},
         "confounded with period"),
        ({"schedule": {"A": [C, T, N], "B": [C, C, N]}, "clusters_per_sequence": {"A": 2, "B": 2}},
         "design/schedule: period 3 is not observed in any sequence"),
        ({"schedule": {"A": [C, T], "B": [N, N]}, "clusters_per_sequence": {"A": 2, "B": 2}},
         "design/schedule/B: sequence B is never observed"),
        ({"schedule": {"A": [C, T], "B": [C]}, "clusters_per_sequence": {"A": 2, "B": 2}},
         "same number of periods"),
        ({"clusters_per_sequence": {"A": 6, "B": 6}},
         "design/clusters_per_sequence: no number of clusters for ['C']"),
        ({"individuals_per_cluster_period": {"A": [5] * 6, "B": [5] * 5, "C": [5] * 5}},
         "design/individuals_per_cluster_period/B: 5 clusters listed"),
        ({"individuals_per_cluster_period": {"A": [[5, 5, 5, 0]] * 6, "B": [5] * 6,
                                              "C": [5] * 5}},
         "A/0: period 3 is not observed in the schedule"),
    ],
)  # fmt: skip
def test_impossible_designs_name_the_key(design, message):
    with pytest.raises(ConfigError, match="impossible design") as caught:
        load_power_spec(with_changes(**design), source="plan.yaml")
    assert message in str(caught.value)
    assert "plan.yaml: " in str(caught.value)


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ({"sd": 14.0, "icc": 1.0}, "outcome/icc"),
        ({"sd": 14.0, "icc": -0.1}, "outcome/icc"),
        ({"sd": 0.0, "icc": 0.1}, "outcome/sd"),
        ({"sd": 1.0, "icc": 0.1, "cac": 1.5}, "outcome/cac"),
        ({"sd": 1.0, "icc": 0.1, "cacc": 0.5}, "did you mean 'cac'?"),
    ],
)
def test_schema_errors_name_the_key(outcome, message):
    spec = {**SPEC, "outcome": outcome}
    with pytest.raises(ConfigError, match="invalid power spec") as caught:
        load_power_spec(spec)
    assert message in str(caught.value)


def test_parallel_crossover_and_baseline_designs_are_accepted():
    for schedule in ({"A": [C], "B": [T]}, {"A": [C, T], "B": [T, C]}, {"A": [C, C], "B": [C, T]}):
        spec = {**SPEC, "design": {"schedule": schedule, "clusters_per_sequence":
                {"A": 3, "B": 3}, "individuals_per_cluster_period": 5}}  # fmt: skip
        assert load_power_spec(spec).n_clusters == 6


def test_command_writes_the_documented_columns(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "effect": [-4.0, -6.0]}))
    out = tmp_path / "out" / "power.csv"
    assert main(["power", str(path), "--method", "analytic", "-o", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "method", "effect", "power", "power_mc_se", "type1_error", "type1_mc_se",
        "coverage", "se_effect", "df", "n_sims", "n_failed",
    ]  # fmt: skip
    assert table["method"].tolist() == ["analytic-z", "analytic-t"] * 2


def test_command_simulation_shows_progress_and_is_reproducible(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    small = with_changes(clusters_per_sequence={"A": 2, "B": 2, "C": 2})
    path.write_text(yaml.safe_dump(small))
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for out in outs:
        args = ["power", str(path), "--method", "simulation", "--sims", "3", "--seed", "5"]
        assert main([*args, "-o", str(out)]) == 0
    assert "3/3" in capsys.readouterr().err
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert pd.read_csv(outs[0])["n_sims"].tolist() == [3]


@pytest.mark.parametrize(
    ("text", "message"),
    [("design: [1, 2]\n", "design: [1, 2] is not of type 'object'"), ("a: [\n", "not valid YAML")],
)
def test_command_reports_bad_files_without_traceback(tmp_path, capsys, text, message):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    assert main(["power", str(path), "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()
    assert main(["power", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "x.csv")]) == 2
    assert "power spec not found" in capsys.readouterr().err


def _properties(schema, path=""):
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}/{name}", sub
        yield from _properties(sub, f"{path}/{name}")


@pytest.mark.parametrize("name", ["power.schema.yaml", "simulation.schema.yaml"])
def test_every_key_of_the_spec_schemas_is_described(name):
    from trialanalysis.config import load_schema

    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path, sub in _properties(schema):
        assert sub.get("description") or "$ref" in sub, f"{path} has no description"


def test_every_optional_key_of_the_power_spec_has_a_default():
    from trialanalysis.config import load_schema

    schema = load_schema("power.schema.yaml")
    required = set(schema["required"])
    for _, sub in _properties(schema):
        required |= set(sub.get("required", []))
    for path, sub in _properties(schema):
        key = path.rsplit("/", 1)[-1]
        assert "default" in sub or key in required, f"{path}: neither required nor defaulted"


def test_shipped_example_spec_is_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = load_power_spec(root / "config" / "power_spec.yaml")
    assert spec.n_clusters == 17 and spec.effects == (-4.0, -6.0)
