"""PREPARE workflow steps on files: outputs, report entries, config-driven outcomes, errors."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.analyses.helpers import simulated_trial
from trialanalysis.config import load_config
from trialanalysis.errors import ConfigError
from trialanalysis.steps.prepare import (
    prepare_effects_step,
    prepare_mediation_step,
    prepare_missing_data_step,
    prepare_responders_step,
    prepare_table1_step,
)

ROOT = Path(__file__).resolve().parents[2]
EFFECT_OUTPUTS = ["means", "differences", "coefficients", "ancova", "effect_sizes",
                  "diagnostics", "analysed"]  # fmt: skip


def write_config(path: Path, outcomes, **analyses) -> dict:
    config = {
        "instruments_dir": str(ROOT / "config" / "instruments"),
        "prepare": {
            "timepoints": ["baseline", "post", "3m"],
            "arms": ["control", "treated"],
            "analyses": {
                "outcomes": outcomes,
                "primary_timepoint": "post",
                "responders": {"definitions": [{"outcome": "odi_total", "better": "lower",
                                                "unit": "points", "threshold": 5}]},
                "dose": {"timepoints": ["post"]},
                "mediation": {"mediators": ["ses_total"], "outcomes": ["odi_total"],
                              "to_timepoint": "post", "n_boot": 200},
                "multiple_imputation": {"m": 3, "iterations": 3, "predictors": ["age"]},
                "table1": {"variables": ["age", "sex"]},
                **analyses,
            },
        },
        "reporting": {"tables": {"formats": ["csv", "html"]}},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return load_config(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prepare_inputs")
    patients, outcomes = simulated_trial(n=60, seed=7, missing=0.1)
    paths = {"patients": str(folder / "patients.csv"), "outcomes": str(folder / "outcomes.csv")}
    patients.to_csv(paths["patients"], index=False)
    outcomes.to_csv(paths["outcomes"], index=False)
    return paths


def effect_outputs(folder: Path) -> dict:
    outputs = {k: str(folder / f"{k}.csv") for k in EFFECT_OUTPUTS}
    for name in ("trajectories", "forest"):
        outputs[name] = str(folder / f"{name}.svg")
    outputs["fragment"] = str(folder / "effects.yaml")
    return outputs


def test_adding_an_outcome_in_yaml_adds_it_to_the_tables(tmp_path, inputs):
    for outcomes in (["odi_total"], ["odi_total", "ses_total"]):
        folder = tmp_path / str(len(outcomes))
        config = write_config(tmp_path / f"config{len(outcomes)}.yaml", outcomes)
        prepare_effects_step(config, inputs, effect_outputs(folder))
        differences = pd.read_csv(folder / "differences.csv")
        sizes = pd.read_csv(folder / "effect_sizes.csv")
        assert list(dict.fromkeys(differences["outcome"])) == outcomes
        assert list(dict.fromkeys(sizes["outcome"])) == outcomes
        assert list(dict.fromkeys(pd.read_csv(folder / "means.csv")["outcome"])) == outcomes
    assert (folder / "forest.png").exists() and (folder / "trajectories.png").exists()


def test_effects_report_the_primary_estimand_and_the_analysed_patients(tmp_path, inputs):
    config = write_config(tmp_path / "config.yaml", ["odi_total", "hads_depression"])
    outputs = effect_outputs(tmp_path)
    prepare_effects_step(config, inputs, outputs)
    fragment = yaml.safe_load(Path(outputs["fragment"]).read_text())
    sections = {s["section"] for s in fragment["sections"]}
    assert {"summary", "results", "sensitivity", "diagnostics"} <= sections
    summary = next(s for s in fragment["sections"] if s["section"] == "summary")
    primary = pd.read_csv(outputs["differences"]).iloc[0]
    assert primary["timepoint"] == "post"
    assert (
        f"{primary['estimate']:.2f} (95% CI {primary['conf_low']:.2f}"
        in (summary["blocks"][0]["text"])
    )
    assert [m["outcome"] for m in fragment["models"]] == ["odi_total", "hads_depression"]
    analysed = pd.read_csv(outputs["analysed"])
    assert list(analysed.columns) == ["patient_id", "timepoint", "outcome"]
    assert set(analysed["timepoint"]) == {"baseline", "post", "3m"}
    assert list(dict.fromkeys(analysed["outcome"])) == ["odi_total", "hads_depression"]
    # the rows of each outcome's model: as many per time point as its differences say
    differences = pd.read_csv(outputs["differences"])
    for row in differences.itertuples():
        rows = analysed[
            (analysed["outcome"] == row.outcome) & (analysed["timepoint"] == row.timepoint)
        ]
        assert len(rows) == row.n_control + row.n_intervention
    diagnostics = pd.read_csv(outputs["diagnostics"])
    assert list(diagnostics["analysis"]) == [
        "primary mixed model", "sensitivity (random_intercept)", "ANCOVA check at post",
        "secondary mixed model", "sensitivity (random_intercept)", "ANCOVA check at post",
    ]  # fmt: skip
    ancova_rows = diagnostics[diagnostics["optimizer"] == "least squares"]
    assert (ancova_rows["n_used"] + ancova_rows["n_dropped"] == 60).all()
    ancova = pd.read_csv(outputs["ancova"])
    # per outcome: the main MMRM, the ANCOVA check, the random-intercept sensitivity model
    assert list(ancova["analysis"].iloc[:3]) == [
        "main: MMRM (covariate; us)",
        "ANCOVA (OLS, complete cases at the time point)",
        "sensitivity: linear mixed model (covariate; random_intercept)",
    ]
    assert len(ancova) == 6
    assert "unstructured (us)" in summary["blocks"][0]["text"]
    methods = next(s for s in fragment["sections"] if s["section"] == "results")
    assert "config `prepare.analyses.mixed_model.covariance`: us" in methods["blocks"][0]["text"]


def test_reruns_are_byte_identical(tmp_path, inputs):
    config = write_config(tmp_path / "config.yaml", ["odi_total"])
    written = []
    for run in ("a", "b"):
        folder = tmp_path / run
        prepare_effects_step(config, inputs, effect_outputs(folder))
        prepare_mediation_step(config, inputs, {"effects": str(folder / "m.csv"),
                                        "paths": str(folder / "p.csv"),
                                        "diagnostics": str(folder / "g.csv"),
                                        "diagram": str(folder / "d.svg"),
                                        "fragment": str(folder / "m.yaml")})  # fmt: skip
        # fragments name their files: compare them with the folder name taken out
        written.append(
            {p.name: p.read_bytes().replace(str(folder).encode(), b"") for p in folder.iterdir()}
        )
    assert written[0] == written[1]
    assert len(written[0]) == 18  # 12 files from the effects step, 6 from mediation


def test_other_steps_write_their_outputs(tmp_path, inputs):
    config = write_config(tmp_path / "config.yaml", ["odi_total"])
    prepare_table1_step(config, inputs, {"tables": [str(tmp_path / "table1.csv")],
                                 "fragment": str(tmp_path / "t.yaml")})  # fmt: skip
    assert (tmp_path / "table1.html").exists()
    prepare_responders_step(config, inputs, {"responders": str(tmp_path / "r.csv"),
                                     "dose": str(tmp_path / "d.csv"),
                                     "fragment": str(tmp_path / "r.yaml")})  # fmt: skip
    assert "NON-RANDOMISED" in (tmp_path / "r.yaml").read_text()
    prepare_missing_data_step(config, inputs, {"comparison": str(tmp_path / "c.csv"),
                                       "imputations": str(tmp_path / "i.csv"),
                                       "diagnostics": str(tmp_path / "g.csv"),
                                       "fragment": str(tmp_path / "c.yaml")})  # fmt: skip
    comparison = pd.read_csv(tmp_path / "c.csv")
    assert comparison["analysis"].nunique() == 3
    assert len(pd.read_csv(tmp_path / "i.csv")) == 3 * 2  # m imputations x follow-ups


def test_settings_the_config_decides_fail_before_any_data_are_read(tmp_path):
    config = write_config(
        tmp_path / "config.yaml", ["odi_total", "odi_totl"], primary_timepoint="24m"
    )
    absent = {"patients": str(tmp_path / "no.csv"), "outcomes": str(tmp_path / "none.csv")}
    with pytest.raises(ConfigError) as error:
        prepare_effects_step(config, absent, effect_outputs(tmp_path))
    message = str(error.value)
    assert "prepare.analyses.outcomes: unknown ['odi_totl']" in message
    assert "prepare.analyses.primary_timepoint: time point '24m' is not one of" in message


def test_names_the_data_lack_are_all_reported(tmp_path, inputs):
    config = write_config(
        tmp_path / "config.yaml", ["odi_total"], covariates=["weight"],
        table1={"variables": ["age", "shoe_size"]},
    )  # fmt: skip
    with pytest.raises(ConfigError) as error:
        prepare_effects_step(config, inputs, effect_outputs(tmp_path))
    message = str(error.value)
    assert "covariates: 'weight' is not a usable column" in message
    assert "table1.variables: 'shoe_size' is not a usable column" in message
