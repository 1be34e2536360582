"""The BetterBack inference step: outputs, fragment, multiplicity, determinism."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.analyses.betterback_helpers import example_config, inputs_for
from trialanalysis.analyses.betterback import text
from trialanalysis.analyses.betterback.patients import primary_family_p
from trialanalysis.errors import ConfigError
from trialanalysis.reporting.assemble import read_fragments
from trialanalysis.steps.betterback import betterback_inference_step

INPUTS = ("patients", "clinics", "schedule", "patient_scores")
NAMES = ("inference", "cluster_periods", "period_means", "diagnostics")


def outputs(folder: Path) -> dict[str, str]:
    paths = {name: str(folder / f"{name}.csv") for name in NAMES}
    paths.update(
        period_figure=str(folder / "periods.svg"),
        tables=str(folder / "tables"),
        fragment=str(folder / "inference.yaml"),
    )
    return paths


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inference")
    config = example_config()
    config["betterback"]["analyses"]["sensitivity"]["outcomes"] = ["odi_total"]
    paths = outputs(folder)
    betterback_inference_step(config, inputs_for(*INPUTS), paths)
    return config, paths


def test_writes_every_output_and_a_fragment(run):
    _, paths = run
    for key, path in paths.items():
        assert Path(path).exists(), key
    grouped, _ = read_fragments([paths["fragment"]])
    blocks = grouped["sensitivity"][0]["blocks"]
    note = blocks[0]["text"]
    assert "model-based" in note and "common to all clinics" in note
    assert "smallest attainable p-value is 1" in note
    assert "periods 2, 3" in note
    inference = pd.read_csv(paths["inference"])
    assert list(inference["analysis"]) == [
        "primary", "clinic_period", "allocation_unit", "cluster_df", "both_conditions",
        "therapist",
    ]  # fmt: skip
    cells = pd.read_csv(paths["cluster_periods"])
    assert len(cells) == 7 and cells["cluster_id"].iloc[-1] == "Total"


def test_rerun_is_byte_identical(run, tmp_path):
    config, first = run
    second = outputs(tmp_path)
    betterback_inference_step(config, inputs_for(*INPUTS), second)
    for key in (*NAMES, "period_figure"):
        digest = [hashlib.sha256(Path(p[key]).read_bytes()).hexdigest() for p in (first, second)]
        assert digest[0] == digest[1], key


def effects_table(p_values, outcomes=("nrs_back", "nrs_leg", "odi_total")):
    rows = [
        {"outcome": o, "role": "primary", "p_value": p}
        for o, p in zip(outcomes, p_values, strict=True)
    ]
    rows.append({"outcome": "eq5d_index", "role": "secondary", "p_value": 0.001})
    return pd.DataFrame(rows)


def test_primary_family_p_holm_hochberg_hierarchical():
    effects = effects_table([0.046, 0.426, 0.011])
    holm = primary_family_p(effects, {"multiplicity": {"method": "holm", "order": []}})
    np.testing.assert_allclose(holm[:3], [0.092, 0.426, 0.033])
    assert np.isnan(holm[3])
    hochberg = primary_family_p(effects, {"multiplicity": {"method": "hochberg"}})
    np.testing.assert_allclose(hochberg[:3], [0.092, 0.426, 0.033])
    order = ["odi_total", "nrs_back", "nrs_leg"]
    fixed = primary_family_p(effects, {"multiplicity": {"method": "hierarchical", "order": order}})
    np.testing.assert_allclose(fixed[:3], [0.046, 0.426, 0.011])
    with pytest.raises(ConfigError, match="not primary outcomes"):
        primary_family_p(
            effects, {"multiplicity": {"method": "hierarchical", "order": ["eq5d_index"]}}
        )


def test_summary_states_the_adjusted_p_and_the_estimand():
    effects = effects_table([0.046, 0.426, 0.011]).iloc[:3]
    effects = effects.assign(
        label=effects["outcome"], estimate=-1.0, conf_low=-2.0, conf_high=0.0, df=50.0,
        df_method="kenward-roger", n_obs=390, n_clinics=17,
        response="change from baseline, adjusted for baseline",
    )  # fmt: skip
    settings = example_config()["betterback"]["analyses"]["patients"]
    effects["p_adjusted"] = primary_family_p(effects, settings)
    summary = text.primary_summary(effects, settings)
    assert "holm-adjusted p = 0.092" in summary
    assert "Holm's step-down procedure" in summary
    assert "Estimand (ICH E9(R1))" in summary and "individual-average" in summary
