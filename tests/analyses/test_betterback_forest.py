"""BetterBack forest plot: one direction of benefit per panel, favours annotations, signs kept."""

import pandas as pd

from trialanalysis.analyses.betterback.figures import forest_figure


def test_panels_by_direction_with_favours_and_table_signs():
    continuous = pd.DataFrame(
        {
            "outcome": ["odi_total", "eq5d_index", "pcs_total"],
            "label": ["ODI", "EQ-5D", "PCS"],
            "timepoint": "3m",
            "role": ["primary", "secondary", "secondary"],
            "estimate": [-3.36, -0.0004, 1.5],
            "conf_low": [-5.93, -0.03, 0.2],
            "conf_high": [-0.80, 0.03, 2.8],
            "sd": [13.7, 0.13, 4.0],
        }
    )
    binary = pd.DataFrame(
        {
            "label": ["Referral"],
            "odds_ratio": [0.30],
            "or_conf_low": [0.07],
            "or_conf_high": [1.37],
        }
    )
    better = {"odi_total": "lower", "eq5d_index": "higher"}
    fig = forest_figure(continuous, binary, better)
    titled = [ax for ax in fig.axes if ax.get_title(loc="left")]
    titles = [ax.get_title(loc="left") for ax in titled]
    assert [t.split(" (")[0] for t in titles] == [
        "Continuous outcomes, lower scores are better",
        "Continuous outcomes, higher scores are better",
        "Continuous outcomes, direction of benefit not stated",
        "Binary outcomes",
    ]
    texts = [[t.get_text() for t in ax.texts] for ax in titled]
    assert "\u2190 favours intervention " in texts[0]
    assert " favours intervention \u2192" in texts[1]
    assert texts[2] == [] and texts[3] == []  # no side favours anything unstated
    # raw labels on the twin axes: the table's signs, no negative zero
    raw = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert "-3.36 (-5.93, -0.80)" in raw and "0.000 (-0.030, 0.030)" in raw  # as in tables
    assert "Referral: 0.30 (0.07, 1.37)" in raw
