"""Figures: a common style and byte-stable saving.

Every figure is written as SVG (vector, for manuscripts) and PNG (for the
report). Volatile metadata (creation dates, software versions, random SVG
ids) is removed so reruns give byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from trialanalysis.reporting.tables import tick_text

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "svg.hashsalt": "trialanalysis",
    "svg.fonttype": "path",
    "path.simplify": False,
}
CONDITION_COLOURS = {"control": "#9ecae1", "intervention": "#e6550d"}
ARM_COLOURS = ("#3182bd", "#e6550d", "#31a354", "#756bb1")


#: Forest-plot panels by which scores are better for the patient (``better`` of a score).
BENEFIT_PANELS = {
    "lower": "lower scores are better",
    "higher": "higher scores are better",
    None: "direction of benefit not stated",
}


def benefit_groups(outcomes, better) -> list[tuple[str | None, list]]:
    """Group outcomes by direction of benefit, in :data:`BENEFIT_PANELS` order (non-empty only).

    Parameters
    ----------
    outcomes : iterable of str
    better : mapping
        Outcome -> ``"lower"``, ``"higher"`` or None.
    """
    outcomes = list(dict.fromkeys(outcomes))
    groups = [(key, [o for o in outcomes if better.get(o) == key]) for key in BENEFIT_PANELS]
    return [(key, members) for key, members in groups if members]


def favours(ax, better: str | None, null: float = 0.0) -> None:
    """Write "favours intervention / favours control" on both sides of the null line.

    Effects are intervention minus control (or their ratio), so where lower
    scores are better the left side favours the intervention. Nothing is
    written when the direction of benefit is not stated.
    """
    if better not in ("lower", "higher"):
        return
    left, right = ("intervention", "control") if better == "lower" else ("control", "intervention")
    where = ax.get_xaxis_transform()
    ax.text(null, 1.0, f"\u2190 favours {left} ", transform=where, ha="right", va="bottom",
            fontsize=7, style="italic")  # fmt: skip
    ax.text(null, 1.0, f" favours {right} \u2192", transform=where, ha="left", va="bottom",
            fontsize=7, style="italic")  # fmt: skip


def plain_ticks(ax, axis: str = "x") -> None:
    """Label an axis's ticks with the tables' number formatter (no ``-0.00``)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(tick_text))


def new_figure(width: float = 6.0, height: float = 4.0, **subplots):
    """Create a figure and axes in the project style.

    Parameters
    ----------
    width, height : float
        Size in inches.
    **subplots
        Passed to :func:`matplotlib.pyplot.subplots` (e.g. ``ncols=2``).

    Returns
    -------
    (Figure, Axes or array of Axes)
    """
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(width, height), **subplots)


def save_figure(fig, path: str | Path, formats: tuple[str, ...] = ("svg", "png")) -> list[Path]:
    """Save a figure byte-stably in several formats and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Output path; its suffix is replaced by each format's.
    formats : tuple of str
        Any of ``svg``, ``png``, ``pdf``.

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "svg": {"Date": None, "Creator": None},
        "png": {"Software": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    }
    written = []
    with plt.rc_context(STYLE):
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            fig.savefig(target, format=fmt, metadata=metadata[fmt], bbox_inches="tight")
            written.append(target)
    plt.close(fig)
    return written


def design_schematic(schedule: pd.DataFrame, clinics: pd.DataFrame | None = None):
    """Draw the cluster x period schematic of a stepped or dog-leg design.

    Parameters
    ----------
    schedule : DataFrame
        Columns ``cluster_id``, ``period``, ``condition`` (one row per
        observed cluster-period; unobserved cells are left blank).
    clinics : DataFrame, optional
        Columns ``clinic_id``, ``cluster_id``; adds the number of clinics
        per cluster to the row labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    clusters = sorted(schedule["cluster_id"].unique())
    periods = sorted(schedule["period"].unique())
    fig, ax = new_figure(1.2 + 0.9 * len(periods), 0.8 + 0.5 * len(clusters))
    for _, row in schedule.iterrows():
        y = clusters.index(row["cluster_id"])
        x = periods.index(row["period"])
        colour = CONDITION_COLOURS.get(row["condition"], "#cccccc")
        ax.add_patch(plt.Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", lw=2))
        ax.text(x + 0.5, y + 0.5, row["condition"][0].upper(), ha="center", va="center")
    labels = clusters
    if clinics is not None:
        counts = clinics.groupby("cluster_id").size()
        labels = [f"{c} ({counts.get(c, 0)} clinics)" for c in clusters]
    ax.set_xlim(0, len(periods))
    ax.set_ylim(len(clusters), 0)
    ax.set_xticks([i + 0.5 for i in range(len(periods))], [f"Period {p}" for p in periods])
    ax.set_yticks([i + 0.5 for i in range(len(clusters))], labels)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    handles = [Patch(color=c, label=k) for k, c in CONDITION_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title("Allocation: cluster x period (blank = not observed)")
    return fig
