"""PREPARE forest plot: the multiplicity-adjusted p of the primary family is printed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialanalysis.analyses.prepare.figures import forest_figure


def _frames(p_adjusted):
    keys = pd.DataFrame({"outcome": ["odi_total", "odi_total"], "timepoint": ["post", "3m"]})
    effect_sizes = keys.assign(comparison="between_arms", hedges_g=[-0.3, -0.1],
                               conf_low=[-0.5, -0.3], conf_high=[-0.1, 0.1])  # fmt: skip
    differences = keys.assign(estimate=[-4.5, -1.0], conf_low=[-7.1, -3.5],
                              conf_high=[-1.9, 1.5], p_adjusted=p_adjusted)  # fmt: skip
    return effect_sizes, differences


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_adjusted_p_is_printed_only_where_there_is_one():
    fig = forest_figure(*_frames([0.0123, np.nan]), ["post", "3m"])
    texts = _texts(fig)
    assert "-4.50 (-7.10 to -1.90); adj. p 0.012" in texts
    assert "-1.00 (-3.50 to 1.50)" in texts


def test_without_adjustment_nothing_is_added():
    texts = _texts(forest_figure(*_frames([np.nan, np.nan]), ["post", "3m"]))
    assert not any("adj. p" in t for t in texts)


def test_one_direction_per_panel_with_favours_and_no_negative_zero():
    effect_sizes, differences = _frames([np.nan, np.nan])
    eq5d = effect_sizes.assign(
        outcome="eq5d_index", hedges_g=[0.2, -0.0004], conf_low=[0.0, -0.2], conf_high=[0.4, 0.2]
    )
    effect_sizes = pd.concat([effect_sizes, eq5d], ignore_index=True)
    differences = pd.concat(
        [differences, differences.assign(outcome="eq5d_index", estimate=[0.031, -0.0004])],
        ignore_index=True,
    )
    better = {"odi_total": "lower", "eq5d_index": "higher"}
    fig = forest_figure(effect_sizes, differences, ["post", "3m"], better=better)
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in panels] == [
        "Lower scores are better",
        "Higher scores are better",
    ]
    lower, higher = ([t.get_text() for t in ax.texts] for ax in panels)
    assert "\u2190 favours intervention " in lower and " favours control \u2192" in lower
    assert "\u2190 favours control " in higher and " favours intervention \u2192" in higher
    assert "0.000 (-3.500 to 1.500)" in higher  # EQ-5D: 3 decimals, no -0.000, as in tables
    fig.canvas.draw()
    ticks = [t.get_text() for ax in panels for t in ax.get_xticklabels()]
    assert ticks and not any(t.startswith(("-0.0", "\u22120.0")) and float(
        t.replace("\u2212", "-")) == 0 for t in ticks)  # fmt: skip
