"""Estimands (ICH E9(R1)) and multiplicity strategies as report text.

The text comes from the config's ``estimand`` and ``multiplicity`` blocks
(validated by the config schema), so the report says exactly what was
configured: population, treatment condition, variable, intercurrent events
with their strategies, the population-level summary and, in a cluster trial,
whether the summary is an individual- or a cluster-average effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trialanalysis.models.multiplicity import METHOD_TEXT
from trialanalysis.reporting.sections import Section, TextBlock

LEVEL_TEXT = {
    "individual": (
        "individual-average effect (every patient weighs equally, as in the mixed model "
        "fitted to patients)"
    ),
    "cluster": "cluster-average effect (every cluster weighs equally)",
}


def estimand_text(estimand: Mapping, title: str, cluster_trial: bool = False) -> str:
    """Describe one estimand as a short list.

    Parameters
    ----------
    estimand : mapping
        A validated ``estimand`` block.
    title : str
        Lead-in, e.g. ``"BetterBack primary estimand"``.
    cluster_trial : bool
        Say whether the summary is an individual- or cluster-average effect.
    """
    events = estimand.get("intercurrent_events", [])
    event_lines = [
        f"  - {e['event']}: {e['strategy']} strategy"
        + (f" ({e['rationale']})" if e.get("rationale") else "")
        for e in events
    ] or ["  - none specified"]
    lines = [
        f"- Population: {estimand['population']}",
        f"- Treatment: {estimand['treatment']}",
        f"- Variable: {estimand['variable']}",
        "- Intercurrent events:",
        *event_lines,
        f"- Population-level summary: {estimand['summary']}",
    ]
    if cluster_trial:
        lines.append(f"- Weighting: {LEVEL_TEXT[estimand.get('level', 'individual')]}")
    return f"{title} (ICH E9(R1)):\n\n" + "\n".join(lines)


def multiplicity_text(multiplicity: Mapping, family: Sequence[str], what: str) -> str:
    """Say how a primary family is adjusted for multiplicity.

    Parameters
    ----------
    multiplicity : mapping
        ``{method, order}`` from the config.
    family : sequence of str
        The hypotheses of the family (labels), in config order.
    what : str
        What the family is, e.g. ``"the three co-primary outcomes at 3m"``.
    """
    method = multiplicity["method"]
    members = ", ".join(family)
    if len(family) < 2:
        return (
            f"The primary family ({what}: {members}) has one hypothesis; no adjustment is needed."
        )
    if method == "none":
        return (
            f"The primary family ({what}: {members}) is not adjusted for multiplicity; "
            "each p-value is shown as computed."
        )
    text = (
        f"The primary family ({what}: {members}) is adjusted by {METHOD_TEXT[method]} "
        "at a familywise two-sided level of 0.05; adjusted p-values are in column "
        "`p_adjusted` of the effects table, the summary and the forest plot"
    )
    if method == "hierarchical":
        order = multiplicity.get("order") or list(family)
        text += (
            f", tested in the order {' > '.join(order)}, each at the full level until the "
            "first is not rejected (adjusted p = the running maximum of the p-values)"
        )
    return text + "."


def estimands_section(config: Mapping, section_id: str = "methods-estimands") -> Section:
    """Build the methods subsection with both trials' estimands and multiplicity strategies."""
    blocks = []
    betterback = config.get("betterback", {}).get("analyses", {}).get("patients", {})
    if betterback.get("estimand"):
        blocks.append(
            TextBlock(estimand_text(betterback["estimand"], "BetterBack primary estimand", True))
        )
    if betterback.get("multiplicity"):
        primary = [o["score"] for o in betterback.get("outcomes", []) if o.get("primary")]
        where = f"primary outcomes at {betterback.get('primary_timepoint', '')}"
        blocks.append(TextBlock(multiplicity_text(betterback["multiplicity"], primary, where)))
    prepare = config.get("prepare", {}).get("analyses", {})
    if prepare.get("estimand"):
        blocks.append(TextBlock(estimand_text(prepare["estimand"], "PREPARE primary estimand")))
    if prepare.get("multiplicity"):
        family = prepare["multiplicity"].get("family") or [prepare.get("primary_timepoint", "")]
        where = f"{prepare.get('primary_outcome', '')} at the time points"
        blocks.append(TextBlock(multiplicity_text(prepare["multiplicity"], family, where)))
    return Section("Estimands and multiplicity", blocks=blocks, id=section_id)
