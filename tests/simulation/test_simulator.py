"""The simulator writes realistic raw data that follow the configured design."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialanalysis.cli.simulate import simulate_to_folder
from trialanalysis.errors import ConfigError
from trialanalysis.instruments import load_instruments
from trialanalysis.simulation import simulate, true_effects
from trialanalysis.simulation.items import allot, items_from_targets
from trialanalysis.simulation.prepare import mediation_order

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "example"
SIM_CONFIG = ROOT / "config" / "simulation.yaml"
INSTRUMENTS = ROOT / "config" / "instruments"


@pytest.fixture(scope="module")
def instruments():
    return load_instruments(INSTRUMENTS)


@pytest.fixture(scope="module")
def example(instruments):
    return simulate(SIM_CONFIG, instruments)


def test_example_data_regenerates_byte_for_byte(tmp_path, instruments):
    written = simulate_to_folder(tmp_path, SIM_CONFIG, instruments)
    committed = sorted(p.relative_to(EXAMPLE) for p in EXAMPLE.rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path) for p in written) == committed
    for relative in committed:
        assert (tmp_path / relative).read_bytes() == (EXAMPLE / relative).read_bytes(), relative


def test_a_different_seed_gives_different_data(instruments):
    a = simulate(SIM_CONFIG, instruments, seed=1)["prepare"]["outcomes"]
    b = simulate(SIM_CONFIG, instruments, seed=2)["prepare"]["outcomes"]
    assert not a.equals(b)


def test_betterback_design_follows_config(example):
    bb = example["betterback"]
    assert bb["clinics"].groupby("cluster_id").size().to_dict() == {"A": 6, "B": 6, "C": 5}
    cells = bb["schedule"].set_index(["cluster_id", "period"])["condition"].to_dict()
    assert cells == {
        ("A", 1): "control",
        ("A", 2): "intervention",
        ("B", 2): "control",
        ("B", 3): "intervention",
        ("C", 3): "control",
        ("C", 4): "intervention",
    }
    patients = bb["patients"].merge(bb["clinics"], on="clinic_id")
    expected = [
        cells[(c, p)] for c, p in zip(patients["cluster_id"], patients["period"], strict=True)
    ]
    assert patients["condition"].tolist() == expected
    # every clinic enrols patients in each period its cluster is observed in
    per_clinic = patients.groupby("clinic_id")["period"].nunique()
    assert (per_clinic == 2).all()
    # therapists treat patients of their own clinic only
    therapist_clinic = bb["therapists"].set_index("therapist_id")["clinic_id"]
    assert (
        therapist_clinic.loc[patients["therapist_id"]].to_numpy() == patients["clinic_id"]
    ).all()
    assert len(bb["therapists"]) == 116
    assert len(bb["patients"]) == 467
    # enrolment dates fall inside the period
    schedule = bb["schedule"].copy()
    enrolled = patients.merge(schedule, on=["cluster_id", "period"])
    assert (enrolled["enrolment_date"] >= enrolled["period_start"]).all()
    assert (enrolled["enrolment_date"] <= enrolled["period_end"]).all()


def test_clinic_sizes_vary_as_configured(instruments):
    draw = simulate(
        SIM_CONFIG,
        instruments,
        overrides={
            "betterback": {
                "clinics": 300,
                "clusters": {"A": 100, "B": 100, "C": 100},
                "patients": 30000,
                "therapists": 1500,
            }
        },
    )["betterback"]
    sizes = draw["patients"].groupby("clinic_id").size()
    assert sizes.std() / sizes.mean() == pytest.approx(0.5, abs=0.08)


def test_items_stay_within_their_scales(example, instruments):
    tables = {
        "therapist_responses": ["pabs", "pcs", "dibq"],
        "patient_outcomes": ["odi", "nrs", "eq5d", "startback", "pei", "bipq"],
    }
    checked = 0
    for table, names in tables.items():
        frame = example["betterback"][table]
        for name in names:
            for item, column in instruments[name].item_columns.items():
                scale = instruments[name].scale_of(item)
                values = frame[column].dropna().astype(float)
                assert values.between(scale.min, scale.max).all(), column
                if scale.integer:
                    assert (values == values.round()).all(), column
                checked += 1
    outcomes = example["prepare"]["outcomes"]
    for name in ["odi", "vas", "eq5d", "eqvas", "ses", "fabq", "tsk", "hads", "pal", "walk"]:
        for item, column in instruments[name].item_columns.items():
            scale = instruments[name].scale_of(item)
            assert outcomes[column].dropna().astype(float).between(scale.min, scale.max).all()
            checked += 1
    assert checked > 150


def test_loss_to_follow_up_is_monotone(example):
    for trial, table, order in [
        ("betterback", "patient_outcomes", ["baseline", "3m", "6m", "12m"]),
        ("prepare", "outcomes", ["baseline", "post_intervention", "3m", "12m", "24m"]),
    ]:
        frame = example[trial][table]
        present = pd.crosstab(frame["patient_id"], frame["timepoint"])[order].to_numpy()
        assert present[:, 0].all(), "everyone has a baseline record"
        assert (np.diff(present, axis=1) <= 0).all(), "no return after dropout"
        assert 0.05 < 1 - present[:, -1].mean() < 0.6


def test_dropout_depends_on_observed_disability(instruments):
    draw = simulate(SIM_CONFIG, instruments, overrides={"prepare": {"patients": 4000}})["prepare"]
    outcomes = draw["outcomes"]
    odi = outcomes[[f"odi_{i}" for i in range(1, 11)]].astype(float).mean(axis=1) * 20
    baseline = odi[outcomes["timepoint"] == "baseline"].set_axis(
        outcomes.loc[outcomes["timepoint"] == "baseline", "patient_id"]
    )
    stayed = set(outcomes.loc[outcomes["timepoint"] == "post_intervention", "patient_id"])
    dropped = baseline[~baseline.index.isin(stayed)]
    # configured: more disability -> more dropout
    assert dropped.mean() > baseline[baseline.index.isin(stayed)].mean() + 1


def test_prepare_randomisation_is_balanced_in_blocks(example):
    patients = example["prepare"]["patients"]
    assert len(patients) == 197
    counts = patients["arm"].value_counts()
    assert abs(counts["physiotherapy"] - counts["waiting_list"]) <= 2
    assert (patients.loc[patients["arm"] == "waiting_list", "sessions_attended"] == 0).all()
    operated = patients.dropna(subset=["surgery_date"])
    assert (operated["surgery_date"] > operated["randomisation_date"]).all()


def test_post_intervention_is_answered_before_surgery(example):
    prepare = example["prepare"]
    post = prepare["outcomes"].query("timepoint == 'post_intervention'")
    joined = post.merge(prepare["patients"], on="patient_id").dropna(subset=["surgery_date"])
    assert (joined["response_date"] < joined["surgery_date"]).all()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(0, 3),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
)
def test_allot_hits_every_feasible_total_within_bounds(k, low, width, seed):
    rng = np.random.default_rng(seed)
    lo, hi = np.full(k, float(low)), np.full(k, float(low + width))
    total = rng.integers(lo.sum(), hi.sum() + 1, size=50).astype(float)
    proposals = rng.normal((total / k)[:, None], 2.0, (50, k))
    x = allot(proposals, lo, hi, total)
    assert (x.sum(axis=1) == total).all()
    assert ((x >= lo) & (x <= hi)).all()
    assert (x == np.rint(x)).all()


def test_items_add_up_to_their_targets(instruments):
    rng = np.random.default_rng(3)
    odi = instruments["odi"]
    target = rng.uniform(0, 100, 500)
    items = items_from_targets({"odi_total": target}, odi, rng, item_sd=1.0).astype(float)
    score = items.mean(axis=1) * 20
    # the sum of ten 0-5 sections is a whole number, so scores move in steps of 2
    assert np.abs(score - target).max() <= 1.0 + 1e-9
    bipq = instruments["bipq"]
    target = rng.uniform(0, 80, 500)
    raw = items_from_targets({"bipq_total": target}, bipq, rng, item_sd=2.0).astype(float)
    keyed = raw.copy()
    for item in bipq.reverse:
        keyed[f"bipq_{item}"] = 10 - keyed[f"bipq_{item}"]
    assert np.abs(keyed.sum(axis=1) - target).max() <= 0.5 + 1e-9


def test_targets_for_unknown_scores_are_refused(instruments):
    with pytest.raises(ConfigError, match="unknown scores"):
        items_from_targets({"odi_sum": np.zeros(3)}, instruments["odi"], np.random.default_rng(0))


def test_mediators_cannot_have_mediators():
    scores = {"a": {"mediators": {"b": 1.0}}, "b": {"mediators": {"c": 1.0}}, "c": {}}
    with pytest.raises(ConfigError, match="cannot have mediators"):
        mediation_order(scores)
    assert mediation_order({"y": {"mediators": {"m": 1.0}}, "m": {}}) == ["m", "y"]


def test_true_effects_combine_direct_and_indirect_paths():
    truth = (
        true_effects(SIM_CONFIG)
        .set_index(["trial", "outcome", "timepoint", "effect"])
        .sort_index()
    )
    odi = truth.loc[("prepare", "odi_total", "post_intervention")]["value"]
    indirect = odi[[i for i in odi.index if i.startswith("indirect_")]].sum()
    assert odi["treatment"] == pytest.approx(odi["direct"] + indirect)
    assert odi["indirect_ses_total"] == pytest.approx(-0.15 * 14.0)
    assert truth.loc[("betterback", "odi_total", "3m", "treatment"), "value"] == -4.0
