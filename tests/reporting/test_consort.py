"""CONSORT counts against independent counts of the example data; diagrams show those counts."""

from pathlib import Path

import pandas as pd
import pytest

from trialanalysis.errors import ReportError
from trialanalysis.reporting.consort import (
    COLUMNS,
    betterback_flow,
    patients_per_clinic,
    prepare_flow,
    sequence_labels,
)
from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.flowchart import (
    FlowStage,
    betterback_diagram,
    flow_chart,
    prepare_diagram,
    therapist_diagram,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example"
PATIENT_TP = ["baseline", "3m", "6m", "12m"]
THERAPIST_TP = ["baseline", "post_training", "3m", "12m"]
PREPARE_TP = ["baseline", "post_intervention", "3m", "12m", "24m"]
ARMS = ["waiting_list", "physiotherapy"]


@pytest.fixture(scope="module")
def betterback():
    names = [
        "clinics",
        "schedule",
        "therapists",
        "therapist_responses",
        "patients",
        "patient_outcomes",
    ]
    return {n: pd.read_csv(EXAMPLE / "betterback" / f"{n}.csv") for n in names}


@pytest.fixture(scope="module")
def prepare():
    return {n: pd.read_csv(EXAMPLE / "prepare" / f"{n}.csv") for n in ["patients", "outcomes"]}


def pick(counts, level, group, stage, timepoint=None):
    rows = counts[(counts.level == level) & (counts.group == group) & (counts.stage == stage)]
    rows = rows[rows.timepoint.isna()] if timepoint is None else rows[rows.timepoint == timepoint]
    assert len(rows) == 1, (level, group, stage, timepoint)
    return rows["n"].iloc[0]


def test_betterback_allocation_counts(betterback):
    counts = betterback_flow(betterback, PATIENT_TP, THERAPIST_TP)
    assert list(counts.columns) == COLUMNS
    clinics, schedule = betterback["clinics"], betterback["schedule"]
    # independent: one sequence per cluster in the example (dog-leg); walk the schedule by hand
    for cluster, rows in schedule.groupby("cluster_id"):
        rows = rows.sort_values("period")
        label = " → ".join(f"P{p} {c}" for p, c in zip(rows.period, rows.condition, strict=True))
        in_cluster = clinics.loc[clinics.cluster_id == cluster, "clinic_id"]
        assert pick(counts, "allocation_cluster", label, "allocated") == 1
        assert pick(counts, "clinic", label, "allocated") == len(in_cluster)
        therapists = betterback["therapists"].clinic_id.isin(in_cluster).sum()
        assert pick(counts, "therapist", label, "recruited") == therapists
        patients = betterback["patients"].clinic_id.isin(in_cluster).sum()
        assert pick(counts, "patient", label, "recruited") == patients
    allocated = counts[(counts.stage == "allocated") & (counts.level == "clinic")]
    assert allocated["n"].sum() == len(clinics) == 17


def test_betterback_patient_flow_per_condition(betterback):
    counts = betterback_flow(betterback, PATIENT_TP, THERAPIST_TP)
    patients, outcomes = betterback["patients"], betterback["patient_outcomes"]
    recruited = patients["condition"].value_counts()
    merged = outcomes.merge(patients[["patient_id", "condition"]], on="patient_id")
    returned = merged.groupby(["condition", "timepoint"]).patient_id.nunique()
    for condition in ["control", "intervention"]:
        assert pick(counts, "patient", condition, "recruited") == recruited[condition]
        mine = patients[patients.condition == condition]
        assert pick(counts, "clinic", condition, "recruiting") == mine.clinic_id.nunique()
        assert pick(counts, "therapist", condition, "treating") == mine.therapist_id.nunique()
        for tp in PATIENT_TP:
            seen = returned.get((condition, tp), 0)
            assert pick(counts, "patient", condition, "followed_up", tp) == seen
            assert pick(counts, "patient", condition, "lost_to_follow_up", tp) == (
                recruited[condition] - seen
            )
    assert not (counts.stage == "analysed").any()


def test_betterback_therapist_cohort(betterback):
    counts = betterback_flow(betterback, PATIENT_TP, THERAPIST_TP)
    responded = betterback["therapist_responses"]["timepoint"].value_counts()
    n = len(betterback["therapists"])
    assert pick(counts, "therapist", "all", "recruited") == n == 116
    for tp in THERAPIST_TP:
        assert pick(counts, "therapist", "all", "followed_up", tp) == responded[tp]
        assert pick(counts, "therapist", "all", "lost_to_follow_up", tp) == n - responded[tp]


def test_analysed_overall_and_per_timepoint(betterback):
    patients = betterback["patients"]
    analysed = patients.loc[patients.age >= 40, ["patient_id"]]
    counts = betterback_flow(betterback, PATIENT_TP, THERAPIST_TP, analysed=analysed)
    expected = patients[patients.age >= 40].condition.value_counts()
    for condition in ["control", "intervention"]:
        assert pick(counts, "patient", condition, "analysed") == expected[condition]
        assert pick(counts, "patient", condition, "not_analysed") == (
            (patients.condition == condition).sum() - expected[condition]
        )
    per_time = betterback["patient_outcomes"].query("timepoint in ['3m', '12m']")
    counts = betterback_flow(betterback, PATIENT_TP, THERAPIST_TP, analysed=per_time)
    merged = per_time.merge(patients, on="patient_id")
    assert (
        pick(counts, "patient", "control", "analysed", "12m")
        == ((merged.condition == "control") & (merged.timepoint == "12m")).sum()
    )
    # time points the analysis did not use (6m here, or a baseline it adjusts for) get no row
    analysed_rows = counts[(counts.stage == "analysed") & (counts.level == "patient")]
    assert set(analysed_rows["timepoint"]) == {"3m", "12m"}


def test_prepare_flow(prepare):
    counts = prepare_flow(prepare, PREPARE_TP, ARMS)
    patients, outcomes = prepare["patients"], prepare["outcomes"]
    assert pick(counts, "patient", "all", "randomised", None) == len(patients) == 197
    allocated = patients.arm.value_counts()
    merged = outcomes.merge(patients[["patient_id", "arm"]], on="patient_id")
    returned = merged.groupby(["arm", "timepoint"]).patient_id.nunique()
    for arm in ARMS:
        assert pick(counts, "patient", arm, "allocated") == allocated[arm]
        mine = patients[patients.arm == arm]
        assert (
            pick(counts, "patient", arm, "attended_any_session")
            == (mine.sessions_attended > 0).sum()
        )
        assert pick(counts, "patient", arm, "operated") == mine.surgery_date.notna().sum()
        for tp in PREPARE_TP:
            assert pick(counts, "patient", arm, "followed_up", tp) == returned[(arm, tp)]
            assert pick(counts, "patient", arm, "lost_to_follow_up", tp) == (
                allocated[arm] - returned[(arm, tp)]
            )
    # arms in config order
    assert list(counts.loc[counts.stage == "allocated", "group"]) == ARMS


def test_flow_counts_follow_changed_data(prepare):
    # drop every 24-month questionnaire of the physiotherapy arm: the count must follow
    outcomes = prepare["outcomes"]
    physio = set(prepare["patients"].query("arm == 'physiotherapy'").patient_id)
    fewer = outcomes[~((outcomes.timepoint == "24m") & outcomes.patient_id.isin(physio))]
    counts = prepare_flow({**prepare, "outcomes": fewer}, PREPARE_TP, ARMS)
    assert pick(counts, "patient", "physiotherapy", "followed_up", "24m") == 0
    assert pick(counts, "patient", "physiotherapy", "lost_to_follow_up", "24m") == len(physio)


def test_patients_per_clinic(betterback):
    sizes = patients_per_clinic(betterback["patients"]).set_index("group")
    per_clinic = betterback["patients"].groupby(["condition", "clinic_id"]).size()
    for condition in ["control", "intervention"]:
        mine = per_clinic[condition]
        assert sizes.loc[condition, "n_clusters"] == len(mine)
        assert sizes.loc[condition, "n_individuals"] == mine.sum()
        assert sizes.loc[condition, "size_median"] == mine.median()
        assert (sizes.loc[condition, "size_min"], sizes.loc[condition, "size_max"]) == (
            mine.min(),
            mine.max(),
        )


def test_sequence_labels_order_periods():
    schedule = pd.DataFrame(
        {
            "cluster_id": ["X", "X", "Y"],
            "period": [2, 1, 3],
            "condition": ["intervention", "control", "control"],
        }
    )
    labels = sequence_labels(schedule)
    assert labels["X"] == "P1 control → P2 intervention"
    assert labels["Y"] == "P3 control"


def test_errors_are_clear(betterback, prepare):
    broken = {**betterback, "patients": betterback["patients"].drop(columns="therapist_id")}
    with pytest.raises(ReportError, match="therapist_id"):
        betterback_flow(broken, PATIENT_TP, THERAPIST_TP)
    with pytest.raises(ReportError, match="'schedule' is missing"):
        betterback_flow(
            {k: v for k, v in betterback.items() if k != "schedule"}, PATIENT_TP, THERAPIST_TP
        )
    with pytest.raises(ReportError, match="not in the configured time points"):
        betterback_flow(betterback, ["baseline", "3m"], THERAPIST_TP)
    with pytest.raises(ReportError, match="configured arms"):
        prepare_flow(prepare, PREPARE_TP, ["waiting_list", "surgery"])
    with pytest.raises(ReportError, match="not among the recruited"):
        prepare_flow(prepare, PREPARE_TP, ARMS, analysed=pd.DataFrame({"patient_id": ["nobody"]}))


def figure_text(fig):
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_diagrams_show_the_counts(betterback, prepare, tmp_path):
    counts = betterback_flow(betterback, PATIENT_TP, THERAPIST_TP)
    fig = betterback_diagram(counts, patients_per_clinic(betterback["patients"]))
    text = figure_text(fig)
    recruited = betterback["patients"].condition.value_counts()
    assert f"Patients recruited: {recruited['control']}" in text
    assert f"Patients recruited: {recruited['intervention']}" in text
    assert "17 clinics" in text
    assert "Analysed: not reported" in text
    first = save_figure(fig, tmp_path / "a" / "consort")
    second = save_figure(
        betterback_diagram(counts, patients_per_clinic(betterback["patients"])),
        tmp_path / "b" / "consort",
    )
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()

    text = figure_text(therapist_diagram(counts))
    assert "Therapists recruited: 116" in text

    counts = prepare_flow(prepare, PREPARE_TP, ARMS)
    text = figure_text(prepare_diagram(counts))
    allocated = prepare["patients"].arm.value_counts()
    assert f"Allocated to physiotherapy: {allocated['physiotherapy']}" in text
    assert "Randomised: 197" in text


def test_flow_chart_rejects_empty_stages():
    with pytest.raises(ReportError):
        flow_chart([FlowStage("x", [])])
    fig = flow_chart(
        [FlowStage("a", ["one"]), FlowStage("b", ["two", "three"]), FlowStage("c", ["4"])]
    )
    assert "three" in figure_text(fig)


def test_flow_summary_uses_the_counts(betterback, prepare):
    from trialanalysis.reporting.consort import flow_summary

    text = flow_summary(betterback_flow(betterback, PATIENT_TP, THERAPIST_TP))
    patients = betterback["patients"]
    at_12m = betterback["patient_outcomes"].query("timepoint == '12m'").patient_id.nunique()
    assert f"{len(patients)} patients recruited" in text
    assert f"{(patients.condition == 'control').sum()} control" in text
    assert (
        f"returned at 12 months: {at_12m} of {len(patients)} ({100 * at_12m / len(patients):.1f}%)"
        in text
    )
    assert "3 allocation clusters (17 clinics) in 3 sequences; 116 therapists" in text
    text = flow_summary(prepare_flow(prepare, PREPARE_TP, ARMS))
    at_24m = prepare["outcomes"].query("timepoint == '24m'").patient_id.nunique()
    assert text.startswith("PREPARE: 197 randomised")
    assert f"returned at 24 months: {at_24m} of 197" in text


def test_a_screening_log_adds_the_eligibility_counts_and_box(betterback, prepare):
    from trialanalysis.reporting.flowchart import eligibility_stages

    log = pd.DataFrame({
        "screening_id": [f"S{i}" for i in range(8)],
        "eligible": ["yes", "yes", "yes", "no", "no", "yes", "no", "yes"],
        "reason_excluded": ["", "", "", "not_eligible", "", "declined", "not_eligible", ""],
        "included": ["yes", "yes", "yes", "no", "no", "no", "no", "yes"],
    })  # fmt: skip
    counts = prepare_flow({**prepare, "screening": log}, PREPARE_TP, ARMS)
    screened = counts[counts["level"] == "screened"].set_index(["stage", "group"])["n"]
    assert screened[("assessed", "all")] == 8
    assert screened[("included", "all")] == 4
    # a blank reason of an ineligible person counts as not eligible
    assert screened[("excluded", "not_eligible")] == 3
    assert screened[("excluded", "declined")] == 1
    box = eligibility_stages(counts)[0].boxes[0]
    assert box.startswith("Assessed for eligibility: 8\nExcluded: 4\n")
    assert "Included: 4" in box
    # without the log (older data) there is no eligibility box
    assert eligibility_stages(prepare_flow(prepare, PREPARE_TP, ARMS)) == []
