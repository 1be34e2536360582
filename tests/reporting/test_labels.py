"""Labels of codes from config and instrument definitions, and the clinical order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialanalysis.config import validate_config
from trialanalysis.instruments import load_instruments
from trialanalysis.reporting.labels import Labels, codes_in_text, looks_like_code, run_labels
from trialanalysis.reporting.tables import format_table

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "example"


@pytest.fixture(scope="module")
def labels():
    return Labels.from_config(validate_config({}), load_instruments())


def test_outcome_labels_carry_the_direction_and_the_unverified_flag(labels):
    assert labels("odi_total") == "Disability (ODI, 0-100, higher = worse)"
    assert labels("eq5d_index") == "EQ-5D-3L index (higher = better)"
    assert labels("pcs_total") == (
        "Practitioner confidence (PCS 4-20, higher = more confident, direction unverified)"
    )
    assert labels.flagged("pcs_total") and not labels.flagged("odi_total")


def test_arms_time_points_and_categories(labels):
    assert labels("waiting_list") == "Waiting list"
    assert labels("post_intervention") == "Post-intervention"
    assert labels("3m") == "3 months"
    assert labels.category("pain_duration", "3to12m") == "3–12 months"
    shuffled = ["gt12m", "3to12m", "unknown", "lt3m"]
    assert labels.order("pain_duration", shuffled) == ["lt3m", "3to12m", "gt12m", "unknown"]


def test_an_unknown_code_falls_back_to_itself(labels):
    assert labels("vitamin_d") == "vitamin_d"
    assert labels.category("colour", "blue") == "blue"
    assert labels.order("colour", ["b", "a"]) == ["b", "a"]


def test_config_entries_add_to_the_defaults_and_replace_instrument_labels():
    config = validate_config(
        {"reporting": {"labels": {
            "values": {"waiting_list": "Wait list"},
            "categories": {"pain_duration": {"lt3m": "Acute"}},
            "outcomes": {"pcs_total": "PCS (lower = more confident)"},
        }}}
    )  # fmt: skip
    labels = Labels.from_config(config, load_instruments())
    assert labels("waiting_list") == "Wait list"
    assert labels("physiotherapy") == "Physiotherapy"  # the other defaults stay
    assert labels.category("pain_duration", "lt3m") == "Acute"
    assert labels.category("pain_duration", "gt12m") == "> 12 months"
    assert labels("pcs_total") == "PCS (lower = more confident)"
    assert not labels.flagged("pcs_total")  # the team's own label replaces the flag


def test_defaults_cover_every_code_of_the_example_data(labels):
    """Every category, arm, condition and time point of the example data has a label."""
    coded = {
        "bb/patients.csv": ["condition", "sex", "pain_duration"],
        "bb/patient_outcomes.csv": ["timepoint"],
        "bb/therapist_responses.csv": ["timepoint"],
        "bb/therapists.csv": ["sex"],
        "pr/patients.csv": ["arm", "diagnosis", "sex"],
        "pr/outcomes.csv": ["timepoint"],
        "bb/adverse_events.csv": ["serious", "related", "category"],
        "pr/adverse_events.csv": ["serious", "related", "category"],
        "bb/screening.csv": ["eligible", "reason_excluded", "included"],
        "pr/screening.csv": ["eligible", "reason_excluded", "included"],
    }
    unlabelled = set()
    for name, columns in coded.items():
        trial = {"bb": "betterback", "pr": "prepare"}[name.split("/")[0]]
        table = pd.read_csv(EXAMPLE / trial / name.split("/")[1], dtype=str)
        for column in columns:
            for code in table[column].dropna().unique():
                if labels.category(column, code) == code:
                    unlabelled.add(f"{name}:{column}={code}")
    assert not unlabelled


def test_rendered_tables_show_labels_but_round_by_code(labels):
    table = pd.DataFrame(
        {"outcome": ["eq5d_index", "odi_total"], "arm": ["waiting_list", "physiotherapy"],
         "timepoint": ["post_intervention", "3m"], "estimate": [0.12345, 3.4567],
         "n_clusters": [3, 4]}
    )  # fmt: skip
    rules = [
        {"columns": "estimate", "where": {"outcome": "eq5d.*"}, "style": "fixed", "digits": 3},
        {"columns": "n_.*", "style": "integer"},
        {"columns": ".*", "style": "fixed", "digits": 1},
    ]
    rendered = format_table(table, rules, codes=labels)
    assert rendered.cells["outcome"].tolist() == [
        "EQ-5D-3L index (higher = better)",
        "Disability (ODI, 0-100, higher = worse)",
    ]
    assert rendered.cells["arm"].tolist() == ["Waiting list", "Physiotherapy"]
    assert rendered.cells["timepoint"].tolist() == ["Post-intervention", "3 months"]
    assert rendered.cells["estimate"].tolist() == ["0.123", "3.5"]
    assert "N clinics" in rendered.headers and "Time point" in rendered.headers


def test_words_are_not_taken_for_codes(labels):
    table = pd.DataFrame({"level": ["high", "lt3m"], "note": ["case", "other"]})
    cells = labels.relabel(table)
    assert cells["level"].tolist() == ["high", "< 3 months"]
    assert cells["note"].tolist() == ["case", "other"]
    assert looks_like_code("odi_total") and looks_like_code("3m")
    assert not looks_like_code("intervention") and not looks_like_code("3 months")


def test_codes_in_text_finds_whole_words_only(labels):
    codes = labels.codes()
    assert "waiting_list" in codes and "3m" in codes and "control" not in codes
    text = "Results at 3m for waiting_list; file results/3m/x.csv; 13m; odi_total_change"
    assert codes_in_text(text, codes) == ["waiting_list", "3m"]


def test_run_labels_reads_the_config_instruments_dir(tmp_path):
    config = {"instruments_dir": "config/instruments", "reporting": {}}
    assert run_labels(config)("odi_total").startswith("Disability (ODI")


def test_running_text_shows_labels_outside_code(labels):
    text = labels.text(
        "At 3m: 99 waiting_list, 98 physiotherapy. post_intervention first; "
        "`odi_total ~ timepoint` stays; so does results/prepare_3m.csv and a.3m"
    )
    assert text == (
        "At 3 months: 99 waiting list, 98 physiotherapy. Post-intervention first; "
        "`odi_total ~ timepoint` stays; so does results/prepare_3m.csv and a.3m"
    )
    odi = "Disability (ODI, 0-100, higher = worse)"
    assert labels.text("odi_total at 12m") == f"{odi} at 12 months"


def test_the_report_shows_labels_except_in_the_provenance_appendix(tmp_path):
    from trialanalysis.reporting.report import render_report

    table = tmp_path / "t.csv"
    pd.DataFrame({"arm": ["waiting_list"], "n": [12]}).to_csv(table, index=False)
    sections = [
        {"id": "results", "title": "Results at 3m", "blocks": [
            {"text": "Primary: odi_total at post_intervention."},
            {"table": str(table), "caption": "Arms at 3m"}]},
        {"id": "provenance", "title": "Provenance", "blocks": [
            {"text": "Recoded Väntelista to waiting_list."},
            {"table": str(table), "caption": "Recodes"}]},
    ]  # fmt: skip
    html = render_report(sections, root=tmp_path, outline=None)
    results, provenance = html.split('id="provenance"')
    assert "Results at 3 months" in results and "Arms at 3 months" in results
    assert "Disability (ODI, 0-100, higher = worse) at post-intervention" in results
    assert "Waiting list" in results and "waiting_list" not in results
    assert "Recoded Väntelista to waiting_list." in provenance
    assert ">waiting_list<" in provenance
