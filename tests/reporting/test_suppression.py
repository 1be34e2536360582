"""The one small-cell rule: primary, complementary and dependent suppression, hand-worked."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialanalysis.config import validate_config
from trialanalysis.errors import ConfigError, ReportError
from trialanalysis.reporting.consort import FLOW_COUNTS, flow_summary
from trialanalysis.reporting.markup import table_html
from trialanalysis.reporting.suppression import SuppressionRule, default_rule, suppress_counts
from trialanalysis.reporting.tables import format_table

RULE = default_rule()


def shown(table, declaration=None, rule=RULE, column="n"):
    return suppress_counts(table, declaration, rule).table[column].tolist()


def test_rule_comes_from_the_config():
    config = validate_config(
        {"privacy": {"min_cell_size": 10, "exempt_flow_counts": True}}, source="test"
    )
    rule = SuppressionRule.from_config(config)
    assert (rule.min_cell_size, rule.marker, rule.exempt_flow) == (10, "<10", True)
    assert "exempt" in rule.statement() and "fewer than 10" in rule.statement()
    assert "applies to the CONSORT participant flow" in RULE.statement()
    with pytest.raises(ConfigError, match="min_cell_size"):
        SuppressionRule(min_cell_size=0)


def test_counts_are_found_by_name_and_other_counts_are_left_alone():
    table = pd.DataFrame(
        {
            "n": [3, 40],
            "control_missing": [2, 0],
            "n_clinics": [2, 3],
            "df": [2.0, 3.0],
            "estimate": [2.0, 3.0],
            "n_imputations": [2, 2],
        }
    )
    out = suppress_counts(table, None, RULE).table
    assert out["n"].tolist() == ["<5", 40]
    assert out["control_missing"].tolist() == ["<5", 0]
    # clinics, df, estimates and imputations are not counts of individuals
    for column in ("n_clinics", "df", "estimate", "n_imputations"):
        assert out[column].tolist() == table[column].tolist()
    # a table may declare an oddly named count, or opt a column out
    assert shown(table, {"count_columns": ["df"]}, column="df") == ["<5", "<5"]
    assert shown(table, {"not_counts": ["n"]}) == [3, 40]


def test_dependents_are_blanked_long_and_wide():
    long = pd.DataFrame({"arm": ["a", "b"], "n": [3, 40], "percent": [7.0, 93.0]})
    out = suppress_counts(long, {"dependent_columns": ["percent"]}, RULE).table
    assert out["percent"].tolist() == ["", 93.0]
    wide = pd.DataFrame({"a_n": [2, 101], "a_percent": [1.9, 98.1], "b_n": [50, 50]})
    out = suppress_counts(wide, {"dependent_columns": {"a_n": ["a_percent"]}}, RULE).table
    assert out["a_n"].tolist() == ["<5", 101]
    assert out["a_percent"].tolist() == ["", 98.1]
    assert out["b_n"].tolist() == [50, 50]


def test_complementary_groups_hide_a_second_cell():
    table = pd.DataFrame(
        {"arm": list("aaabbb"), "level": list("xyzxyz"), "n": [2, 30, 12, 20, 30, 12]}
    )
    # arm a: the 2, and the smallest other count (12) so that 2 = N - 30 - 12 fails
    assert shown(table, {"complementary_groups": ["arm"]}) == ["<5", 30, "suppr.", 20, 30, 12]


def test_missing_counts_are_parts_of_the_same_total():
    # Table 1 layout: categories in rows, the missing count on the first row
    table = pd.DataFrame(
        {
            "characteristic": ["sex", "sex"],
            "category": ["female", "male"],
            "c_n": [120, 76],
            "c_missing": [3, np.nan],
        }
    )
    declaration = {
        "complementary_groups": ["characteristic"],
        "part_columns": [["c_n", "c_missing"]],
    }
    out = suppress_counts(table, declaration, RULE).table
    assert out["c_missing"].tolist()[0] == "<5"
    assert out["c_n"].tolist() == [120, "suppr."]


def test_counts_implied_by_a_difference_are_protected():
    flow = pd.DataFrame(
        {
            "level": ["clinic", "patient", "patient", "patient"],
            "group": ["control"] * 4,
            "stage": ["recruiting", "recruited", "followed_up", "analysed"],
            "timepoint": [None, None, "3m", "3m"],
            "n": [2, 200, 198, 190],
        }
    )
    out = shown(flow, FLOW_COUNTS)
    # 200 - 198 = 2 lost: the returned count is hidden; clinics are not individuals
    assert out == [2, 200, "suppr.", 190]
    flow.loc[2, "n"] = 193  # 7 lost (not small), 3 returned but not analysed (small)
    assert shown(flow, FLOW_COUNTS) == [2, 200, 193, "suppr."]


def test_flow_exemption_is_a_config_choice():
    flow = pd.DataFrame(
        {
            "level": ["patient"],
            "group": ["a"],
            "stage": ["allocated"],
            "timepoint": [None],
            "n": [3],
        }
    )
    assert shown(flow, FLOW_COUNTS) == ["<5"]
    exempt = SuppressionRule(exempt_flow=True, count_patterns=RULE.count_patterns)
    result = suppress_counts(flow, FLOW_COUNTS, exempt)
    assert result.exempt and result.table["n"].tolist() == [3]


def test_text_quotes_counts_by_the_rule():
    assert RULE.count(3) == "<5" and RULE.count(0) == "0" and RULE.count(12) == "12"
    assert RULE.part_of(198, 200) == "all but <5 of 200"
    assert RULE.part_of(2, 200) == "<5 of 200"
    assert RULE.part_of(150, 200) == "150 of 200 (75.0%)"
    counts = pd.DataFrame(
        [
            ["prepare", "patient", "all", "randomised", None, 200],
            ["prepare", "patient", "a", "allocated", None, 100],
            ["prepare", "patient", "b", "allocated", None, 100],
            ["prepare", "patient", "a", "followed_up", "3m", 99],
            ["prepare", "patient", "b", "followed_up", "3m", 98],
        ],
        columns=["trial", "level", "group", "stage", "timepoint", "n"],
    )
    assert "all but <5 of 200" in flow_summary(counts, RULE)


def test_rendered_count_cells_are_marked_for_checks():
    table = pd.DataFrame({"term": ["x", "y"], "n": [3, 40], "estimate": [1.5, 2.5]})
    html = table_html(format_table(table))
    assert '<td class="num count">&lt;5</td>' in html
    assert '<td class="num count">40</td>' in html
    assert '<td class="num">1.50</td>' in html


def test_unknown_declaration_and_absent_columns_are_errors():
    table = pd.DataFrame({"n": [1]})
    with pytest.raises(ReportError, match="unknown suppression key"):
        suppress_counts(table, {"threshold": 3}, RULE)
    with pytest.raises(ReportError, match="not in the table"):
        suppress_counts(table, {"count_columns": ["n_total"]}, RULE)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=20),
    min_cell=st.integers(min_value=1, max_value=12),
)
def test_no_small_count_survives(counts, min_cell):
    rule = SuppressionRule(min_cell, count_patterns=("n",))
    table = pd.DataFrame({"g": ["a"] * len(counts), "n": counts})
    out = shown(table, {"complementary_groups": ["g"]}, rule)
    for count, cell in zip(counts, out, strict=True):
        if 0 < count < min_cell:
            assert cell == f"<{min_cell}"
    hidden = [i for i, cell in enumerate(out) if isinstance(cell, str)]
    others = [c for i, c in enumerate(counts) if i not in hidden and c > 0]
    # never exactly one hidden cell in a group whose total is known elsewhere,
    # unless no other cell could be hidden with it
    assert len(hidden) != 1 or not others
