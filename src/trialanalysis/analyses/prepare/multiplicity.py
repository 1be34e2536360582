"""The PREPARE primary family and its multiplicity-adjusted p-values.

The family is the primary outcome at the time points of
``prepare.analyses.multiplicity.family`` (default: the primary time point
alone, a family of one); the strategy is ``multiplicity.method``
(:func:`~trialanalysis.models.multiplicity.adjust`), with ``order`` the
testing sequence of a hierarchical (fixed-sequence) strategy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.models.multiplicity import adjust

KEY = "prepare.analyses.multiplicity"


def family_timepoints(settings: Mapping, follow_ups) -> list[str]:
    """Time points of the primary family, checked against the follow-ups."""
    strategy = settings["multiplicity"]
    family = list(strategy["family"]) or [settings["primary_timepoint"]]
    problems = [f"family: {t!r} is not a follow-up ({', '.join(follow_ups)})"
                for t in family if t not in follow_ups]  # fmt: skip
    if settings["primary_timepoint"] not in family:
        problems.append(f"family {family} must include the primary time point")
    order = list(strategy["order"])
    if order and sorted(order) != sorted(family):
        problems.append(f"order {order} must list the family's time points {family} once each")
    if problems:
        raise ConfigError(f"{KEY}: " + "; ".join(problems))
    return family


def primary_family_p(differences: pd.DataFrame, settings: Mapping, follow_ups) -> np.ndarray:
    """Return the adjusted p-values of the primary family's rows (NaN elsewhere)."""
    family = family_timepoints(settings, follow_ups)
    strategy = settings["multiplicity"]
    rows = differences["outcome"].eq(settings["primary_outcome"]) & differences["timepoint"].isin(
        family
    )
    adjusted = np.full(len(differences), np.nan)
    if rows.any():
        adjusted[rows.to_numpy()] = adjust(
            differences.loc[rows, "p_value"].to_numpy(float),
            strategy["method"],
            names=differences.loc[rows, "timepoint"].tolist(),
            order=strategy["order"] or None,
        )
    return adjusted
