"""Sentences and report blocks for the BetterBack report fragments.

The numbers in the text come from the tidy result tables, so the prose cannot
drift from what was estimated.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trialanalysis.analyses.common.text import DF_TEXT, P_ADJUST_TEXT


def estimate_text(row: Mapping, digits: int = 2) -> str:
    """``-3.36 (95% CI -5.93 to -0.80; Kenward-Roger df 55.4, p = 0.011)``."""
    method = DF_TEXT.get(str(row.get("df_method", "")), str(row.get("df_method", "")))
    p = row["p_value"]
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return (
        f"{row['estimate']:.{digits}f} (95% CI {row['conf_low']:.{digits}f} to "
        f"{row['conf_high']:.{digits}f}; {method} df {row['df']:.1f}, {p_text})"
    )


def primary_summary(effects: pd.DataFrame, settings: Mapping) -> str:
    """One sentence per primary outcome with its estimate and CI."""
    primary = effects[effects["role"] == "primary"]
    if primary.empty:
        return "BetterBack: no primary outcome could be estimated (see diagnostics)."
    lines = [
        "BetterBack patient trial, Hussey & Hughes model (period and treatment fixed, "
        f"random part {' + '.join(settings['random_effects'])}); primary estimand: the "
        f"difference between intervention and routine care in the "
        f"{primary['response'].iloc[0]} at {settings['primary_timepoint']}:"
    ]
    items = [
        f"- {row['label']}: {estimate_text(row)}; {row['n_obs']} patients in "
        f"{row['n_clinics']} clinics"
        for _, row in primary.iterrows()
    ]
    return lines[0] + "\n\n" + "\n".join(items)


def therapist_summary(contrasts: pd.DataFrame, scores) -> str:
    """Change from the first time point of the therapist scores (not the domains)."""
    items = [
        f"- {row['label']}, {row['contrast']}: {estimate_text(row)}"
        for score in scores
        for _, row in contrasts[contrasts["score"] == score].iterrows()
    ]
    head = "BetterBack therapist cohort, mixed model (change from the first time point):"
    return head + "\n\n" + "\n".join(items)


def design_note() -> str:
    """Why the randomization test is uninformative and treatment needs the clinic effect."""
    return (
        "In this dog-leg design each allocation cluster is observed in two consecutive "
        "periods (routine care, then intervention). Treatment is identified only by "
        "comparing clusters within periods, which the random clinic effect allows; with "
        "clinic fixed effects it would be confounded with period. With 3 allocation "
        "clusters, re-assigning the schedule's sequences to clusters leaves the observed "
        "allocation as the only one under which every observed cluster-period keeps a "
        "condition, so the randomization test cannot give a small p-value; it is shown "
        "as computed, not hidden."
    )


def multiplicity_text(settings: Mapping) -> str:
    """How the therapist analyses handle multiplicity."""
    return (
        f"Domain contrasts are adjusted with the {P_ADJUST_TEXT[settings['p_adjust']]} "
        "method across domains within each contrast (column p_adjusted); the scores "
        "are not adjusted. The published analysis's paired comparisons use the "
        f"{P_ADJUST_TEXT[settings['anova_p_adjust']]} method within each score."
    )
