"""Completers and non-completers at baseline: hand-worked summaries, rendered like Table 1."""

import numpy as np
import pandas as pd
import pytest

from trialanalysis.analyses.common.completers import (
    completer_variables,
    completers_display,
    completers_table,
)
from trialanalysis.reporting.tables import format_table


@pytest.fixture
def trial():
    """Arm a: 6 completers aged 40..65, 5 non-completers aged 20..60; arm b likewise, older."""
    ages = [40, 45, 50, 55, 60, 65, 20, 30, 40, 50, 60]
    frame = pd.DataFrame(
        {
            "arm": ["a"] * 11 + ["b"] * 11,
            "age": ages + [a + 5 for a in ages],
            "pain_duration": (["gt12m", "lt3m", "3to12m", "lt3m", None, "lt3m"] + ["gt12m"] * 5)
            * 2,
        }
    )
    completer = pd.Series(([True] * 6 + [False] * 5) * 2)
    return frame, completer


def test_summaries_and_standardised_difference_by_hand(trial):
    frame, completer = trial
    variables = completer_variables(
        ["age", "pain_duration"],
        {"age": "Age (years)"},
        {"pain_duration": {"lt3m": "< 3 months", "3to12m": "3–12 months", "gt12m": "> 12 months"}},
    )
    table = completers_table(frame, "arm", ["a", "b"], completer, variables)
    rows = table.set_index(table["variable"] + ":" + table["category"])
    assert rows.loc["n:", ["a_completer_n", "a_non_completer_n", "b_completer_n"]].tolist() == [
        6,
        5,
        6,
    ]
    done, lost = np.array([40, 45, 50, 55, 60, 65.0]), np.array([20, 30, 40, 50, 60.0])
    assert rows.loc["age:", "a_completer_mean"] == pytest.approx(done.mean())
    assert rows.loc["age:", "a_non_completer_sd"] == pytest.approx(lost.std(ddof=1))
    pooled = np.sqrt((5 * done.var(ddof=1) + 4 * lost.var(ddof=1)) / 9)
    expected = (lost.mean() - done.mean()) / pooled
    assert rows.loc["age:", "a_std_difference"] == pytest.approx(expected)
    assert rows.loc["age:", "b_std_difference"] == pytest.approx(expected)  # shifted by 5 years
    # categories in clinical order with their labels, a missing row, no difference for them
    duration = table[table["variable"] == "pain_duration"]
    assert duration["category"].tolist() == ["lt3m", "3to12m", "gt12m", "missing"]
    assert duration["category_label"].tolist() == [
        "< 3 months",
        "3–12 months",
        "> 12 months",
        "Missing",
    ]
    assert duration["a_completer_n"].tolist() == [3, 1, 1, 1]
    assert duration["a_std_difference"].isna().all()


def test_rendered_with_one_cell_per_arm_and_status_and_small_counts_suppressed(trial):
    frame, completer = trial
    variables = completer_variables(["age", "pain_duration"])
    table = completers_table(frame, "arm", ["a", "b"], completer, variables)
    rendered = format_table(table, **completers_display(["a", "b"], {"a": "Arm A"}))
    assert rendered.headers == [
        "Characteristic",
        "",
        "Arm A, completers",
        "Arm A, non-completers",
        "Arm A, std. difference",
        "b, completers",
        "b, non-completers",
        "b, std. difference",
    ]
    cells = rendered.cells.set_index(table["variable"] + ":" + table["category"])
    assert cells.loc["age:", "a_completer_shown"] == "52.50 (9.35)"
    assert cells.loc["n:", "a_completer_shown"] == "6"
    # 3 of 5 observed: a small count hides its percentage too
    assert cells.loc["pain_duration:lt3m", "a_completer_shown"] == "<5"
    assert rendered.headers.count("Overall") == 0


def test_a_difference_is_blanked_with_the_small_mean_it_comes_from(trial):
    frame, _ = trial
    completer = pd.Series([True] * 6 + [False] * 5 + [True] * 8 + [False] * 3)
    table = completers_table(frame, "arm", ["a", "b"], completer, completer_variables(["age"]))
    assert np.isfinite(table.loc[1, "b_std_difference"])  # computed from 3 patients
    cells = format_table(table, **completers_display(["a", "b"], {})).cells
    assert cells.loc[1, "b_non_completer_shown"] == "<5"
    assert cells.loc[1, "b_std_difference"] == ""
    assert cells.loc[1, "a_std_difference"] != ""
