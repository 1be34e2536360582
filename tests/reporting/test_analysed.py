"""CONSORT "analysed": patients per outcome, time point and arm, with reasons (hand-worked)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialanalysis.errors import ReportError
from trialanalysis.reporting.analysed import ANALYSED_COUNTS, analysed_counts, responder_counts
from trialanalysis.reporting.flowchart import analysed_stage
from trialanalysis.reporting.suppression import SuppressionRule, suppress_counts

NAN = np.nan


@pytest.fixture
def case():
    """Six patients, two arms; one outcome ``y`` at baseline and 3m.

    a: p1 analysed; p2 no value at 3m; p3 value at 3m but no baseline.
    b: p4, p5 analysed; p6 observed at both but left out (covariate missing).
    """
    groups = pd.Series(
        pd.Categorical(["a", "a", "a", "b", "b", "b"], categories=["a", "b"]),
        index=[f"p{i}" for i in range(1, 7)],
    )
    scores = pd.DataFrame({
        "patient_id": ["p1", "p1", "p2", "p3", "p4", "p4", "p5", "p5", "p6", "p6"],
        "timepoint": ["baseline", "3m", "baseline", "3m", "baseline", "3m", "baseline", "3m",
                      "baseline", "3m"],
        "y": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    })  # fmt: skip
    used = pd.DataFrame(
        {"patient_id": ["p1", "p4", "p5"], "timepoint": ["3m"] * 3, "outcome": ["y"] * 3}
    )
    return groups, scores, used


def test_counts_and_reasons_add_up(case):
    groups, scores, used = case
    table = analysed_counts("trial", groups, scores, used, ["3m"], "baseline")
    a, b = table.to_dict("records")
    assert (a["group"], a["n_allocated"], a["n_analysed"]) == ("a", 3, 1)
    assert (a["n_no_follow_up"], a["n_no_baseline"], a["n_other"]) == (1, 1, 0)
    assert (b["group"], b["n_allocated"], b["n_analysed"]) == ("b", 3, 2)
    assert (b["n_no_follow_up"], b["n_no_baseline"], b["n_other"]) == (0, 0, 1)


def test_a_missing_score_is_not_an_observation(case):
    groups, scores, used = case
    scores.loc[scores["patient_id"] == "p6", "y"] = [NAN, 10]  # p6 loses the baseline
    row = analysed_counts("t", groups, scores, used, ["3m"], "baseline").iloc[1]
    assert (row["n_no_baseline"], row["n_other"]) == (1, 0)


def test_time_points_the_analysis_does_not_estimate_are_left_out(case):
    groups, scores, used = case
    table = analysed_counts("t", groups, scores, used, ["3m", "12m"], "baseline")
    assert set(table["timepoint"]) == {"3m"}


def test_analysed_patients_must_be_allocated(case):
    groups, scores, used = case
    used.loc[0, "patient_id"] = "p99"
    with pytest.raises(ReportError, match="not among the allocated"):
        analysed_counts("t", groups, scores, used, ["3m"], "baseline")


def test_small_counts_are_suppressed_unless_flow_counts_are_exempt(case):
    groups, scores, used = case
    table = analysed_counts("t", groups, scores, used, ["3m"], "baseline")
    hidden = suppress_counts(table, ANALYSED_COUNTS, SuppressionRule(min_cell_size=5)).table
    assert hidden.loc[0, "n_analysed"] == "<5"
    shown = SuppressionRule(min_cell_size=5, exempt_flow=True)
    assert suppress_counts(table, ANALYSED_COUNTS, shown).table.loc[0, "n_analysed"] == 1


def test_the_diagram_box_quotes_the_counts_and_reasons(case):
    groups, scores, used = case
    table = analysed_counts("t", groups, scores, used, ["3m"], "baseline")
    stage = analysed_stage(table, ["a", "b"], ["y"], ["3m"])
    assert stage.boxes[0].endswith("y, 3 months: 1 (1 no value, 1 no baseline)")
    assert stage.boxes[1].endswith("y, 3 months: 2 (1 other)")


def test_responder_counts_add_the_unclassifiable(case):
    groups, scores, _ = case
    # a: p1 observed at both (analysed); p2 no value at 3m; p3 no baseline
    # b: p4 analysed, p5 unclassifiable (e.g. a baseline of 0), p6 analysed
    responders = pd.DataFrame(
        {"definition": ["y improved >= 30%"], "outcome": ["y"], "timepoint": ["3m"],
         "a_n": [1], "a_undefined": [0], "b_n": [2], "b_undefined": [1]}
    )  # fmt: skip
    a, b = responder_counts("t", groups, scores, responders, "baseline").to_dict("records")
    assert a["analysis"] == "responders: y improved >= 30%"
    assert (a["n_analysed"], a["n_no_follow_up"], a["n_no_baseline"], a["n_other"]) == (1, 1, 1, 0)
    assert (b["n_analysed"], b["n_unclassifiable"], b["n_other"]) == (2, 1, 0)
    responders.loc[0, "b_n"] = 3  # more than were observed at both times
    with pytest.raises(ReportError, match="disagree"):
        responder_counts("t", groups, scores, responders, "baseline")
