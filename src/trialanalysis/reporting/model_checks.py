"""Figures of model checks and missing-data sensitivity, shared by both trials.

- :func:`residual_figure`: per model, a normal QQ plot of the standardised
  residuals, a QQ plot of the random effects (BLUPs; "none" for an MMRM)
  and residuals against fitted values;
- :func:`tipping_point_figure`: the pooled delta-adjusted estimate and its
  confidence interval against the shift delta, per outcome, with the
  tipping points marked.

Each figure is drawn from tidy tables the calling step also writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialanalysis.models.residuals import qq_points
from trialanalysis.reporting.figures import ARM_COLOURS, new_figure


def residual_figure(
    residuals: pd.DataFrame, random_effects: pd.DataFrame, titles: Mapping[str, str]
):
    """Three panels per model: residual QQ, random-effect QQ, residuals vs fitted.

    Parameters
    ----------
    residuals : DataFrame
        ``model, fitted, standardized`` (see
        :func:`~trialanalysis.models.residuals.residual_table`).
    random_effects : DataFrame
        ``model, group, term, estimate`` (BLUPs; models without random
        effects have no rows).
    titles : mapping
        Model -> title, in drawing order.
    """
    models = list(titles)
    fig, axes = new_figure(8.4, 2.4 * len(models), nrows=len(models), ncols=3, squeeze=False)
    for row, model in zip(axes, models, strict=True):
        mine = residuals[residuals["model"] == model]
        qq = qq_points(mine["standardized"])
        _qq(row[0], qq, "standardised residuals")
        blups = random_effects[random_effects["model"] == model]
        if blups.empty:
            note = "no random effects\n(residual covariance model)"
            row[1].text(0.5, 0.5, note, ha="center", va="center", transform=row[1].transAxes)
            row[1].set_axis_off()
        else:
            for k, ((group, term), part) in enumerate(
                blups.groupby(["group", "term"], sort=False)
            ):
                sd = part["estimate"].std(ddof=1)
                points = qq_points(part["estimate"] / sd if sd > 0 else part["estimate"])
                label = f"{group}: {term}" + ("" if sd > 0 else " (variance estimated at 0)")
                _qq(row[1], points, "random effects / SD", ARM_COLOURS[k % 4], label)
            row[1].legend(fontsize=6, frameon=False)
        row[2].scatter(mine["fitted"], mine["standardized"], s=6, alpha=0.6, color=ARM_COLOURS[0])
        row[2].axhline(0, color="grey", lw=0.8)
        row[2].set_xlabel("fitted value", fontsize=7)
        row[2].set_ylabel("standardised residual", fontsize=7)
        row[0].set_title(titles[model], fontsize=8, loc="left")
        for ax in row:
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def _qq(ax, points: pd.DataFrame, ylabel: str, colour=ARM_COLOURS[0], label=None) -> None:
    ax.scatter(points["theoretical"], points["sample"], s=6, color=colour, label=label)
    if len(points):
        limit = float(np.nanmax(np.abs(points["theoretical"])))
        ax.plot([-limit, limit], [-limit, limit], color="grey", lw=0.8)
    ax.set_xlabel("normal quantile", fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)


def tipping_point_figure(
    grid: pd.DataFrame,
    points: pd.DataFrame,
    labels: Mapping[str, str],
    unit_note: str,
    columns: int = 3,
):
    """Pooled estimate and CI against delta per outcome, tipping points as vertical lines.

    Parameters
    ----------
    grid : DataFrame
        ``outcome, delta, estimate, conf_low, conf_high``.
    points : DataFrame
        ``outcome, significance_low, significance_high`` (NaN: none in range).
    labels : mapping
        Outcome -> panel title, in drawing order.
    unit_note : str
        Axis label of delta (e.g. which arm's imputed values were shifted).
    columns : int
        Panels per row.
    """
    outcomes: Sequence[str] = [o for o in labels if o in set(grid["outcome"])]
    columns = max(1, min(columns, len(outcomes)))
    rows = max(1, math.ceil(len(outcomes) / columns))
    fig, axes = new_figure(3.2 * columns, 2.6 * rows, nrows=rows, ncols=columns, squeeze=False)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        part = grid[grid["outcome"] == outcome].sort_values("delta")
        ax.fill_between(part["delta"], part["conf_low"], part["conf_high"],
                        color=ARM_COLOURS[0], alpha=0.2, lw=0)  # fmt: skip
        ax.plot(part["delta"], part["estimate"], color=ARM_COLOURS[0], marker="o", ms=3, lw=1.2)
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.5, ls=":")
        mine = points[points["outcome"] == outcome]
        for key in ("significance_low", "significance_high"):
            value = float(mine[key].iloc[0]) if len(mine) else np.nan
            if np.isfinite(value):
                ax.axvline(value, color=ARM_COLOURS[1], lw=1, ls="--")
                ax.annotate(f"{value:.2f}", (value, ax.get_ylim()[1]), fontsize=7,
                            color=ARM_COLOURS[1], ha="center", va="bottom")  # fmt: skip
        ax.set_title(labels[outcome], fontsize=8)
        ax.set_xlabel(unit_note, fontsize=7)
        ax.set_ylabel("pooled difference (95% CI)", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
