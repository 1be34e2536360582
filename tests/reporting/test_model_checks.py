"""Model-check and tipping-point figures draw what their tables say."""

import numpy as np
import pandas as pd

from trialanalysis.reporting.figures import save_figure
from trialanalysis.reporting.model_checks import residual_figure, tipping_point_figure


def test_residual_figure_has_three_panels_per_model(tmp_path):
    rng = np.random.default_rng(1)
    residuals = pd.DataFrame(
        {
            "model": ["a"] * 30 + ["b"] * 20,
            "fitted": rng.normal(size=50),
            "standardized": rng.normal(size=50),
        }
    )
    blups = pd.DataFrame(
        {"model": "a", "group": "clinic_id", "term": "(Intercept)", "estimate": rng.normal(size=8)}
    )
    fig = residual_figure(residuals, blups, {"a": "LMM", "b": "MMRM"})
    axes = fig.axes
    assert len(axes) == 6
    assert len(axes[0].collections[0].get_offsets()) == 30  # residual QQ of model a
    assert len(axes[1].collections[0].get_offsets()) == 8  # BLUP QQ
    assert not axes[4].axison  # model b (MMRM) has no random effects panel
    assert len(axes[5].collections[0].get_offsets()) == 20
    first = save_figure(fig, tmp_path / "one.svg")[0].read_bytes()
    again = residual_figure(residuals, blups, {"a": "LMM", "b": "MMRM"})
    assert save_figure(again, tmp_path / "two.svg")[0].read_bytes() == first


def test_tipping_figure_marks_the_tipping_points():
    grid = pd.DataFrame(
        {
            "outcome": "odi",
            "delta": [-4.0, 0.0, 4.0, 8.0],
            "estimate": [-5.0, -3.0, -1.0, 1.0],
            "conf_low": [-7.0, -5.0, -3.0, -1.0],
            "conf_high": [-3.0, -1.0, 1.0, 3.0],
        }
    )
    points = pd.DataFrame({"outcome": ["odi"], "significance_low": [np.nan],
                           "significance_high": [2.0]})  # fmt: skip
    fig = tipping_point_figure(grid, points, {"odi": "ODI"}, "delta (intervention arm)")
    ax = fig.axes[0]
    verticals = [
        line.get_xdata()[0] for line in ax.lines if line.get_xdata()[0] == line.get_xdata()[1]
    ]
    assert 2.0 in verticals and 0.0 in verticals
    assert list(ax.lines[0].get_ydata()) == [-5.0, -3.0, -1.0, 1.0]
