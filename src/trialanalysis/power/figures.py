"""Power curves: power against clinics and against individuals, one line per ICC."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialanalysis.reporting.figures import new_figure

PANELS = (
    ("clinics", "individuals", "Clinics"),
    ("individuals", "clinics", "Individuals per clinic and period"),
)


def _nearest(values: np.ndarray, target: float) -> float:
    return float(values[np.argmin(np.abs(values - target))])


def power_curves(
    table: pd.DataFrame, effect: float, at_clinics: float, at_individuals: float, alpha: float
):
    """Draw analytic power curves, with simulated power (± 2 MC SE) where present.

    Parameters
    ----------
    table : DataFrame
        The power table (``scenario, clinics, individuals, icc, method,
        effect, power, power_mc_se``) without the observed scenario.
    effect : float
        Effect drawn (the MCID).
    at_clinics, at_individuals : float
        Each panel holds the other dimension at the grid value nearest to these.
    alpha : float
        Significance level (drawn as a reference line).
    """
    rows = table[table["effect"] == effect]
    fixed = {
        "clinics": _nearest(rows["clinics"].unique(), at_clinics),
        "individuals": _nearest(rows["individuals"].unique(), at_individuals),
    }
    fig, axes = new_figure(7.2, 3.0, ncols=2, squeeze=False)
    colours = ["#08519c", "#de2d26", "#31a354", "#756bb1", "#636363"]
    for ax, (x, other, label) in zip(axes[0], PANELS, strict=True):
        panel = rows[np.isclose(rows[other], fixed[other])]
        for k, icc in enumerate(sorted(panel["icc"].unique())):
            colour = colours[k % len(colours)]
            part = panel[np.isclose(panel["icc"], icc)].sort_values(x)
            curve = part[part["method"] == "analytic-t"]
            ax.plot(curve[x], curve["power"], color=colour, marker="o", ms=3,
                    label=f"ICC {icc:.3f}")  # fmt: skip
            sims = part[part["method"] == "simulation"]
            if len(sims):
                ax.errorbar(sims[x], sims["power"], yerr=2 * sims["power_mc_se"], fmt="s",
                            ms=3, color=colour, mfc="white", capsize=2)  # fmt: skip
        ax.axhline(0.8, color="#999999", lw=0.6, ls="--")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(label)
        ax.set_ylabel("Power")
        held = "individuals per clinic-period" if other == "individuals" else "clinics"
        ax.set_title(f"at {fixed[other]:g} {held}", fontsize=9)
    axes[0][0].legend(frameon=False, fontsize=8)
    title = (
        f"Design-based power at effect {effect:g} (two-sided alpha {alpha:g}); lines: analytic (t)"
    )
    if (rows["method"] == "simulation").any():
        title += ", squares: simulation (± 2 MC SE)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
