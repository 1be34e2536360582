"""Floor and ceiling shares of bounded outcomes (model checking).

A linear model of a score with many responses at its lowest or highest
possible value (a floor or ceiling effect) has skewed, heteroscedastic
residuals near the bound; a share above ``threshold`` per cent (15 %, the
criterion of Terwee et al. 2007) is flagged with a note.

Reference: Terwee CB et al. Quality criteria were proposed for measurement
properties of health status questionnaires. J Clin Epidemiol 2007;60:34-42.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

COLUMNS = [
    "outcome", "timepoint", "n", "minimum_possible", "maximum_possible",
    "n_floor", "floor_pct", "n_ceiling", "ceiling_pct", "note",
]  # fmt: skip


def floor_ceiling_table(
    long: pd.DataFrame,
    bounds: Mapping[str, tuple[float, float]],
    timepoints: Sequence[str],
    threshold: float = 15.0,
) -> pd.DataFrame:
    """Share of responses at each bound, per outcome and time point.

    Parameters
    ----------
    long : DataFrame
        One row per patient and time point: ``timepoint`` and the outcome columns.
    bounds : mapping
        Outcome column -> (lowest, highest) possible value.
    timepoints : sequence of str
        Time points in report order.
    threshold : float
        Percentage above which a bound is flagged.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`; ``note`` names the bound(s) above ``threshold``.
    """
    rows = []
    for outcome, (low, high) in bounds.items():
        for timepoint in timepoints:
            values = pd.to_numeric(
                long.loc[long["timepoint"].astype(str) == timepoint, outcome], errors="coerce"
            ).dropna()
            n = len(values)
            at_low = int(np.isclose(values, low, rtol=0, atol=1e-9).sum())
            at_high = int(np.isclose(values, high, rtol=0, atol=1e-9).sum())
            floor = 100 * at_low / n if n else np.nan
            ceiling = 100 * at_high / n if n else np.nan
            flagged = [
                f"{name} {pct:.1f}% > {threshold:g}%"
                for name, pct in (("floor", floor), ("ceiling", ceiling))
                if n and pct > threshold
            ]
            rows.append(
                [
                    outcome,
                    timepoint,
                    n,
                    low,
                    high,
                    at_low,
                    floor,
                    at_high,
                    ceiling,
                    "; ".join(flagged),
                ]
            )
    return pd.DataFrame(rows, columns=COLUMNS)
