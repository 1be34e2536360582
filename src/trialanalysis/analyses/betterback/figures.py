"""Figures of the BetterBack analyses, drawn from the tidy result tables.

Every function takes tidy tables (as written to CSV) and returns a
matplotlib figure; :func:`trialanalysis.reporting.figures.save_figure`
writes it byte-stably as SVG and PNG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialanalysis.reporting.figures import (
    ARM_COLOURS,
    BENEFIT_PANELS,
    CONDITION_COLOURS,
    benefit_groups,
    favours,
    new_figure,
    plain_ticks,
)
from trialanalysis.reporting.tables import number_text, value_text

CONDITION_LINES = {"control": "#3182bd", "intervention": CONDITION_COLOURS["intervention"]}


def _grid(n_panels: int, ncols: int = 3, width: float = 3.0, height: float = 2.6):
    ncols = max(1, min(ncols, n_panels))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig, axes = new_figure(width * ncols, height * nrows, nrows=nrows, ncols=ncols, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def _condition_lines(ax, part: pd.DataFrame, column: str, positions: dict) -> None:
    """One line with 95% CI bars per condition, x = ``positions[part[column]]``."""
    for k, (condition, colour) in enumerate(CONDITION_LINES.items()):
        rows = part[part["condition"] == condition]
        rows = rows.assign(x=rows[column].map(positions)).sort_values("x")
        x = rows["x"].to_numpy(float) + (k - 0.5) * 0.08
        y = rows["estimate"].to_numpy(float)
        error = [y - rows["conf_low"].to_numpy(float), rows["conf_high"].to_numpy(float) - y]
        ax.errorbar(x, y, yerr=error, color=colour, marker="o", ms=3, capsize=2, label=condition)


def trajectory_figure(table: pd.DataFrame, timepoints: Sequence[str]):
    """Mean outcome per condition and time point with 95% CIs, one panel per outcome.

    Parameters
    ----------
    table : DataFrame
        ``outcome, label, condition, timepoint, estimate, conf_low, conf_high``.
    timepoints : sequence of str
        Time points in design order (x axis).
    """
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = _grid(max(len(outcomes), 1))
    positions = {t: i for i, t in enumerate(timepoints)}
    for ax, outcome in zip(axes, outcomes, strict=False):
        part = table[table["outcome"] == outcome]
        _condition_lines(ax, part, "timepoint", positions)
        ax.set_xticks(range(len(timepoints)), list(timepoints))
        ax.set_title(str(part["label"].iloc[0]), fontsize=9)
    if axes:
        axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Mean (95% CI) by enrolment condition; not adjusted for period", fontsize=9)
    fig.tight_layout()
    return fig


def _raw_label(row: pd.Series) -> str:
    """Raw effect and CI; for a primary-family row also its multiplicity-adjusted p."""
    where = {"outcome": row.get("outcome", "")}
    low, estimate, high = (
        value_text(row[c], c, where) for c in ("conf_low", "estimate", "conf_high")
    )
    text = f"{estimate} ({low}, {high})"
    adjusted = row.get("p_adjusted", np.nan)
    if pd.notna(adjusted):
        text += f"; adj. p {number_text(adjusted, 3)}"
    return text


def forest_figure(continuous: pd.DataFrame, binary: pd.DataFrame, better=None):
    """Forest plot of every patient outcome, one panel per direction of benefit.

    Continuous outcomes are split by which scores are better for the patient
    (``better`` of the score: lower, higher, not stated), so every outcome of
    a panel shares one direction and the panel says which side favours the
    intervention; estimates keep their sign (intervention minus control), as
    in the tables. Binary outcomes (care processes, whose benefit direction
    the data do not state) are a panel of their own, odds ratio > 1 meaning
    more often under the intervention.

    Parameters
    ----------
    continuous : DataFrame
        Treatment effects with ``outcome, label, timepoint, role, estimate,
        conf_low, conf_high`` and ``sd`` (the outcome's SD at that time point),
        plotted as standardised differences ``estimate / sd`` and annotated in
        raw units (with the multiplicity-adjusted p of the primary family when
        the table has ``p_adjusted``).
    binary : DataFrame
        ``label, odds_ratio, or_conf_low, or_conf_high`` (log scale).
    better : mapping, optional
        Outcome -> ``"lower"``, ``"higher"`` or None.
    """
    better = dict(better or {})
    rows = continuous.reset_index(drop=True)
    groups = [
        (key, rows[rows["outcome"].isin(members)].reset_index(drop=True))
        for key, members in benefit_groups(rows["outcome"], better)
    ]
    sizes = [len(g) for _, g in groups] + ([len(binary)] if len(binary) else [])
    sizes = sizes or [1]
    fig, axes = new_figure(
        9.0, 1.0 + 0.3 * sum(sizes) + 0.6 * len(sizes), nrows=len(sizes), squeeze=False,
        gridspec_kw={"height_ratios": [n + 1.5 for n in sizes]},
    )  # fmt: skip
    axes = list(axes[:, 0])
    for ax, (key, part) in zip(axes, groups, strict=False):
        y = len(part) - 1 - np.arange(len(part))
        scale = part["sd"].to_numpy(float)
        low, estimate, high = (
            part[c].to_numpy(float) / scale for c in ("conf_low", "estimate", "conf_high")
        )
        primary = (part["role"] == "primary").to_numpy()
        colours = np.where(primary, ARM_COLOURS[1], "#444444")
        for yi, a, b, colour in zip(y, low, high, colours, strict=True):
            ax.plot([a, b], [yi, yi], color=colour, lw=1.2)
        ax.scatter(estimate, y, c=list(colours), s=14, zorder=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [f"{r.label}, {r.timepoint}" for r in part.itertuples()], fontsize=7)
        ax.set_ylim(-0.7, len(part) - 0.3)
        raw = ax.twinx()
        raw.set_ylim(ax.get_ylim())
        raw.set_yticks(y, [_raw_label(r) for _, r in part.iterrows()], fontsize=7)
        raw.tick_params(length=0)
        raw.spines["right"].set_visible(False)
        plain_ticks(ax)
        ax.set_xlabel("Standardised difference, intervention - control (95% CI)", fontsize=8)
        ax.set_title(
            f"Continuous outcomes, {BENEFIT_PANELS[key]} (primary in orange; raw "
            "difference at right)",
            fontsize=8, loc="left", pad=14,
        )  # fmt: skip
        favours(ax, key)
    if len(binary):
        ax = axes[len(groups)]
        rows_b = binary.reset_index(drop=True)
        yb = len(rows_b) - 1 - np.arange(len(rows_b))
        odds = rows_b["odds_ratio"].to_numpy(float)
        for yi, a, b in zip(yb, rows_b["or_conf_low"], rows_b["or_conf_high"], strict=True):
            ax.plot([a, b], [yi, yi], color="#444444", lw=1.2)
        ax.scatter(odds, yb, color="#444444", s=14, zorder=3)
        ax.set_xscale("log")
        ax.set_yticks(
            yb,
            [
                f"{r.label}: {number_text(r.odds_ratio)} ({number_text(r.or_conf_low)}, "
                f"{number_text(r.or_conf_high)})"
                for r in rows_b.itertuples()
            ],
            fontsize=7,
        )
        ax.set_ylim(-0.7, len(rows_b) - 0.3)
        ax.axvline(1, color="black", lw=0.8)
        ax.set_xlabel("Odds ratio, intervention vs control (95% CI), log scale", fontsize=8)
        ax.set_title(
            "Binary outcomes (GEE); odds ratio > 1: more often under the intervention",
            fontsize=8, loc="left",
        )  # fmt: skip
    fig.tight_layout()
    return fig


def therapist_trajectory_figure(emmeans: pd.DataFrame, scores: Sequence[str], timepoints):
    """Estimated marginal means (95% CI) over time, one panel per therapist score."""
    fig, axes = _grid(max(len(scores), 1))
    positions = {t: i for i, t in enumerate(timepoints)}
    for ax, score in zip(axes, scores, strict=False):
        rows = emmeans[emmeans["score"] == score]
        rows = rows.assign(x=rows["timepoint"].map(positions)).sort_values("x")
        y = rows["estimate"].to_numpy(float)
        error = [y - rows["conf_low"].to_numpy(float), rows["conf_high"].to_numpy(float) - y]
        ax.errorbar(rows["x"], y, yerr=error, color=ARM_COLOURS[0], marker="o", ms=3, capsize=2)
        ax.set_xticks(range(len(timepoints)), list(timepoints), fontsize=8)
        ax.set_title(str(rows["label"].iloc[0]) if len(rows) else score, fontsize=9)
    fig.suptitle("Therapists: mixed-model means (95% CI) per time point", fontsize=9)
    fig.tight_layout()
    return fig


def domain_profile_figure(emmeans: pd.DataFrame, domains: Sequence[str], timepoints):
    """Domain profile over time: mean (95% CI) of every domain, one line per time point."""
    fig, ax = new_figure(max(6.0, 0.75 * len(domains) + 2), 3.8)
    labels = []
    for k, timepoint in enumerate(timepoints):
        rows = emmeans[emmeans["timepoint"] == timepoint].set_index("score").reindex(domains)
        x = np.arange(len(domains)) + (k - (len(timepoints) - 1) / 2) * 0.12
        y = rows["estimate"].to_numpy(float)
        error = [y - rows["conf_low"].to_numpy(float), rows["conf_high"].to_numpy(float) - y]
        ax.errorbar(
            x,
            y,
            yerr=error,
            marker="o",
            ms=3,
            capsize=2,
            lw=1,
            color=ARM_COLOURS[k % len(ARM_COLOURS)],
            label=timepoint,
        )
        labels = [str(v) for v in rows["label"].fillna(pd.Series(domains, index=rows.index))]
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(domains)), labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("Domain score (0-100)")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("DIBQ domains: mixed-model means (95% CI); dashed line = 50", fontsize=9)
    fig.tight_layout()
    return fig


def caterpillar_figure(effects: pd.DataFrame):
    """Clinic random effects (conditional modes ± 1.96 conditional SD), one panel per outcome."""
    outcomes = list(dict.fromkeys(effects["outcome"]))
    n_levels = effects.groupby("outcome").size().max() if len(effects) else 1
    fig, axes = _grid(max(len(outcomes), 1), width=3.2, height=0.6 + 0.2 * n_levels)
    for ax, outcome in zip(axes, outcomes, strict=False):
        rows = effects[effects["outcome"] == outcome].sort_values(["estimate", "level"])
        y = np.arange(len(rows))
        ax.errorbar(
            rows["estimate"],
            y,
            xerr=1.96 * rows["cond_sd"].to_numpy(float),
            fmt="o",
            ms=3,
            color=ARM_COLOURS[0],
            capsize=2,
        )
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, list(rows["level"]), fontsize=7)
        title = str(rows["label"].iloc[0])
        if np.allclose(rows["cond_sd"], 0) and np.allclose(rows["estimate"], 0):
            title += "\n(clinic variance estimated at 0)"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("Clinic effect")
    fig.suptitle("Clinic effects of the primary models (conditional mode ± 1.96 SD)", fontsize=9)
    fig.tight_layout()
    return fig


def period_figure(table: pd.DataFrame):
    """Draw the adjusted mean per period and condition (the secular trend) per outcome.

    Parameters
    ----------
    table : DataFrame
        ``outcome, label, period, condition, estimate, conf_low, conf_high,
        scheduled`` (:func:`~trialanalysis.analyses.betterback.periods.period_means`);
        only the cells the schedule has are drawn.
    """
    shown = table[table["scheduled"].astype(bool)]
    outcomes = list(dict.fromkeys(shown["outcome"]))
    fig, axes = _grid(max(len(outcomes), 1))
    periods = sorted(pd.unique(table["period"]), key=str)
    positions = {p: i for i, p in enumerate(periods)}
    for ax, outcome in zip(axes, outcomes, strict=False):
        part = shown[shown["outcome"] == outcome]
        _condition_lines(ax, part, "period", positions)
        ax.set_xticks(range(len(periods)), [str(p) for p in periods])
        ax.set_xlabel("Period", fontsize=8)
        ax.set_title(str(part["label"].iloc[0]), fontsize=9)
    if axes:
        axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Adjusted mean (95% CI) per period and condition, primary model", fontsize=9)
    fig.tight_layout()
    return fig
