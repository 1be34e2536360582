"""Malformed inputs: each made from the valid fixture by one change, with the exact location.

A case changes the text tables (``t``) and/or the folder (``root``) and
returns the expected problems as (file relative to the data folder, row,
column, part of the message). Rows: header = 1, first data row = 2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.ingest.helpers import config_for, valid_tables, write_csv
from trialanalysis.errors import DataValidationError
from trialanalysis.ingest import validate_all

BB = "betterback"
PR = "prepare"


def _set(t, trial, table, index, column, value):
    t[(trial, table)].loc[index, column] = value


def _append_copy(t, trial, table, index):
    frame = t[(trial, table)]
    t[(trial, table)] = pd.concat([frame, frame.iloc[[index]]], ignore_index=True)
    return len(t[(trial, table)]) + 1  # source row of the copy


def misspelt_column(t, root):
    t[(BB, "patients")] = t[(BB, "patients")].rename(columns={"patient_id": "patinet_id"})
    return [("betterback/patients.csv", 1, "patinet_id", "did you mean 'patient_id'?")]


def missing_column(t, root):
    t[(BB, "therapists")] = t[(BB, "therapists")].drop(columns="sex")
    return [("betterback/therapists.csv", 1, "sex", "missing column 'sex'")]


def misspelt_wide_timepoint(t, root):
    outcomes = t[(PR, "outcomes")]
    wide = outcomes[outcomes["timepoint"] == "baseline"].drop(columns="timepoint")
    wide = wide.rename(columns={c: f"{c}_baseline" for c in wide.columns if c != "patient_id"})
    wide["vas_1_3mo"] = "5"
    t[(PR, "outcomes")] = wide.reset_index(drop=True)
    return [("prepare/outcomes.csv", 1, "vas_1_3mo", "did you mean 'vas_1_3m'?")]


def not_a_number(t, root):
    _set(t, BB, "patients", 2, "age", "abc")
    return [("betterback/patients.csv", 4, "age", "'abc' is not a number")]


def age_out_of_range(t, root):
    _set(t, BB, "therapists", 1, "age", "95")
    return [("betterback/therapists.csv", 3, "age", "value 95 is out of range: allowed 18 to 80")]


def age_not_whole(t, root):
    _set(t, BB, "patients", 0, "age", "30.5")
    return [("betterback/patients.csv", 2, "age", "'30.5' is not a whole number")]


def item_out_of_range(t, root):
    _set(t, BB, "patient_outcomes", 5, "odi_3", "7")
    return [("betterback/patient_outcomes.csv", 7, "odi_3", "allowed 0 to 5 (odi item 3")]


def item_not_whole(t, root):
    _set(t, BB, "patient_outcomes", 6, "nrs_1", "2.5")
    return [("betterback/patient_outcomes.csv", 8, "nrs_1", "2.5 is not a whole number")]


def item_own_scale(t, root):  # startback item 9 is scored 1-5, the others 0-1
    _set(t, BB, "patient_outcomes", 1, "startback_9", "0")
    return [("betterback/patient_outcomes.csv", 3, "startback_9", "allowed 1 to 5")]


def decimal_item_below_range(t, root):  # the walk test is not whole-number
    _set(t, PR, "outcomes", 3, "walk_1", "1.5")
    return [("prepare/outcomes.csv", 5, "walk_1", "value 1.5 is out of range: allowed 2 to 120")]


def bad_category(t, root):
    _set(t, BB, "therapists", 4, "sex", "unknown")
    return [("betterback/therapists.csv", 6, "sex", "expected one of: female, male")]


def timepoint_not_in_design(t, root):
    _set(t, BB, "patient_outcomes", 13, "timepoint", "9m")
    return [("betterback/patient_outcomes.csv", 15, "timepoint", "'9m' is not in the design")]


def duplicate_patient_timepoint(t, root):
    row = _append_copy(t, BB, "patient_outcomes", 0)
    message = "duplicate key (patient_id, timepoint) = ('P001', 'baseline'); first given in row 2"
    return [("betterback/patient_outcomes.csv", row, "patient_id", message)]


def duplicate_clinic(t, root):
    row = _append_copy(t, BB, "clinics", 0)
    return [("betterback/clinics.csv", row, "clinic_id", "first given in row 2")]


def therapist_in_unknown_clinic(t, root):
    _set(t, BB, "therapists", 6, "clinic_id", "C99")
    return [("betterback/therapists.csv", 8, "clinic_id", "'C99' is not a clinic_id in")]


def patient_of_unknown_therapist(t, root):
    _set(t, BB, "patients", 1, "therapist_id", "T99")
    return [("betterback/patients.csv", 3, "therapist_id", "'T99' is not a therapist_id")]


def therapist_in_other_clinic(t, root):
    _set(t, BB, "patients", 2, "therapist_id", "T01")
    message = "therapist 'T01' works in clinic 'C01'"
    return [("betterback/patients.csv", 4, "therapist_id", message)]


def condition_contradicts_schedule(t, root):
    _set(t, BB, "patients", 0, "condition", "intervention")
    message = "condition intervention contradicts the schedule: cluster 'A' is in control"
    return [("betterback/patients.csv", 2, "condition", message)]


def period_not_in_schedule(t, root):
    _set(t, BB, "patients", 5, "period", "1")
    return [("betterback/patients.csv", 7, "period", "period 1 is not in the schedule")]


def enrolment_outside_period(t, root):
    _set(t, BB, "patients", 6, "enrolment_date", "2017-06-15")
    message = "enrolment date 2017-06-15 is outside period 2 of cluster 'B'"
    return [("betterback/patients.csv", 8, "enrolment_date", message)]


def response_before_enrolment(t, root):
    _set(t, BB, "patient_outcomes", 8, "response_date", "2017-04-01")
    message = "response date 2017-04-01 is before the enrolment_date 2017-04-20"
    return [("betterback/patient_outcomes.csv", 10, "response_date", message)]


def period_end_before_start(t, root):
    _set(t, BB, "schedule", 2, "period_end", "2017-12-01")
    message = "period_end 2017-12-01 is before period_start 2018-01-01"
    return [("betterback/schedule.csv", 4, "period_end", message)]


def surgery_before_randomisation(t, root):
    _set(t, PR, "patients", 1, "surgery_date", "2011-01-01")
    return [("prepare/patients.csv", 3, "surgery_date", "is before randomisation_date")]


def date_wrong_format(t, root):
    _set(t, BB, "patients", 3, "enrolment_date", "2017/08/01")
    message = "'2017/08/01' is not a date in the form YYYY-MM-DD"
    return [("betterback/patients.csv", 5, "enrolment_date", message)]


def date_that_does_not_exist(t, root):
    _set(t, PR, "patients", 2, "randomisation_date", "2012-02-30")
    return [("prepare/patients.csv", 4, "randomisation_date", "is not a date")]


def responses_out_of_order(t, root):
    _set(t, BB, "patient_outcomes", 3, "response_date", "2017-06-01")
    message = "response date 2017-06-01 at 12m is before the 6m response"
    return [("betterback/patient_outcomes.csv", 5, "response_date", message)]


def schedule_cluster_without_clinics(t, root):
    frame = t[(BB, "schedule")]
    frame.loc[len(frame)] = ["Q", "1", "control", "2017-01-01", "2017-06-30"]
    return [("betterback/schedule.csv", 7, "cluster_id", "'Q' is not a cluster_id")]


def intervention_withdrawn(t, root):
    _set(t, BB, "schedule", 2, "condition", "control")
    message = "control in period 3 after intervention in period 2 (row 3)"
    return [("betterback/schedule.csv", 4, "condition", message)]


def overlapping_periods(t, root):
    _set(t, BB, "schedule", 4, "period_start", "2017-12-01")
    message = "period 3 starts on 2017-12-01, before period 2 of this cluster ends"
    return [("betterback/schedule.csv", 6, "period_start", message)]


def required_value_blank(t, root):
    _set(t, BB, "clinics", 1, "cluster_id", None)
    return [("betterback/clinics.csv", 3, "cluster_id", "missing value; this column is required")]


def missing_code_in_required_column(t, root):
    _set(t, BB, "schedule", 0, "condition", "-9")
    return [("betterback/schedule.csv", 2, "condition", "missing value")]


def decimal_comma_in_comma_file(t, root):
    _set(t, BB, "therapists", 0, "years_experience", "8,5")
    return [("betterback/therapists.csv", 2, "years_experience", "decimal comma?")]


def arm_not_allowed(t, root):
    _set(t, PR, "patients", 0, "arm", "surgery")
    return [("prepare/patients.csv", 2, "arm", "expected one of: waiting_list, physiotherapy")]


def care_of_unknown_patient(t, root):
    _set(t, BB, "care", 9, "patient_id", "P999")
    return [("betterback/care.csv", 11, "patient_id", "'P999' is not a patient_id")]


def prepare_follow_up_before_randomisation(t, root):
    _set(t, PR, "outcomes", 1, "response_date", "2012-01-26")  # randomised 2012-01-27
    message = "before the randomisation_date 2012-01-27"
    return [("prepare/outcomes.csv", 3, "response_date", message)]


def therapist_response_unknown_therapist(t, root):
    _set(t, BB, "therapist_responses", 0, "therapist_id", "T42")
    return [("betterback/therapist_responses.csv", 2, "therapist_id", "'T42' is not a")]


CASES = [
    misspelt_column,
    missing_column,
    misspelt_wide_timepoint,
    not_a_number,
    age_out_of_range,
    age_not_whole,
    item_out_of_range,
    item_not_whole,
    item_own_scale,
    decimal_item_below_range,
    bad_category,
    timepoint_not_in_design,
    duplicate_patient_timepoint,
    duplicate_clinic,
    therapist_in_unknown_clinic,
    patient_of_unknown_therapist,
    therapist_in_other_clinic,
    condition_contradicts_schedule,
    period_not_in_schedule,
    enrolment_outside_period,
    response_before_enrolment,
    period_end_before_start,
    surgery_before_randomisation,
    date_wrong_format,
    date_that_does_not_exist,
    responses_out_of_order,
    schedule_cluster_without_clinics,
    intervention_withdrawn,
    overlapping_periods,
    required_value_blank,
    missing_code_in_required_column,
    decimal_comma_in_comma_file,
    arm_not_allowed,
    care_of_unknown_patient,
    prepare_follow_up_before_randomisation,
    therapist_response_unknown_therapist,
]


def problems_of(config, root, trials=None):
    with pytest.raises(DataValidationError) as caught:
        validate_all(config, trials)
    return [
        (Path(p.file).relative_to(root).as_posix(), p.row, p.column, p.message)
        for p in caught.value.problems
    ]


def assert_located(found, expected):
    assert sorted((f, r, c) for f, r, c, _ in found) == sorted(
        (f, r, c) for f, r, c, _ in expected
    )
    for file, row, column, fragment in expected:
        messages = [m for f, r, c, m in found if (f, r, c) == (file, row, column)]
        assert any(fragment in m for m in messages), (fragment, messages)


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_one_problem_is_located_exactly(case, tmp_path):
    tables = valid_tables()
    expected = case(tables, tmp_path)
    config = write_csv(tmp_path, tables)
    trials = sorted({file.split("/")[0] for file, *_ in expected})  # the other is untouched
    found = problems_of(config, tmp_path, trials)
    assert len(found) == 1, found
    assert_located(found, expected)


def test_corpus_has_at_least_25_single_problem_cases():
    assert len(CASES) >= 25


def test_many_problems_in_one_file_all_reported(tmp_path):
    tables = valid_tables()
    expected = []
    for case in (misspelt_column, not_a_number, patient_of_unknown_therapist):
        expected += case(tables, tmp_path)
    expected += condition_contradicts_schedule(tables, tmp_path)
    found = problems_of(write_csv(tmp_path, tables), tmp_path)
    assert len(found) == 4
    assert_located(found, expected)


def test_many_problems_in_many_files_all_reported(tmp_path):
    tables = valid_tables()
    cases = [
        duplicate_clinic,
        bad_category,
        item_out_of_range,
        item_own_scale,
        surgery_before_randomisation,
        decimal_item_below_range,
        period_end_before_start,
    ]
    expected = [problem for case in cases for problem in case(tables, tmp_path)]
    found = problems_of(write_csv(tmp_path, tables), tmp_path)
    assert len(found) == len(expected)
    assert_located(found, expected)


def test_mistyped_column_gives_one_line_with_file_column_and_expected_name(tmp_path):
    tables = valid_tables()
    misspelt_column(tables, tmp_path)
    config = write_csv(tmp_path, tables)
    with pytest.raises(DataValidationError) as caught:
        validate_all(config)
    lines = str(caught.value).splitlines()[1:]
    assert lines == [
        f"{tmp_path / 'betterback' / 'patients.csv'}:1:patinet_id: unknown column 'patinet_id': "
        "did you mean 'patient_id'? (rename the column)"
    ]


def test_ragged_csv_row(tmp_path):
    write_csv(tmp_path, valid_tables())
    path = tmp_path / "betterback" / "clinics.csv"
    lines = path.read_text().splitlines()
    lines[2] += ",extra"
    path.write_text("\n".join(lines) + "\n")
    found = problems_of(config_for(tmp_path), tmp_path)
    assert_located(found, [("betterback/clinics.csv", 3, None, "row has 3 fields")])
    assert len(found) == 1


def test_duplicated_column_name(tmp_path):
    write_csv(tmp_path, valid_tables())
    path = tmp_path / "betterback" / "clinics.csv"
    lines = path.read_text().splitlines()
    lines = [lines[0] + ",cluster_id"] + [line + ",A" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    found = problems_of(config_for(tmp_path), tmp_path)
    assert_located(found, [("betterback/clinics.csv", 1, "cluster_id", "appears twice")])
    assert len(found) == 1


def test_missing_file_and_unsupported_type(tmp_path):
    write_csv(tmp_path, valid_tables())
    (tmp_path / "betterback" / "care.csv").unlink()
    (tmp_path / "prepare" / "patients.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    config = config_for(tmp_path, {(PR, "patients"): "prepare/patients.xls"})
    found = problems_of(config, tmp_path)
    expected = [
        ("betterback/care.csv", None, None, "file not found"),
        ("prepare/patients.xls", None, None, "unsupported file type '.xls'"),
    ]
    assert_located(found, expected)


def test_empty_file(tmp_path):
    write_csv(tmp_path, valid_tables())
    (tmp_path / "betterback" / "care.csv").write_text("\n\n")
    found = problems_of(config_for(tmp_path), tmp_path)
    assert_located(found, [("betterback/care.csv", None, None, "holds no data")])
