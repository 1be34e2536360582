"""Psychometrics: checked against R (psych, factanal), pingouin and hand-worked cases."""

import dataclasses

import numpy as np
import pandas as pd
import pingouin
import pytest

from tests.instruments.helpers import GOLDEN_DIR, items_frame
from trialanalysis.errors import ScoringError
from trialanalysis.instruments import instrument_from_dict, reliability
from trialanalysis.instruments.psychometrics import (
    ITEM_COLUMNS,
    SUMMARY_COLUMNS,
    item_statistics,
    psychometrics_table,
    unverified_settings_table,
)

nan = np.nan

# The test instrument of psychometrics_golden.R: 6 items 1-5, item 4 reversed.
GOLD = instrument_from_dict(
    {
        "instrument": "gold",
        "title": "golden test instrument",
        "reference": "tests/instruments/golden/psychometrics_golden.R",
        "items": {"count": 6},
        "response": {"min": 1, "max": 5},
        "reverse": [4],
        "scores": {
            "total": {"items": "all", "max_missing": 1},
            "sub3": {"items": [1, 2, 3], "max_missing": 1},
        },
    }
)


@pytest.fixture(scope="module")
def golden_data():
    return pd.read_csv(GOLDEN_DIR / "psychometrics_items.csv")


def test_summary_matches_r_psych_and_factanal(golden_data):
    table = psychometrics_table(golden_data, [GOLD], by="timepoint")
    assert list(table.columns) == [*SUMMARY_COLUMNS[:3], "timepoint", *SUMMARY_COLUMNS[3:]]
    golden = pd.read_csv(GOLDEN_DIR / "psychometrics_golden.csv")
    merged = table.merge(golden, on=["timepoint", "score"], suffixes=("", "_r"), validate="1:1")
    assert len(merged) == 4
    for column in ["n_items", "n_rows", "n_respondents", "n_complete", "n_scored"]:
        assert (merged[column] == merged[f"{column}_r"]).all(), column
    for column in [
        "missing_items_pct",
        "cronbach_alpha",
        "alpha_conf_low",
        "alpha_conf_high",
        "mean_inter_item_r",
        "floor_pct",
        "ceiling_pct",
    ]:
        assert merged[column].to_numpy() == pytest.approx(merged[f"{column}_r"], abs=1e-10)
    # factanal stops at its own tolerance: agreement to 1e-6 is what the optimisers allow
    assert merged["omega_total"].to_numpy() == pytest.approx(merged["omega_total_r"], abs=1e-6)
    assert (merged["note"] == "").all()
    assert set(merged["alpha_ci_method"]) == {"feldt"}
    assert merged["score_min_possible"].tolist() == merged["n_items"].tolist()
    assert merged["score_max_possible"].tolist() == (5 * merged["n_items"]).tolist()


def test_item_statistics_match_r(golden_data):
    items = item_statistics(golden_data, [GOLD], by="timepoint")
    assert list(items.columns) == [*ITEM_COLUMNS[:2], "timepoint", *ITEM_COLUMNS[2:]]
    golden = pd.read_csv(GOLDEN_DIR / "psychometrics_items_golden.csv")
    merged = items.merge(golden, on=["timepoint", "score", "item"], suffixes=("", "_r"))
    assert len(merged) == len(golden) == 18
    for column in ["corrected_item_total_r", "alpha_if_deleted"]:
        assert merged[column].to_numpy() == pytest.approx(merged[f"{column}_r"], abs=1e-10)
    assert merged["loading"].to_numpy() == pytest.approx(merged["loading_r"], abs=1e-5)
    # the summary's min/max item-total r come from the same numbers
    summary = psychometrics_table(golden_data, [GOLD], by="timepoint")
    lowest = merged.groupby(["score", "timepoint"], sort=False)["corrected_item_total_r"].min()
    check = summary.set_index(["score", "timepoint"])["item_total_r_min"]
    assert check.loc[lowest.index].to_numpy() == pytest.approx(lowest.to_numpy())


def test_alpha_matches_pingouin_on_complete_data(golden_data):
    keyed = golden_data[[f"gold_{i}" for i in range(1, 7)]].dropna().copy()
    keyed["gold_4"] = 6 - keyed["gold_4"]
    ours = reliability.cronbach_alpha(keyed.to_numpy(dtype=float))
    theirs, ci = pingouin.cronbach_alpha(data=keyed)
    assert ours.alpha == pytest.approx(theirs, abs=1e-12)
    assert [ours.conf_low, ours.conf_high] == pytest.approx(ci, abs=5e-4)  # pingouin rounds
    assert ours.n == len(keyed)


def test_alpha_hand_worked():
    # x1 = 1, 2, 3 and x2 = 1, 3, 2: item variances 1 and 1, total 2, 5, 5 has
    # variance 3, so alpha = 2 / 1 x (1 - 2 / 3) = 2 / 3
    result = reliability.cronbach_alpha(np.array([[1, 1], [2, 3], [3, 2], [nan, 1.0]]))
    assert result.alpha == pytest.approx(2 / 3)
    assert result.n == 3
    assert result.conf_low < 2 / 3 < result.conf_high


def test_omega_three_items_equals_closed_form(golden_data):
    # With 3 items the one-factor model is just identified:
    # lambda_1^2 = r12 r13 / r23 (and cyclically), psi = 1 - lambda^2.
    data = golden_data[["gold_1", "gold_2", "gold_3"]].dropna().to_numpy(dtype=float)
    r = np.corrcoef(data.T)
    lam = np.sqrt(
        [r[0, 1] * r[0, 2] / r[1, 2], r[0, 1] * r[1, 2] / r[0, 2], r[0, 2] * r[1, 2] / r[0, 1]]
    )
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    result = reliability.omega_total(data)
    assert result.omega == pytest.approx(expected, abs=1e-7)
    assert result.loadings == pytest.approx(lam, abs=1e-6)


def test_omega_is_missing_with_a_reason_when_not_estimable():
    rng = np.random.default_rng(3)
    two = rng.normal(size=(50, 2))
    assert "at least 3 items" in reliability.omega_total(two).note
    assert np.isnan(reliability.omega_total(two).omega)
    constant = np.column_stack([rng.normal(size=(50, 3)), np.ones(50)])
    assert "no variance" in reliability.omega_total(constant).note
    assert "4 complete responses for 4 items" in reliability.omega_total(constant[:4]).note
    # r12 = r13 = .8, r23 = .5 implies lambda_1^2 = 1.28 > 1: a Heywood case
    corr = np.array([[1, 0.8, 0.8], [0.8, 1, 0.5], [0.8, 0.5, 1]])
    heywood = rng.multivariate_normal(np.zeros(3), corr, size=2000)
    result = reliability.omega_total(heywood)
    assert np.isnan(result.omega) and "Heywood" in result.note


def test_single_item_value_set_and_empty_groups(instruments):
    eq5d, pei = instruments["eq5d"], instruments["pei"]
    data = pd.concat(
        [
            items_frame(eq5d, [[1] * 5, [1] * 5, [3] * 5, [2, 1, 2, 1, 1]]),
            items_frame(pei, [[nan] * 6, [nan] * 6, [2, 1, 0, 3, 2, 1], [0, 0, 1, 1, 2, 2]]),
            items_frame(instruments["nrs"], [[1, 2], [3, 4], [5, 6], [7, nan]]),
        ],
        axis=1,
    ).assign(timepoint=["baseline", "baseline", "3m", "3m"])
    table = psychometrics_table(data, [eq5d, pei, instruments["nrs"]], by="timepoint").set_index(
        ["column", "timepoint"]
    )
    eq_base = table.loc[("eq5d_index", "baseline")]
    assert eq_base["ceiling_pct"] == 100 and eq_base["floor_pct"] == 0
    assert np.isnan(eq_base["cronbach_alpha"]) and "value-set index" in eq_base["note"]
    assert table.loc[("eq5d_index", "3m"), "floor_pct"] == 50  # 33333 is the worst state
    pei_base = table.loc[("pei_total", "baseline")]  # PEI is asked at follow-ups only
    assert pei_base["n_respondents"] == 0 and pei_base["n_scored"] == 0
    assert np.isnan(pei_base["missing_items_pct"]) and np.isnan(pei_base["floor_pct"])
    assert "too few" in pei_base["note"]
    leg = table.loc[("nrs_leg", "3m")]
    assert "single-item" in leg["note"] and leg["missing_items_pct"] == 50


def test_groups_keep_order_and_multiple_keys(golden_data):
    data = golden_data.assign(site=np.where(np.arange(len(golden_data)) % 2, "a", "b"))
    table = psychometrics_table(data, [GOLD], by=["timepoint", "site"])
    assert table[["timepoint", "site"]].drop_duplicates().values.tolist() == [
        ["baseline", "b"],
        ["baseline", "a"],
        ["3m", "b"],
        ["3m", "a"],
    ]
    assert table["n_rows"].sum() == 2 * len(data)  # two scores
    whole = psychometrics_table(golden_data, [GOLD])
    assert len(whole) == 2 and whole["n_rows"].tolist() == [240, 240]
    with pytest.raises(ScoringError, match="grouping column\\(s\\) not in the data: visit"):
        psychometrics_table(golden_data, [GOLD], by="visit")


def test_reversed_key_would_show_as_negative_loading(golden_data):
    unkeyed = instrument_from_dict(
        {
            "instrument": "gold",
            "title": "not reverse keyed",
            "reference": "test",
            "items": {"count": 6},
            "response": {"min": 1, "max": 5},
            "scores": {"total": {"items": "all", "max_missing": 1}},
        }
    )
    table = psychometrics_table(golden_data, [unkeyed])
    keyed = psychometrics_table(golden_data, [GOLD])
    assert table["cronbach_alpha"].iloc[0] < keyed["cronbach_alpha"].iloc[0]
    assert "load negatively" in table["note"].iloc[0]
    assert table["item_total_r_min"].iloc[0] < 0


def test_unverified_settings_table(instruments):
    table = unverified_settings_table(
        instruments, options={"eq5d": {"value_set": "se_experience_burstrom2014"}}
    )
    assert list(table.columns) == ["instrument", "setting", "value", "options", "note"]
    eq = table[table["setting"] == "value_sets"].iloc[0]
    assert eq["options"] == "value_set=se_experience_burstrom2014"
    assert set(table["instrument"]) >= {"pabs", "pcs", "dibq", "pei", "eq5d"}
    assert table["note"].str.len().gt(0).all()


def test_item_statistics_with_a_constant_item():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(40, 1))
    data = np.column_stack([base + rng.normal(size=(40, 3)), np.full(40, 2.0)])
    item_total = reliability.corrected_item_total(data)
    assert np.isnan(item_total[3]) and np.all(np.isfinite(item_total[:3]))
    # leaving out the constant item gives the alpha of the other three
    assert reliability.alpha_if_deleted(data)[3] == pytest.approx(
        reliability.cronbach_alpha(data[:, :3]).alpha
    )
    assert np.isnan(reliability.mean_inter_item_correlation(data))


def test_no_internal_consistency_for_a_formative_index(instruments):
    cpqi = instruments["cpqi"]
    assert cpqi.formative and not instruments["odi"].formative
    rows = [[1, 0, 1, 1, 0], [0, 0, 1, 0, 0], [1, 1, 0, 1, 1], [0, 1, 1, 1, 0], [1, 0, 0, 0, 1]]
    data = items_frame(cpqi, rows)
    table = psychometrics_table(data, [cpqi])
    assert table["n_complete"].min() == 5
    assert table["cronbach_alpha"].isna().all() and table["omega_total"].isna().all()
    assert table["note"].str.contains("formative index").all()
    items = item_statistics(data, [cpqi])
    assert items["alpha_if_deleted"].isna().all()
    # the same items declared reflective do get an alpha
    reflective = dataclasses.replace(cpqi, formative=False)
    total = psychometrics_table(data, [reflective]).set_index("column")
    assert total["cronbach_alpha"].notna().any()
