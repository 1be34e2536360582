"""Randomization (permutation) tests over a cluster allocation scheme.

The allocation scheme is the schedule: each allocation unit (cluster)
follows one sequence of conditions over the periods. Re-randomizing assigns
the sequences to the units anew; the test statistic is recomputed with the
conditions each observed row would have had, and the p-value is the share of
allocations whose statistic is at least as extreme as the observed one.
All allocations are enumerated when there are at most ``max_permutations``
(an exact test); otherwise a seeded Monte-Carlo sample is drawn.

An allocation is *feasible* only if every observed unit-period still has a
condition under it. In incomplete designs (dog-leg, staircase) units are
observed only in their own periods, so most re-allocations are infeasible
and the test can be uninformative; the result says so rather than
reporting a p-value that cannot be small.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from trialanalysis.errors import ModelSpecificationError


def _allocations(units: list, max_permutations: int, rng) -> tuple[list[tuple], bool]:
    total = math.factorial(len(units))
    if total <= max_permutations:
        return list(itertools.permutations(units)), True
    draws = {tuple(units)}
    while len(draws) < max_permutations:
        draws.add(tuple(rng.permutation(units)))
    return sorted(draws, key=lambda p: p != tuple(units)), False


def randomization_test(
    data: pd.DataFrame,
    schedule: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], float],
    *,
    unit: str = "cluster_id",
    period: str = "period",
    condition: str = "condition",
    treated_value: str = "intervention",
    treatment: str = "treatment",
    max_permutations: int = 10000,
    seed: int = 0,
) -> pd.DataFrame:
    """Test "no treatment effect" by re-randomizing sequences to allocation units.

    Parameters
    ----------
    data : DataFrame
        Analysis data with columns ``unit`` and ``period``.
    schedule : DataFrame
        One row per observed unit and period: ``unit, period, condition``.
    statistic : callable
        Maps a data frame (with the 0/1 column ``treatment`` set for the
        allocation at hand) to the test statistic, e.g. the estimated
        treatment effect of a model.
    unit, period, condition : str
        Column names.
    treated_value : str
        Condition value that means treated.
    treatment : str
        Name of the 0/1 column handed to ``statistic``.
    max_permutations : int
        Enumerate all allocations up to this number, else sample this many.
    seed : int
        Seed of the Monte-Carlo sample.

    Returns
    -------
    DataFrame
        One row: ``statistic, p_value, n_allocations, n_feasible, exact,
        min_attainable_p, note``. The two-sided p-value counts allocations
        with ``|T| >= |T_observed|`` (the observed allocation included).
    """
    cells = schedule.set_index([unit, period])[condition]
    if cells.index.duplicated().any():
        raise ModelSpecificationError("the schedule has a unit and period twice")
    units = sorted(schedule[unit].unique())
    sequences = {u: cells.xs(u, level=unit).to_dict() for u in units}
    observed_cells = data[[unit, period]].drop_duplicates()
    rng = np.random.default_rng(seed)
    allocations, exact = _allocations(units, max_permutations, rng)
    values = []
    for allocation in allocations:
        sequence_of = dict(zip(units, allocation, strict=True))
        conditions = [
            sequences[sequence_of[u]].get(p) for u, p in observed_cells.itertuples(index=False)
        ]
        if any(c is None for c in conditions):
            continue  # some observed unit-period would be unobserved under this allocation
        lookup = pd.Series(
            [c == treated_value for c in conditions],
            index=pd.MultiIndex.from_frame(observed_cells),
        )
        index = pd.MultiIndex.from_frame(data[[unit, period]])
        relabelled = data.assign(**{treatment: lookup.reindex(index).to_numpy().astype(int)})
        values.append(float(statistic(relabelled)))
    observed = values[0]
    values = np.asarray(values)
    n_feasible = len(values)
    p_value = float(np.mean(np.abs(values) >= abs(observed) - 1e-12))
    note = ""
    if n_feasible < 20:
        note = (
            f"only {n_feasible} feasible allocation(s) of {len(allocations)}: the smallest "
            f"attainable p-value is {1 / n_feasible:.3g}, so the test cannot detect an effect"
        )
    return pd.DataFrame(
        [
            {
                "statistic": observed,
                "p_value": p_value,
                "n_allocations": len(allocations),
                "n_feasible": n_feasible,
                "exact": exact,
                "min_attainable_p": 1 / n_feasible,
                "note": note,
            }
        ]
    )
