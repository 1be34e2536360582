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
