"""PREPARE: delta-adjusted multiple imputation of the primary outcome and its tipping point.

The data are imputed under MAR as for the multiple-imputation sensitivity
analysis (:func:`~.missing.completed_long_tables`: chained PMM, by arm when
configured, same seed), so the delta = 0 row is an MI analysis of all
randomised patients. The imputed values of the primary outcome at the
primary time point are then shifted by ``delta`` in the configured arm(s)
(``prepare.analyses.delta_adjustment.arms``) and every completed data set is
analysed by ANCOVA at that time point (``y_t ~ treatment + y_baseline
[+ covariates]``, OLS: on complete data the unstructured MMRM with
time-specific baseline slopes gives the same estimate), pooled by Rubin's
rules with Barnard-Rubin df. ``delta`` runs over a grid in units of the
outcome's observed baseline SD; the tipping point, the delta at which the
95% CI reaches 0 (or the estimate changes sign), is found by Brent's method
(:func:`~trialanalysis.models.delta_adjust.tipping_points`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.analyses.prepare.data import PrepareData
from trialanalysis.analyses.prepare.missing import completed_long_tables
from trialanalysis.analyses.prepare.models import ancova_check
from trialanalysis.models.delta_adjust import pooled_at, shifted_rows, tipping_points

LABEL = "delta-adjusted MI (m = {m}; imputed {outcome} at {timepoint} shifted in the {arms} arm)"


def imputed_mask(data: PrepareData, long: pd.DataFrame, outcome: str, timepoint: str):
    """Boolean frame (index of ``long``): rows of ``timepoint`` where ``outcome`` was imputed."""
    observed = data.long.loc[data.long[outcome].notna()]
    keys = set(zip(observed["patient_id"], observed["timepoint"].astype(str), strict=True))
    pairs = zip(long["patient_id"], long["timepoint"].astype(str), strict=True)
    imputed = np.array([(p, t) not in keys for p, t in pairs])
    at_time = (long["timepoint"].astype(str) == timepoint).to_numpy()
    return pd.DataFrame({outcome: imputed & at_time}, index=long.index)


@dataclass(frozen=True)
class TippingPoints:
    """The delta-adjusted analysis: the pooled estimate over the delta grid, the tipping points."""

    grid: pd.DataFrame
    points: pd.DataFrame


def delta_adjusted_analysis(data: PrepareData, settings: Mapping, seed: int) -> TippingPoints:
    """Delta grid and tipping points of the primary outcome at the primary time point.

    Parameters
    ----------
    data : PrepareData
    settings : mapping
        The resolved ``prepare.analyses`` (``primary_outcome``,
        ``primary_timepoint``, ``covariates``, ``conf_level``,
        ``multiple_imputation``, ``delta_adjustment``).
    seed : int

    Returns
    -------
    TippingPoints
        The grid (``outcome, timepoint, arms, delta, delta_sd, estimate,
        std_error, df, p_value, conf_low, conf_high, conclusion, m``) and the
        tipping points (``significance_low/high``, ``sign_low/high``, also
        in baseline SDs, ``baseline_sd``, ``share_imputed``).
    """
    outcome, when = settings["primary_outcome"], settings["primary_timepoint"]
    covariates, level = settings["covariates"], settings["conf_level"]
    imputation, delta = settings["multiple_imputation"], settings["delta_adjustment"]
    scores = list(dict.fromkeys([outcome, *imputation["auxiliary"]]))
    completed = completed_long_tables(data, scores, imputation, covariates, seed)
    missing = imputed_mask(data, completed[0], outcome, when)
    rows = shifted_rows(completed[0]["treatment"], delta["arms"])

    def analyse(long: pd.DataFrame) -> pd.DataFrame:
        completed_data = PrepareData(data.patients, long, data.arms, data.timepoints)
        row = ancova_check(completed_data, outcome, when, covariates, level)
        keys = ("estimate", "std_error", "df")
        return pd.DataFrame([{"term": "treatment", **{k: row[k] for k in keys}}])

    def evaluate(d: float) -> dict:
        return pooled_at(completed, missing, rows, analyse, "treatment", d, level)

    baseline = data.long.loc[data.long["timepoint"] == data.baseline, outcome].dropna()
    sd = float(baseline.std(ddof=1))
    grid, found = tipping_points(
        evaluate, [g * sd for g in delta["grid_sd"]], xtol=delta["tolerance_sd"] * sd
    )
    head = {"outcome": outcome, "timepoint": when, "arms": delta["arms"]}
    grid = grid.assign(**head, delta_sd=grid["delta"] / sd)
    at_time = completed[0]["timepoint"].astype(str) == when
    points = pd.DataFrame(
        [
            {
                **head,
                "baseline_sd": sd,
                **found,
                **{f"{k}_sd": v / sd for k, v in found.items()},
                "share_imputed": float(missing[outcome].sum() / at_time.sum()),
                "m": len(completed),
            }
        ]
    )
    columns = ["outcome", "timepoint", "arms", "delta", "delta_sd", "estimate", "std_error",
               "df", "p_value", "conf_low", "conf_high", "conclusion", "m"]  # fmt: skip
    return TippingPoints(grid[columns], points)
