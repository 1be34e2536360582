"""Methods text on how each trial was run: randomisation, concealment, blinding, sample size.

The data cannot say who randomised or who was blinded, so the text comes
from ``<trial>.conduct`` in the config; a key left null is stated as "not
recorded in the configuration" with the key to fill in, never guessed
(CONSORT 2010 items 7-11 and the stepped-wedge extension's items 8-10).
"""

from __future__ import annotations

from collections.abc import Mapping

from trialanalysis.reporting.sections import Section, TextBlock

NOT_RECORDED = "not recorded in the configuration"
ITEMS = (
    ("sequence_generation", "Sequence generation"),
    ("randomised_by", "Randomisation done by"),
    ("concealment", "Allocation concealment"),
    ("blinding", "Blinding"),
)
WHAT = {
    "betterback": (
        "BetterBack (stepped cluster, dog-leg design): the allocation clusters were "
        "randomised to the order (sequence) in which they crossed from routine care to the "
        "intervention; patients were not randomised individually."
    ),
    "prepare": "PREPARE: patients were randomised individually to {arms}.",
}


def conduct_text(config: Mapping, trial: str) -> str:
    """Return the randomisation, concealment and blinding text of one trial.

    Parameters
    ----------
    config : mapping
        The validated config (``<trial>.conduct``; ``prepare.arms``).
    trial : {"betterback", "prepare"}

    Returns
    -------
    str
        A paragraph and a list, each item from its config key or stated as
        not recorded, naming the key.
    """
    settings = config.get(trial, {}) or {}
    conduct = settings.get("conduct") or {}
    arms = " and ".join(str(a).replace("_", " ") for a in settings.get("arms", []))
    lines = [WHAT[trial].format(arms=arms or "the arms"), ""]
    for key, label in ITEMS:
        value = conduct.get(key)
        shown = str(value).strip() if value else f"{NOT_RECORDED} (`{trial}.conduct.{key}`)"
        lines.append(f"- {label}: {shown}.")
    return "\n".join(lines)


def conduct_section(config: Mapping, section_id: str = "conduct") -> Section:
    """Build the methods subsection on randomisation, allocation concealment and blinding."""
    blocks = [
        TextBlock(conduct_text(config, trial))
        for trial in ("betterback", "prepare")
        if config.get(trial)
    ]
    return Section(
        "Randomisation, allocation concealment and blinding", blocks=blocks, id=section_id
    )


def no_sample_size_text() -> str:
    """Return the sample-size text when the run has no power results."""
    return (
        "No power results are part of this run; the planned sample size and its "
        f"justification are {NOT_RECORDED}."
    )
