"""Loading instrument definitions, their consistency checks and the verified facts."""

import pytest
import yaml

from tests.instruments.helpers import CONFIG_DIR
from trialanalysis.errors import ConfigError
from trialanalysis.instruments import instrument_from_dict, load_instrument, load_instruments

ALL = [
    "bipq",
    "cpqi",
    "dibq",
    "eq5d",
    "eqvas",
    "fabq",
    "hads",
    "nrs",
    "odi",
    "pabs",
    "pal",
    "pcs",
    "pei",
    "ses",
    "startback",
    "tsk",
    "vas",
    "walk",
]


def minimal(**changes):
    spec = {
        "instrument": "demo",
        "title": "demo",
        "reference": "test",
        "items": {"count": 3},
        "response": {"min": 1, "max": 5},
        "scores": {"total": {"items": "all"}},
    }
    spec.update(changes)
    return spec


def test_all_definitions_load(instruments):
    assert list(instruments) == ALL
    assert instruments["odi"].score_columns == ["odi_total"]
    assert instruments["startback"].score_columns == [
        "startback_total",
        "startback_psychosocial",
        "startback_risk",
    ]
    assert instruments["hads"].scale_of(1).max == 3
    assert instruments["startback"].scale_of(9).max == 5
    assert instruments["startback"].scored_range(9) == (0, 1)
    assert instruments["pabs"].item_columns[19] == "pabs_19"


def test_verified_scoring_facts_match_the_domain_brief(instruments):
    # /work/shared/docs/domain.md section 4
    uk = instruments["eq5d"].value_sets["uk_tto_dolan1997"]
    assert (uk["intercept"], uk["any_problem"], uk["any_level3"]) == (1.0, 0.081, 0.269)
    assert [uk["decrements"][i] for i in range(1, 6)] == [
        [0.069, 0.314],
        [0.104, 0.214],
        [0.036, 0.094],
        [0.123, 0.386],
        [0.071, 0.236],
    ]
    se = instruments["eq5d"].value_sets["se_experience_burstrom2014"]
    assert (se["intercept"], se["any_level3"], se["full_health"]) == (0.9694, 0.0433, "model")
    assert [se["decrements"][i] for i in range(1, 6)] == [
        [0.0666, 0.1247],
        [0.0276, 0.0276],
        [0.1012, 0.1355],
        [0.0345, 0.0904],
        [0.0552, 0.2077],
    ]
    hads = instruments["hads"].scores
    assert hads["anxiety"].items == (1, 3, 5, 7, 9, 11, 13)
    assert hads["depression"].items == (2, 4, 6, 8, 10, 12, 14)
    fabq = instruments["fabq"].scores
    assert fabq["physical_activity"].items == (2, 3, 4, 5)
    assert fabq["work"].items == (6, 7, 9, 10, 11, 12, 15)
    assert instruments["tsk"].reverse == (4, 8, 12, 16)
    assert instruments["bipq"].reverse == (3, 4, 7)
    assert instruments["startback"].scores["psychosocial"].items == (5, 6, 7, 8, 9)
    assert instruments["odi"].scores["total"].max_missing == 1


def test_unverified_settings_are_flagged_with_values(instruments):
    rows = [r for i in instruments.values() for r in i.unverified_settings()]
    flagged = {(r["instrument"], r["setting"]) for r in rows}
    for expected in [
        ("pabs", "pabs_bm"),
        ("pabs", "pabs_bps"),
        ("pcs", "pcs_total"),
        ("dibq", "dibq_knowledge"),
        ("dibq", "response"),
        ("pei", "recode"),
        ("eq5d", "value_sets"),
    ]:
        assert expected in flagged
    assert all(r["note"] and r["value"] for r in rows)
    pei = next(r for r in rows if r["setting"] == "recode")
    assert pei["value"] == "items 1, 2, 3, 4, 5, 6: 0->0, 1->1, 2->2, 3->0"
    pabs = next(r for r in rows if r["setting"] == "pabs_bm")
    assert pabs["value"].startswith("items 1, 2, 3, 4, 5, 6, 7, 8, 9, 10; sum; at most 1 missing")


def test_schema_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"<dict>: <top>: Additional properties.*'revers'"):
        instrument_from_dict(minimal(revers=[1]))
    with pytest.raises(ConfigError, match=r"scores/total/method"):
        instrument_from_dict(minimal(scores={"total": {"method": "median"}}))
    with pytest.raises(ConfigError, match="unverified/0/setting"):
        instrument_from_dict(minimal(unverified=[{"setting": "reverse_keys", "note": "x"}]))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reverse": [4]}, "reverse refers to item(s) [4], but there are 3 items"),
        ({"scores": {"total": {"items": [1, 7]}}}, "scores.total refers to item(s) [7]"),
        ({"recode": {1: {1: 0, 2: 0, 3: 1, 4: 1}}}, "no scored value for response code(s) [5.0]"),
        ({"recode": {"all": {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}}}, "outside the response scale"),
        ({"response": {"min": 5, "max": 1}}, "response: min must be below max"),
        (
            {
                "item_response": {3: {"min": 0, "max": 10}},
                "scores": {"t": {"transform": "percent"}},
            },
            "transform percent needs items with one common scored range",
        ),
        (
            {
                "classifications": {
                    "band": {"score": "total", "breaks": [10, 5], "labels": list("abc")}
                }
            },
            "breaks must be strictly increasing",
        ),
        (
            {"classifications": {"band": {"score": "total", "breaks": [10], "labels": ["a"]}}},
            "needs one more label than breaks",
        ),
        (
            {"classifications": {"band": {"score": "sum", "breaks": [10], "labels": ["a", "b"]}}},
            "refers to unknown score 'sum'",
        ),
        (
            {"scores": {"index": {"method": "value_set", "value_set": "nl"}}},
            "value set 'nl' is not defined",
        ),
        ({"items": {"count": 2, "columns": {1: "x", 2: "x"}}}, "two items map to the same column"),
    ],
)
def test_inconsistent_definitions_are_rejected(changes, message):
    with pytest.raises(ConfigError) as info:
        instrument_from_dict(minimal(**changes), source="demo.yaml")
    assert message in str(info.value)
    assert "demo.yaml:" in str(info.value)


def test_all_consistency_problems_are_listed_together():
    with pytest.raises(ConfigError) as info:
        instrument_from_dict(minimal(reverse=[4], scores={"total": {"items": [9]}}))
    assert "reverse refers" in str(info.value) and "scores.total refers" in str(info.value)


def test_value_set_needs_decrements_for_every_item():
    spec = yaml.safe_load((CONFIG_DIR / "eq5d.yaml").read_text())
    del spec["value_sets"]["uk_tto_dolan1997"]["decrements"][5]
    with pytest.raises(ConfigError, match=r"uk_tto_dolan1997: no decrements for item\(s\) \[5\]"):
        instrument_from_dict(spec)


def test_file_name_must_match_and_folder_must_not_be_empty(tmp_path):
    (tmp_path / "other.yaml").write_text((CONFIG_DIR / "nrs.yaml").read_text())
    with pytest.raises(ConfigError, match=r"file name must be nrs\.yaml"):
        load_instrument(tmp_path / "other.yaml")
    with pytest.raises(ConfigError, match="no instrument definitions"):
        load_instruments(tmp_path / "empty")
    (tmp_path / "bad.yaml").write_text("instrument: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_instrument(tmp_path / "bad.yaml")
