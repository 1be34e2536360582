"""PREPARE figures: mean trajectories by arm, forest plot of differences, mediation paths.

Every figure is drawn from a tidy table written beside it, so figure and
table cannot disagree; they are saved with
:func:`trialanalysis.reporting.figures.save_figure` (byte-stable SVG + PNG).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from trialanalysis.reporting.figures import (
    ARM_COLOURS,
    BENEFIT_PANELS,
    benefit_groups,
    favours,
    new_figure,
    plain_ticks,
)
from trialanalysis.reporting.tables import number_text, value_text


def _label(labels: Mapping[str, str], column: str) -> str:
    return labels.get(column, column.replace("_", " "))


def trajectory_figure(
    means: pd.DataFrame,
    arms: Sequence[str],
    timepoints: Sequence[str],
    labels: Mapping[str, str] | None = None,
    columns: int = 3,
):
    """Mean of each arm at each time point with its confidence interval, one panel per outcome.

    Parameters
    ----------
    means : DataFrame
        ``outcome, arm, timepoint, estimate, conf_low, conf_high, source``
        (from :func:`~trialanalysis.analyses.prepare.models.cell_means`): every
        point is a value of the one model per outcome; the baseline of a
        model with the baseline as covariate (``source`` = covariate, the
        value the means are evaluated at) is drawn as a square without an
        interval.
    arms, timepoints : sequence of str
    labels : mapping, optional
        Outcome -> axis label.
    columns : int
        Panels per row.
    """
    labels = dict(labels or {})
    outcomes = list(dict.fromkeys(means["outcome"]))
    rows = math.ceil(len(outcomes) / columns)
    fig, axes = new_figure(3.1 * columns, 2.4 * rows, nrows=rows, ncols=columns, squeeze=False)
    x = {t: i for i, t in enumerate(timepoints)}
    offset = {arm: (k - (len(arms) - 1) / 2) * 0.12 for k, arm in enumerate(arms)}
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        mine = means[means["outcome"] == outcome]
        for k, arm in enumerate(arms):
            part = mine[mine["arm"] == arm].copy()
            part["x"] = part["timepoint"].map(x) + offset[arm]
            part = part.sort_values("x")
            colour = ARM_COLOURS[k % len(ARM_COLOURS)]
            ax.plot(part["x"], part["estimate"], color=colour, lw=1.2, label=arm.replace("_", " "))
            ax.errorbar(
                part["x"], part["estimate"],
                yerr=[part["estimate"] - part["conf_low"], part["conf_high"] - part["estimate"]],
                fmt="none", ecolor=colour, elinewidth=1, capsize=2,
            )  # fmt: skip
            for source, marker in (("model", "o"), ("covariate", "s")):
                sel = part[part["source"] == source]
                ax.scatter(sel["x"], sel["estimate"], s=16, marker=marker, color=colour, zorder=3)
        ax.set_xticks(range(len(timepoints)), [t.replace("_", "\n") for t in timepoints])
        ax.set_title(_label(labels, outcome), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def forest_figure(
    effect_sizes: pd.DataFrame,
    differences: pd.DataFrame,
    timepoints: Sequence[str],
    labels: Mapping[str, str] | None = None,
    better: Mapping[str, str | None] | None = None,
):
    """Forest plot of between-arm differences at every follow-up, one panel per direction.

    The axis is Hedges' g (difference / pooled baseline SD) so that outcomes
    on different scales share it; the raw difference with its CI is printed
    beside each row. Outcomes are split into panels by which scores are
    better for the patient (``better`` of the score), so all outcomes of a
    panel share one direction and the panel says which side favours the
    intervention; estimates keep their sign (intervention minus control).

    Parameters
    ----------
    effect_sizes : DataFrame
        Rows with ``comparison == "between_arms"`` from
        :func:`~trialanalysis.analyses.prepare.effect_sizes.effect_size_table`.
    differences : DataFrame
        From :func:`~trialanalysis.analyses.prepare.models.arm_differences`;
        a ``p_adjusted`` column (the primary family under
        ``prepare.analyses.multiplicity``) is printed where it is not blank.
    timepoints : sequence of str
        Follow-up time points (marker order).
    labels : mapping, optional
    better : mapping, optional
        Outcome -> ``"lower"``, ``"higher"`` or None (not stated).
    """
    labels = dict(labels or {})
    between = effect_sizes[effect_sizes["comparison"] == "between_arms"]
    shown = ["outcome", "timepoint", "estimate", "conf_low", "conf_high"]
    merged = between.merge(
        differences[shown + [c for c in ("p_adjusted",) if c in differences]],
        on=["outcome", "timepoint"],
        suffixes=("", "_raw"),
    )
    groups = benefit_groups(merged["outcome"], dict(better or {}))
    sizes = [len(merged[merged["outcome"].isin(m)]) + len(m) for _, m in groups] or [1]
    fig, axes = new_figure(
        7.5, 0.4 + 0.19 * sum(sizes) + 0.7 * len(sizes), nrows=len(sizes), squeeze=False,
        gridspec_kw={"height_ratios": [n + 2 for n in sizes]},
    )  # fmt: skip
    for ax, (key, outcomes) in zip(axes[:, 0], groups, strict=False):
        _forest_panel(ax, merged, outcomes, timepoints, labels)
        ax.set_title(f"{BENEFIT_PANELS[key].capitalize()}", fontsize=7.5, loc="left", pad=12)
        favours(ax, key)
    axes[-1, 0].set_xlabel("Hedges' g, intervention - control (pooled baseline SD), 95% CI")
    fig.subplots_adjust(left=0.32, right=0.68, hspace=0.15)
    return fig


def _forest_panel(ax, merged, outcomes, timepoints, labels) -> None:
    """Rows of one panel: an outcome's name, then one row per follow-up."""
    y, ticks, names = 0, [], []
    markers = "osD^v<>"
    for outcome in outcomes:
        ax.text(-0.02, y, _label(labels, outcome), transform=ax.get_yaxis_transform(),
                ha="right", va="center", fontsize=7, fontweight="bold")  # fmt: skip
        y += 1
        mine = merged[merged["outcome"] == outcome]
        for k, t in enumerate(timepoints):
            row = mine[mine["timepoint"] == t]
            if row.empty:
                continue
            row = row.iloc[0]
            colour = ARM_COLOURS[k % len(ARM_COLOURS)]
            ax.errorbar(
                row["hedges_g"], y,
                xerr=[[row["hedges_g"] - row["conf_low"]], [row["conf_high"] - row["hedges_g"]]],
                fmt=markers[k % len(markers)], color=colour, ms=3.5, elinewidth=1, capsize=0,
            )  # fmt: skip
            where = {"outcome": outcome}
            low, high = (value_text(row[f"{c}_raw"], c, where) for c in ("conf_low", "conf_high"))
            text = f"{value_text(row['estimate'], 'estimate', where)} ({low} to {high})"
            if pd.notna(row.get("p_adjusted", np.nan)):
                text += f"; adj. p {number_text(row['p_adjusted'], 3)}"
            ax.text(1.02, y, text, transform=ax.get_yaxis_transform(), va="center", fontsize=6.5)
            ticks.append(y)
            names.append(t.replace("_", " "))
            y += 1
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(ticks, names, fontsize=6.5)
    ax.set_ylim(y - 0.5, -0.5)
    plain_ticks(ax)
    ax.text(1.02, -0.5, "Difference (95% CI), raw units", transform=ax.get_yaxis_transform(),
            va="bottom", fontsize=6.5, fontweight="bold")  # fmt: skip
    ax.tick_params(axis="y", pad=2)


def _short(labels: Mapping[str, str], column: str) -> str:
    """Label without its parenthetical range, e.g. ``Self-efficacy``."""
    return _label(labels, column).split(" (")[0]


def _box(ax, x, y, text, width, height):
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.01",
            facecolor="#f2f2f2", edgecolor="#444444", lw=0.8,
        )
    )  # fmt: skip
    ax.text(x, y, text, ha="center", va="center", fontsize=6.5, linespacing=1.4)


def _arrow(ax, start, end):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8, color="#444444", lw=0.8)
    )


def _ci(row) -> str:
    return f"{row['estimate']:.3g} [{row['conf_low']:.3g}, {row['conf_high']:.3g}]"


def path_diagram(
    effects: pd.DataFrame,
    paths: pd.DataFrame,
    exposure_label: str,
    labels: Mapping[str, str] | None = None,
    model: str | None = None,
):
    """Mediation path diagrams with estimates, one panel per outcome.

    Parameters
    ----------
    effects, paths : DataFrame
        From :func:`~trialanalysis.analyses.prepare.mediation.run_mediation`.
    exposure_label : str
        Text of the exposure box (e.g. "physiotherapy vs waiting list").
    labels : mapping, optional
    model : str, optional
        Which model's estimates to draw (default: the first in ``effects``).

    Notes
    -----
    a paths: arm -> change in mediator; b paths: change in mediator ->
    change in outcome; c': direct effect. Each mediator box shows the
    indirect effect a x b with its bias-corrected bootstrap CI; the title
    gives the total effect c.
    """
    labels = dict(labels or {})
    model = model or effects["model"].iloc[0]
    effects = effects[effects["model"] == model].assign(
        mediator=lambda f: f["mediator"].fillna("")  # empty in CSV for total and direct
    )
    paths = paths[paths["model"] == model]
    outcomes = list(dict.fromkeys(effects["outcome"]))
    columns = min(2, len(outcomes))
    rows = math.ceil(len(outcomes) / columns)
    fig, axes = new_figure(5.6 * columns, 3.4 * rows, nrows=rows, ncols=columns, squeeze=False)
    x_box, y_box, m_box = (0.2, 0.12), (0.2, 0.12), (0.34, 0.13)
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        mine = effects[effects["outcome"] == outcome].set_index(["effect", "mediator"])
        coefficients = paths[paths["outcome"] == outcome].set_index(["equation", "term"])
        mediators = [m for e, m in mine.index if e == "indirect" and m != "(sum)"]
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        x_at, y_at = (0.12, 0.12), (0.88, 0.12)
        _box(ax, *x_at, exposure_label, *x_box)
        _box(ax, *y_at, f"Change in\n{_short(labels, outcome)}", *y_box)
        heights = np.linspace(0.86, 0.42, len(mediators)) if len(mediators) > 1 else [0.64]
        for mediator, h in zip(mediators, heights, strict=True):
            a = coefficients.loc[(mediator, "treatment"), "estimate"]
            b = coefficients.loc[(outcome, mediator), "estimate"]
            indirect = _ci(mine.loc[("indirect", mediator)])
            text = f"Change in {_short(labels, mediator)}\na×b = {indirect}"
            _box(ax, 0.5, h, text, *m_box)
            starts = [(x_at[0], x_at[1] + x_box[1] / 2), (0.5 + m_box[0] / 2, h)]
            ends = [(0.5 - m_box[0] / 2, h), (y_at[0], y_at[1] + y_box[1] / 2)]
            for start, end, text in zip(
                starts, ends, (f"a = {a:.3g}", f"b = {b:.3g}"), strict=True
            ):
                _arrow(ax, start, end)
                where = (0.35 * start[0] + 0.65 * end[0], 0.35 * start[1] + 0.65 * end[1])
                if text.startswith("b"):
                    where = (0.65 * start[0] + 0.35 * end[0], 0.65 * start[1] + 0.35 * end[1])
                ax.text(*where, text, fontsize=6, ha="center", va="center", color="#3182bd",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})  # fmt: skip
        _arrow(ax, (x_at[0] + x_box[0] / 2, x_at[1]), (y_at[0] - y_box[0] / 2, y_at[1]))
        ax.text(0.5, x_at[1] + 0.015, f"c' (direct) = {_ci(mine.loc[('direct', '')])}",
                ha="center", va="bottom", fontsize=6.5)  # fmt: skip
        title = f"{_label(labels, outcome)}  (n = {int(mine['n'].iloc[0])})"
        if ("total", "") in mine.index:
            title += f"\ntotal effect c = {_ci(mine.loc[('total', '')])}"
        ax.set_title(title, fontsize=7.5)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
