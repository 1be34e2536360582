"""BetterBack workflow steps: outputs, report fragments, YAML-only changes, determinism."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.analyses.betterback_helpers import ROOT, inputs_for
from trialanalysis.config import load_config
from trialanalysis.reporting.assemble import read_fragments
from trialanalysis.steps.betterback import (
    betterback_binary_step,
    betterback_forest_step,
    betterback_patients_step,
    betterback_sensitivity_step,
    betterback_table1_step,
    betterback_therapists_step,
)

PATIENT_INPUTS = ("patients", "clinics", "patient_scores")
PATIENT_OUTPUTS = (
    "effects", "coefficients", "icc", "variance_components", "clinic_effects", "trajectories",
    "diagnostics", "primary_coefficients", "primary_data", "analysed", "design_effects",
)  # fmt: skip


def load(tmp_path: Path, text: str | None = None) -> dict:
    """The shipped config (optionally edited as YAML text) with absolute paths."""
    source = (ROOT / "config" / "config.yaml").read_text()
    path = tmp_path / "config.yaml"
    path.write_text(text if text is not None else source)
    return load_config(
        path,
        overrides={
            "data_dir": str(ROOT / "data" / "example"),
            "instruments_dir": str(ROOT / "config" / "instruments"),
        },
    )


def patient_outputs(folder: Path) -> dict[str, str]:
    outputs = {name: str(folder / f"{name}.csv") for name in PATIENT_OUTPUTS}
    outputs.update(
        trajectories_figure=str(folder / "trajectories.svg"),
        caterpillar_figure=str(folder / "caterpillar.svg"),
        tables=str(folder / "tables"),
        fragment=str(folder / "patients.yaml"),
    )
    return outputs


def test_every_step_writes_its_outputs_and_a_valid_fragment(tmp_path):
    config = load(tmp_path)
    # fewer models than the shipped config, to keep the test quick
    analyses = config["betterback"]["analyses"]
    analyses["patients"]["timepoints"] = ["3m"]
    pei = {"score": "pei_total", "label": None, "primary": False}
    analyses["patients"]["outcomes"] = [*analyses["patients"]["outcomes"][:3], pei]
    analyses["therapists"]["scores"] = ["pcs_total"]
    analyses["therapists"]["associations"]["outcomes"] = ["pcs_total"]
    out = tmp_path / "out"
    steps = {
        "table1": (
            betterback_table1_step,
            inputs_for("patients", "clinics", "therapists", "patient_scores", "therapist_scores"),
            {n: str(out / f"table1_{n}.csv") for n in ("clinics", "therapists", "patients")},
        ),
        "therapists": (
            betterback_therapists_step,
            inputs_for("therapists", "therapist_scores"),
            {
                **{n: str(out / f"th_{n}.csv") for n in (
                    "anova", "pairwise", "emmeans", "contrasts", "associations", "diagnostics")},
                "trajectories_figure": str(out / "th_traj.svg"),
                "profile_figure": str(out / "th_profile.svg"),
            },
        ),
        "patients": (
            betterback_patients_step, inputs_for(*PATIENT_INPUTS), patient_outputs(out / "p")
        ),
        "binary": (
            betterback_binary_step,
            inputs_for("patients", "clinics", "care", "care_scores", "patient_scores"),
            {n: str(out / f"bin_{n}.csv") for n in ("effects", "coefficients", "diagnostics")},
        ),
        "sensitivity": (
            betterback_sensitivity_step,
            inputs_for("patients", "clinics", "schedule", "patient_scores"),
            {n: str(out / f"sens_{n}.csv") for n in ("table", "randomization", "diagnostics")},
        ),
    }  # fmt: skip
    fragments = []
    for name, (step, inputs, outputs) in steps.items():
        outputs.setdefault("tables", str(out / "tables" / name))
        outputs["fragment"] = str(out / f"{name}.yaml")
        step(config, inputs, outputs)
        for key, path in outputs.items():
            assert Path(path).exists(), (name, key)
        fragments.append(outputs["fragment"])
    forest = {"figure": str(out / "forest.svg"), "fragment": str(out / "forest.yaml")}
    betterback_forest_step(
        config,
        {"effects": str(out / "p/effects.csv"), "binary": str(out / "bin_effects.csv")},
        forest,
    )
    fragments.append(forest["fragment"])
    grouped, models = read_fragments(fragments)
    for section in ("summary", "table1", "results", "icc", "sensitivity", "diagnostics"):
        assert grouped[section], section
    assert all(m["formula"] and m["df_method"] == "kenward-roger" for m in models)
    summary = " ".join(b["text"] for e in grouped["summary"] for b in e["blocks"])
    assert "Disability (ODI, 0-100, higher = worse): -3.36 (95% CI -5.93 to -0.80" in summary
    formats = config["reporting"]["tables"]["formats"]
    assert {p.suffix[1:] for p in (out / "tables" / "binary").iterdir()} == set(formats)
    analysed = pd.read_csv(out / "p" / "analysed.csv")
    effects = pd.read_csv(out / "p" / "effects.csv")
    # the analysed rows are every outcome's model rows, per condition in the effects table
    effects_3m = effects[effects["timepoint"] == "3m"].set_index("outcome")
    at_3m = analysed[analysed["timepoint"] == "3m"].groupby("outcome").size()
    assert at_3m.to_dict() == effects_3m["n_obs"].to_dict()
    assert (effects["n_control"] + effects["n_intervention"] == effects["n_obs"]).all()
    diagnostics = pd.read_csv(out / "p" / "diagnostics.csv")
    assert list(diagnostics.columns[:5]) == ["trial", "analysis", "outcome", "timepoint", "model"]


def test_a_new_secondary_outcome_needs_only_yaml(tmp_path):
    text = (ROOT / "config" / "config.yaml").read_text()
    start = text.index("      outcomes:\n        - {score: nrs_back")
    end = text.index("      timepoints: [3m, 6m, 12m]")
    before = (
        "      outcomes:\n        - {score: odi_total, primary: true}\n      timepoints: [3m]\n"
    )
    text_before = (
        text[:start] + before + text[end:].replace("      timepoints: [3m, 6m, 12m]\n", "", 1)
    )
    new_lines = "        - score: bipq_total\n          label: Illness perception (BIPQ)\n"
    added = before.replace("      timepoints", new_lines + "      timepoints")
    text_after = (
        text[:start] + added + text[end:].replace("      timepoints: [3m, 6m, 12m]\n", "", 1)
    )
    results = {}
    for name, variant in (("before", text_before), ("after", text_after)):
        folder = tmp_path / name
        folder.mkdir()
        config = load(folder, variant)
        outputs = patient_outputs(folder)
        betterback_patients_step(config, inputs_for(*PATIENT_INPUTS), outputs)
        forest = {"figure": str(folder / "forest.svg"), "fragment": str(folder / "forest.yaml")}
        pd.DataFrame(columns=["label", "odds_ratio", "or_conf_low", "or_conf_high"]).to_csv(
            folder / "binary.csv", index=False
        )
        betterback_forest_step(
            config, {"effects": outputs["effects"], "binary": str(folder / "binary.csv")}, forest
        )
        results[name] = folder
    before_effects = pd.read_csv(results["before"] / "effects.csv")
    after_effects = pd.read_csv(results["after"] / "effects.csv")
    assert set(before_effects["outcome"]) == {"odi_total"}
    assert set(after_effects["outcome"]) == {"odi_total", "bipq_total"}
    new = after_effects.set_index("outcome").loc["bipq_total"]
    assert new["label"] == "Illness perception (BIPQ)" and new["role"] == "secondary"
    assert (
        "Illness perception (BIPQ)"
        in (results["after"] / "tables" / "patient_effects.html").read_text()
    )
    assert "bipq_total" in set(pd.read_csv(results["after"] / "trajectories.csv")["outcome"])
    fragment = yaml.safe_load((results["after"] / "patients.yaml").read_text())
    assert "bipq_total" in [m["outcome"] for m in fragment["models"]]
    svg = (results["after"] / "forest.svg").read_bytes()
    assert svg != (results["before"] / "forest.svg").read_bytes()


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_patient_step_reruns_byte_identical(tmp_path):
    config = load(tmp_path)
    folder = tmp_path / "run"
    betterback_patients_step(config, inputs_for(*PATIENT_INPUTS), patient_outputs(folder))
    first = digest(folder)
    betterback_patients_step(config, inputs_for(*PATIENT_INPUTS), patient_outputs(folder))
    assert digest(folder) == first
    assert any(name.endswith(".png") for name in first) and any(
        name.endswith(".docx") for name in first
    )


def test_association_time_point_outside_the_design_is_a_config_error(tmp_path):
    from trialanalysis.errors import ConfigError

    config = load(tmp_path)
    config["betterback"]["analyses"]["therapists"]["associations"]["timepoint"] = "24m"
    match = r"therapists.associations.timepoint: unknown \['24m'\]"
    with pytest.raises(ConfigError, match=match):
        betterback_therapists_step(config, inputs_for("therapists", "therapist_scores"), {})
