"""The scoring engine: input checks, options, several instruments, YAML-driven behaviour."""

import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.instruments.helpers import CONFIG_DIR, items_frame
from trialanalysis.errors import ScoringError, TrialAnalysisError
from trialanalysis.instruments import instrument_from_dict, load_instruments
from trialanalysis.instruments.responses import keyed_items
from trialanalysis.instruments.scoring import (
    resolve_options,
    score_instrument,
    score_range,
    score_table,
)

nan = np.nan


# --- invalid responses -----------------------------------------------------------


def test_out_of_scale_value_names_column_rows_and_range(instruments):
    odi = instruments["odi"]
    rows = [[1] * 10 for _ in range(8)]
    for r in (1, 3, 4, 5, 6, 7):
        rows[r][2] = 6
    data = items_frame(odi, rows, index=[10, 11, 12, 13, 14, 15, 16, 17])
    with pytest.raises(ScoringError) as info:
        score_instrument(data, odi)
    message = str(info.value)
    assert "'odi_3'" in message
    assert "6 value(s) outside the valid range 0-5" in message
    assert "row(s) 11, 13, 14, 15, 16, ..." in message  # first five labels, then more
    assert "values seen: 6" in message
    assert isinstance(info.value, TrialAnalysisError) and isinstance(info.value, ValueError)


def test_no_silent_clipping_of_negative_or_infinite_values(instruments):
    nrs = instruments["nrs"]
    with pytest.raises(ScoringError, match=r"'nrs_1': 2 value\(s\) outside .* row\(s\) 0, 1"):
        score_instrument(items_frame(nrs, [[-1, 3], [np.inf, 3]]), nrs)


def test_non_integer_and_non_numeric_values_are_all_reported(instruments):
    eq5d = instruments["eq5d"]
    data = pd.DataFrame(
        {
            "eq5d_1": [1.5, 1, 1],
            "eq5d_2": ["1", "two", ""],  # text column: "" is missing, "two" an error
            "eq5d_3": [1, 1, 1],
            "eq5d_4": [1, 4, 1],
            "eq5d_5": [1, 1, 1],
        }
    )
    with pytest.raises(ScoringError) as info:
        score_instrument(data, eq5d)
    message = str(info.value)
    assert "3 problem(s)" in message
    assert re.search(r"'eq5d_1': 1 non-integer value\(s\) in row\(s\) 0; valid: 1-3", message)
    assert re.search(r"'eq5d_2': 1 non-numeric value\(s\) in row\(s\) 1", message)
    assert re.search(r"'eq5d_4': 1 value\(s\) outside the valid range 1-3", message)


def test_long_numbers_are_not_echoed(instruments):
    nrs = instruments["nrs"]
    with pytest.raises(ScoringError) as info:
        score_instrument(items_frame(nrs, [[198001011234, 3]]), nrs)
    assert "198001011234" not in str(info.value)


def test_absent_item_columns(instruments):
    with pytest.raises(ScoringError, match="item column\\(s\\) not in the data: bipq_8"):
        score_instrument(
            pd.DataFrame({f"bipq_{i}": [1] for i in range(1, 8)}), instruments["bipq"]
        )


def test_text_numbers_nullable_and_boolean_columns_are_accepted(instruments):
    data = pd.DataFrame(
        {
            "nrs_1": pd.array([3, None, 10], dtype="Int64"),
            "nrs_2": pd.Series([" 4", "", None], dtype="string"),
        }
    )
    out = score_instrument(data, instruments["nrs"])
    assert out["nrs_back"].to_numpy() == pytest.approx([3, nan, 10], nan_ok=True)
    assert out["nrs_leg"].to_numpy() == pytest.approx([4, nan, nan], nan_ok=True)
    care = pd.DataFrame(
        {
            "referral_specialist": [True, False],
            "referral_imaging": [False, False],
            "education_given": [True, True],
            "exercise_given": [True, False],
            "non_evidence_treatment": [False, True],
        }
    )
    # row 1: 0 + 1 + 1 + 1 + 1 = 4; row 2: 1 + 1 + 1 + 0 + 0 = 3
    assert score_instrument(care, instruments["cpqi"])["cpqi_total"].tolist() == [4, 3]


# --- output shape -------------------------------------------------------------------


def test_keeps_other_columns_index_and_replaces_old_scores(instruments):
    nrs = instruments["nrs"]
    data = pd.DataFrame(
        {"patient_id": ["0012", "0013"], "nrs_1": [1, 2], "nrs_back": [99, 99], "nrs_2": [3, 4]},
        index=[7, 9],
    )
    out = score_instrument(data, nrs)
    assert list(out.columns) == ["patient_id", "nrs_1", "nrs_2", "nrs_back", "nrs_leg"]
    assert list(out.index) == [7, 9]
    assert list(out["patient_id"]) == ["0012", "0013"]
    assert out["nrs_back"].tolist() == [1, 2]
    assert data["nrs_back"].tolist() == [99, 99]  # input untouched


def test_score_table_with_options_per_instrument_and_all_problems(instruments):
    data = pd.concat(
        [
            items_frame(instruments["eq5d"], [[1, 1, 1, 1, 1], [3, 3, 3, 3, 3]]),
            items_frame(instruments["nrs"], [[2, 3], [4, 5]]),
        ],
        axis=1,
    )
    out = score_table(
        data,
        instruments={"eq5d": instruments["eq5d"], "nrs": instruments["nrs"]},
        options={"eq5d": {"value_set": "se_experience_burstrom2014", "full_health": 1.0}},
    )
    assert out["eq5d_index"].tolist() == pytest.approx([1.0, 0.3402])
    assert out.columns[-3:].tolist() == ["eq5d_index", "nrs_back", "nrs_leg"]

    bad = data.assign(eq5d_1=[0, 1], nrs_2=[11, 1])
    with pytest.raises(ScoringError) as info:
        score_table(bad, [instruments["eq5d"], instruments["nrs"]])
    assert "eq5d_1" in str(info.value) and "nrs_2" in str(info.value)

    with pytest.raises(ScoringError, match="not scored: odi"):
        score_table(data, [instruments["nrs"]], options={"odi": {}})
    only_nrs = score_table(data, instruments, skip_absent=True)
    assert "odi_total" not in only_nrs and "nrs_back" in only_nrs
    with pytest.raises(ScoringError, match="not in the data"):
        score_table(data, instruments)


def test_score_table_is_fast_and_vectorised_on_100k_rows(instruments):
    rng = np.random.default_rng(1)
    n = 100_000
    data = pd.DataFrame(
        rng.integers(0, 6, size=(n, 10)), columns=instruments["odi"].item_columns.values()
    )
    data = data.mask(rng.random(data.shape) < 0.05)
    data = pd.concat(
        [
            data,
            items_frame(
                instruments["startback"],
                np.column_stack([rng.integers(0, 2, (n, 8)), rng.integers(1, 6, n)]),
            ),
        ],
        axis=1,
    )
    out = score_table(data, [instruments["odi"], instruments["startback"]])
    answered = data.iloc[:, :10].notna().sum(axis=1)
    expected = data.iloc[:, :10].sum(axis=1) / (5 * answered) * 100
    expected[answered < 9] = nan
    assert np.allclose(out["odi_total"], expected, equal_nan=True)
    assert out["startback_risk"].notna().all()


# --- options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("eq5d", {"valueset": "x"}, "unknown scoring option for eq5d: valueset"),
        ("eq5d", {"value_set": "nl"}, "value_set must be one of"),
        ("eq5d", {"full_health": "best"}, "full_health must be a number"),
        ("eq5d", {"full_health": True}, "full_health must be a number"),
        ("eq5d", {"transform": "percent"}, "only to sum or mean scores"),
        ("odi", {"value_set": "uk_tto_dolan1997"}, "only to instruments with a value set"),
        ("odi", {"transform": "logit"}, "transform must be 'none' or 'percent'"),
        ("odi", {"max_missing": "-1"}, "max_missing must be a whole number"),
    ],
)
def test_invalid_options(instruments, name, options, message):
    with pytest.raises(ScoringError, match=re.escape(message)):
        resolve_options(instruments[name], options)


def test_max_missing_option_changes_the_missing_rule(instruments):
    odi = instruments["odi"]
    data = items_frame(odi, [[2, 3, 1, 0, 4, 2, 1, nan, nan, 2]])
    assert np.isnan(score_instrument(data, odi)["odi_total"].iloc[0])
    # 15 / (5 x 8) x 100 = 37.5
    assert score_instrument(data, odi, max_missing="2")["odi_total"].iloc[0] == 37.5


def test_score_ranges(instruments):
    assert score_range(instruments["eq5d"], "index") == pytest.approx((-0.594, 1.0))
    se = {"value_set": "se_experience_burstrom2014"}
    assert score_range(instruments["eq5d"], "index", se) == pytest.approx((0.3402, 0.9694))
    assert score_range(instruments["eq5d"], "index", {**se, "full_health": 1}) == pytest.approx(
        (0.3402, 1.0)
    )
    assert score_range(instruments["tsk"], "total") == (17, 68)
    assert score_range(instruments["startback"], "total") == (0, 9)
    assert score_range(instruments["pei"], "total") == (0, 12)
    assert score_range(instruments["dibq"], "knowledge") == (0, 100)
    assert score_range(instruments["dibq"], "knowledge", {"transform": "none"}) == (1, 7)


# --- keyed items ---------------------------------------------------------------------


def test_keyed_items_recodes_then_reverses(instruments):
    spec = {
        "instrument": "demo",
        "title": "demo",
        "reference": "test",
        "items": {"count": 2},
        "response": {"min": 1, "max": 5},
        # item 2 recoded onto 0-2, then reversed on that range: 0 + 2 - x
        "recode": {2: {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}},
        "reverse": [1, 2],
        "scores": {"total": {"items": "all"}},
    }
    demo = instrument_from_dict(spec)
    keyed = keyed_items(pd.DataFrame({"demo_1": [1, 5, nan], "demo_2": [1, 3, 5]}), demo)
    assert keyed["demo_1"].tolist() == pytest.approx([5, 1, nan], nan_ok=True)
    assert keyed["demo_2"].tolist() == [2, 1, 0]


# --- classifications with rules and missing scores ------------------------------------


def test_rule_classification_leaves_undecidable_rows_missing():
    spec = {
        "instrument": "demo",
        "title": "demo",
        "reference": "test",
        "items": {"count": 2},
        "response": {"min": 0, "max": 5},
        "scores": {"a": {"items": [1]}, "b": {"items": [2]}},
        "classifications": {
            "group": {
                "rules": [
                    {"label": "high", "when": [{"score": "a", "op": ">=", "value": 4}]},
                    {"label": "mid", "when": [{"score": "b", "op": ">=", "value": 4}]},
                    {"label": "low", "when": []},
                ]
            }
        },
    }
    demo = instrument_from_dict(spec)
    data = pd.DataFrame({"demo_1": [5, 1, nan, 1, 5], "demo_2": [nan, 4, 4, 1, 0]})
    out = score_instrument(data, demo)["demo_group"]
    # a missing: the first rule is undecidable, so the row stays missing even if b >= 4
    assert [None if pd.isna(v) else v for v in out] == ["high", "mid", None, "low", "high"]
    assert list(out.cat.categories) == ["high", "mid", "low"] and not out.cat.ordered


# --- behaviour follows the YAML ---------------------------------------------------------


def copy_config(tmp_path, *names):
    for name in names:
        shutil.copy(CONFIG_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")


def edit_yaml(path, change):
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def test_editing_reverse_keys_and_subscales_in_yaml_changes_scores(tmp_path, instruments):
    copy_config(tmp_path, "bipq", "fabq")
    bipq_row = [5, 5, 2, 3, 7, 4, 1, 6]
    fabq_row = [i % 7 for i in range(1, 17)]
    data = pd.concat(
        [
            items_frame(instruments["bipq"], [bipq_row]),
            items_frame(instruments["fabq"], [fabq_row]),
        ],
        axis=1,
    )
    before = score_table(data, load_instruments(tmp_path))
    assert before["bipq_total"].iloc[0] == 51
    assert before["fabq_physical_activity"].iloc[0] == 14

    def drop_reverse_item_7(spec):
        spec["reverse"] = [3, 4]

    def add_item_1_to_physical_activity(spec):
        spec["scores"]["physical_activity"]["items"] = [1, 2, 3, 4, 5]

    edit_yaml(tmp_path / "bipq.yaml", drop_reverse_item_7)
    edit_yaml(tmp_path / "fabq.yaml", add_item_1_to_physical_activity)
    after = score_table(data, load_instruments(tmp_path))
    assert after["bipq_total"].iloc[0] == 51 - 9 + 1  # item 7 = 1 no longer scored 10 - 1
    assert after["fabq_physical_activity"].iloc[0] == 14 + 1  # item 1 = 1 added


def test_editing_value_set_and_bands_in_yaml_changes_scores(tmp_path, instruments):
    copy_config(tmp_path, "eq5d", "hads")

    def full_health_one(spec):
        spec["value_sets"]["se_experience_burstrom2014"]["full_health"] = 1.0

    def move_band(spec):
        spec["classifications"]["anxiety_band"]["breaks"] = [6, 10]

    edit_yaml(tmp_path / "eq5d.yaml", full_health_one)
    edit_yaml(tmp_path / "hads.yaml", move_band)
    edited = load_instruments(tmp_path)
    eq = score_instrument(
        items_frame(edited["eq5d"], [[1] * 5]),
        edited["eq5d"],
        value_set="se_experience_burstrom2014",
    )
    assert eq["eq5d_index"].iloc[0] == 1.0
    hads = score_instrument(items_frame(edited["hads"], [[1, 0] * 7]), edited["hads"])
    assert hads["hads_anxiety"].iloc[0] == 7 and hads["hads_anxiety_band"].iloc[0] == "borderline"
