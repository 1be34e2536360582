"""Cluster-level (two-stage) analysis for cluster and stepped designs.

Stage 1 regresses the outcome on individual-level covariates, ignoring
clusters and treatment, and keeps the residuals. Stage 2 compares cluster
means of those residuals between conditions with a t test on cluster-level
degrees of freedom (Hayes & Moulton 2017, ch. 9). In a stepped or dog-leg
design, clusters are compared within each calendar period that has clusters
in both conditions (Thompson et al. 2018), so period effects cannot bias the
comparison; the period contrasts are combined with a pooled within-period
variance and the t reference has sum(K_p - 2) degrees of freedom. For a
parallel design (one period) this is the classic two-stage t test with K - 2
degrees of freedom.

References
----------
Hayes RJ, Moulton LH. Cluster Randomised Trials. 2nd ed. CRC; 2017.
Thompson JA et al. Robust analysis of stepped wedge trials using
cluster-level summaries within periods. Stat Med 2018;37(16):2487-500.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.gee import t_interval

NOTE_SHARED_CLUSTERS = (
    "A cluster observed in two periods contributes to two period contrasts, which are "
    "therefore not independent; the t reference is then approximate."
)


def _residuals(data: pd.DataFrame, outcome: str, covariates: Sequence[str]) -> np.ndarray:
    y = data[outcome].to_numpy(float)
    x = np.column_stack([np.ones(len(data)), data[list(covariates)].to_numpy(float)])
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    return y - x @ beta


def cluster_level_analysis(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    cluster: str,
    *,
    covariates: Sequence[str] = (),
    period: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Two-stage cluster-level estimate of a treatment effect.

    Parameters
    ----------
    data : DataFrame
        One row per individual; rows with a missing value are dropped.
    outcome : str
        Numeric outcome.
    treatment : str
        0/1 treatment indicator (constant within cluster and period).
    cluster : str
        Cluster identifier (e.g. ``"clinic_id"``).
    covariates : sequence of str
        Numeric individual-level covariates for stage 1 (e.g. the baseline
        value of the outcome). Encode categories as 0/1 columns first.
    period : str, optional
        Calendar period of a stepped or dog-leg design; clusters are then
        compared within periods.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row: ``term, estimate, std_error, df, statistic, p_value,
        conf_low, conf_high, n_clusters, n_cells, n_obs, periods_used, note``.
    """
    columns = [outcome, treatment, cluster, *covariates] + ([period] if period else [])
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise ModelSpecificationError(f"cluster-level analysis: columns not in the data: {absent}")
    frame = data[columns].dropna().copy()
    frame["_period"] = frame[period] if period else 0
    frame["_residual"] = _residuals(frame, outcome, covariates)
    cells = frame.groupby([cluster, "_period"], observed=True).agg(
        residual=("_residual", "mean"), treated=(treatment, "first"), mixed=(treatment, "nunique")
    )
    if (cells["mixed"] > 1).any():
        raise ModelSpecificationError(
            f"{treatment!r} varies within a cluster and period; cluster-level analysis needs "
            "one condition per cluster and period"
        )
    differences, weights, squares, dfs, used = [], [], 0.0, 0, []
    for key, group in cells.groupby(level="_period"):
        treated = group.loc[group["treated"] == 1, "residual"]
        control = group.loc[group["treated"] == 0, "residual"]
        if len(treated) == 0 or len(control) == 0 or len(group) < 3:
            continue
        differences.append(treated.mean() - control.mean())
        weights.append(1.0 / (1.0 / len(treated) + 1.0 / len(control)))
        squares += ((treated - treated.mean()) ** 2).sum() + (
            (control - control.mean()) ** 2
        ).sum()
        dfs += len(group) - 2
        used.append(key)
    if dfs < 1:
        raise ModelSpecificationError(
            "cluster-level analysis needs, within some period, clusters in both conditions "
            "and at least three clusters"
        )
    weights = np.asarray(weights)
    estimate = float(np.sum(weights * np.asarray(differences)) / weights.sum())
    pooled_variance = squares / dfs
    std_error = float(np.sqrt(pooled_variance / weights.sum()))
    row = {"term": treatment, "estimate": estimate, "std_error": std_error, "df": float(dfs)}
    row.update({k: float(v) for k, v in t_interval(estimate, std_error, dfs, level).items()})
    clusters_used = cells[cells.index.get_level_values("_period").isin(used)]
    shared = clusters_used.index.get_level_values(cluster).duplicated().any()
    row.update(
        {
            "n_clusters": int(clusters_used.index.get_level_values(cluster).nunique()),
            "n_cells": len(clusters_used),
            "n_obs": int(frame["_period"].isin(used).sum()),
            "periods_used": ",".join(str(p) for p in used) if period else "",
            "note": NOTE_SHARED_CLUSTERS if shared else "",
        }
    )
    return pd.DataFrame([row])
