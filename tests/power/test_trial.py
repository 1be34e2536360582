"""Planning from an analysed trial: observed design, scenario grid and the workflow steps."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from trialanalysis.config import validate_config
from trialanalysis.errors import ConfigError
from trialanalysis.power.analytic import gls_variance
from trialanalysis.power.spec import load_power_spec
from trialanalysis.power.trial import observed_design, scenario_grid
from trialanalysis.steps.power import (
    n_chunks,
    power_aggregate_step,
    power_analytic_step,
    power_report_step,
    power_simulate_chunk_step,
    power_spec_step,
    resolve_settings,
    scenario_ids,
)

CONFIG = validate_config(
    {
        "power": {
            "outcome": "odi_total",
            "mcid": -5.0,
            "scenarios": {
                "clusters_per_sequence": ["observed", 3],
                "individuals_per_cluster_period": [4, "observed"],
                "effects": [-3.0],
                "iccs": ["observed", 0.2],
            },
            "sims": 5,
            "chunk_size": 2,
        }
    }
)


@pytest.fixture
def trial_files(tmp_path):
    """A small analysed dog-leg trial: 2 sequences of 2 clinics, known counts."""
    schedule = pd.DataFrame(
        {
            "cluster_id": ["A", "A", "B", "B"],
            "period": [1, 2, 2, 3],
            "condition": ["control", "intervention", "control", "intervention"],
        }
    )
    clinics = pd.DataFrame({"clinic_id": ["C1", "C2", "C3", "C4"], "cluster_id": list("AABB")})
    recruited = {("C1", 1): 4, ("C1", 2): 6, ("C2", 1): 5, ("C2", 2): 5, ("C3", 2): 8,
                 ("C3", 3): 3, ("C4", 2): 2, ("C4", 3): 7}  # fmt: skip
    rows = []
    for (clinic, period), n in recruited.items():
        for k in range(n):
            missing = k == 0 and clinic in ("C1", "C3")  # one not analysed in 4 cells
            rows.append({"patient_id": f"{clinic}{period}{k}", "clinic_id": clinic,
                         "period": period, "timepoint": "3m",
                         "odi_total": np.nan if missing else 10.0 + k,
                         "odi_total_baseline": 20.0})  # fmt: skip
    components = pd.DataFrame(
        {
            "outcome": ["odi_total", "odi_total", "nrs_back"],
            "timepoint": ["3m", "3m", "3m"],
            "group": ["clinic_id", "Residual", "clinic_id"],
            "parameter": ["variance"] * 3,
            "estimate": [4.0, 60.0, 1.0],
        }
    )
    paths = {}
    tables = {"schedule": schedule, "clinics": clinics, "variance_components": components}
    for name, frame in {**tables, "analysis_data": pd.DataFrame(rows)}.items():
        paths[name] = str(tmp_path / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    return paths


def test_observed_design_from_the_results(trial_files):
    read = {k: pd.read_csv(v) for k, v in trial_files.items()}
    trial = observed_design(
        read["variance_components"], read["analysis_data"], read["schedule"], read["clinics"],
        "odi_total", "3m", ["odi_total", "odi_total_baseline"],
    )  # fmt: skip
    assert trial.icc == pytest.approx(4 / 64) and trial.sd == pytest.approx(8.0)
    assert trial.schedule == {"A": ["control", "intervention", None],
                              "B": [None, "control", "intervention"]}  # fmt: skip
    assert trial.clusters_per_sequence == {"A": 2, "B": 2}
    assert trial.analysed == {"A": [[3, 5, 0], [5, 5, 0]], "B": [[0, 7, 2], [0, 2, 7]]}
    assert trial.mean_recruited == pytest.approx(40 / 8)
    assert trial.dropout == pytest.approx(4 / 40)
    sizes = np.array([10, 10, 11, 9], float)  # recruited per clinic
    assert trial.size_cv == pytest.approx(sizes.std() / sizes.mean())


def test_grid_ids_come_from_the_config_alone():
    settings = resolve_settings(CONFIG)
    grid = scenario_grid(settings)
    assert [s["id"] for s in grid] == ["observed", *[f"s{i:02d}" for i in range(1, 9)]]
    assert grid[1] == {"id": "s01", "clusters": "observed", "individuals": 4, "icc": "observed"}
    assert n_chunks(settings) == 3
    planned = copy.deepcopy(CONFIG)
    planned["power"]["schedule"] = {"A": ["control", "intervention"], "B": ["control", "control"]}
    assert "observed" not in scenario_ids(resolve_settings(planned))


def test_settings_take_the_trial_defaults_and_refuse_a_secondary_outcome():
    settings = resolve_settings(CONFIG)
    assert (settings["outcome"], settings["timepoint"]) == ("odi_total", "3m")
    assert settings["df_method"] == "kenward-roger" and settings["seed"] == CONFIG["seed"]
    config = copy.deepcopy(CONFIG)
    config["power"]["outcome"] = None  # the first primary outcome
    assert resolve_settings(config)["outcome"] == "nrs_back"
    config["power"]["outcome"] = "bipq_total"
    with pytest.raises(ConfigError, match=r"power\.outcome: 'bipq_total' is not a primary"):
        resolve_settings(config)


def test_steps_plan_compute_simulate_aggregate_and_report(trial_files, tmp_path):
    settings = resolve_settings(CONFIG)
    scenarios = str(tmp_path / "power" / "scenarios.yaml")
    power_spec_step(settings, trial_files, scenarios)
    content = yaml.safe_load(open(scenarios, encoding="utf-8"))
    assert content["trial"]["clinics"] == 4
    observed = load_power_spec(content["scenarios"]["observed"]["spec"])
    # the observed scenario is exactly the analysed design: GLS variance by hand
    expected = gls_variance(
        np.array([[0, 1, np.nan], [0, 1, np.nan], [np.nan, 0, 1], [np.nan, 0, 1]]),
        np.array([[3, 5, 0], [5, 5, 0], [0, 7, 2], [0, 2, 7]], float), 4.0, 0.0, 60.0,
    )  # fmt: skip
    analytic = str(tmp_path / "power" / "analytic.csv")
    power_analytic_step(scenarios, analytic)
    table = pd.read_csv(analytic)
    first = table[table["scenario"] == "observed"].iloc[0]
    assert first["se_effect"] ** 2 == pytest.approx(expected, rel=1e-12)
    assert observed.effects == (-5.0, -3.0)
    s08 = table[(table["scenario"] == "s08") & (table["method"] == "analytic-z")]
    assert s08["clinics"].iloc[0] == 6 and s08["icc"].iloc[0] == 0.2
    chunks = []
    for name in ("s01",):
        for chunk in range(3):
            path = str(tmp_path / "power" / "chunks" / name / f"{chunk}.csv")
            power_simulate_chunk_step(scenarios, name, chunk, 2, path)
            chunks.append(path)
    again = str(tmp_path / "again.csv")
    power_simulate_chunk_step(scenarios, "s01", 1, 2, again)
    assert open(again, "rb").read() == open(chunks[1], "rb").read()
    with pytest.raises(ConfigError, match="scenario observed has 0 of 5 simulations"):
        power_aggregate_step(scenarios, chunks, str(tmp_path / "x.csv"))


def test_report_step_writes_table_figure_and_fragment(trial_files, tmp_path):
    settings = resolve_settings(CONFIG)
    scenarios = str(tmp_path / "scenarios.yaml")
    power_spec_step(settings, trial_files, scenarios)
    analytic = str(tmp_path / "analytic.csv")
    power_analytic_step(scenarios, analytic)
    outputs = {
        "table": str(tmp_path / "out" / "power.csv"),
        "reference": str(tmp_path / "out" / "power_reference.csv"),
        "tables": str(tmp_path / "out" / "tables"),
        "figure": str(tmp_path / "figures" / "power.svg"),
        "png": str(tmp_path / "figures" / "power.png"),
        "fragment": str(tmp_path / "fragment.yaml"),
    }
    power_report_step(CONFIG, settings, {"scenarios": scenarios, "analytic": analytic}, outputs)
    fragment = yaml.safe_load(open(outputs["fragment"], encoding="utf-8"))
    section = fragment["sections"][0]
    assert (section["section"], section["title"]) == (
        "sample_size",
        "BetterBack: power of the design",
    )
    text = section["blocks"][0]["text"]
    assert "Design-based power" in text and "not post-hoc power" in text
    assert "ICC 0.062" in text and "10.0% of recruited patients not analysed" in text
    reference = pd.read_csv(outputs["reference"])
    assert (reference["effect"] == -5.0).all()
    for suffix in ("csv", "html", "tex", "docx"):
        assert (tmp_path / "out" / "tables" / f"power.{suffix}").exists()
    assert (tmp_path / "figures" / "power.png").stat().st_size > 1000
