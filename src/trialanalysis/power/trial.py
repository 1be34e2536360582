"""Power specs planned from an analysed trial: its estimates, its design, a grid.

:func:`observed_design` reads what the BetterBack analysis measured for one
outcome (variance components of the primary model, the schedule, clinics
per allocation cluster, patients recruited and analysed per clinic and
period). :func:`scenario_specs` turns it and the ``power`` config into one
power spec per scenario of the grid, plus the observed design itself
(``observed``: the clinics, schedule and analysed patients per clinic-period
of this trial, with its ICC). The power is that of the design under assumed
effects, not post-hoc power of the observed effect.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError

OBSERVED = "observed"
SCENARIO_COLUMNS = ["scenario", "clinics", "individuals", "icc"]


@dataclass(frozen=True)
class ObservedDesign:
    """What the analysed trial measured, for planning.

    Attributes
    ----------
    outcome, timepoint : str
    var_cluster, var_individual : float
        Clinic variance and the remaining (individual-level) variance of the
        primary model.
    schedule : dict
        Allocation cluster (sequence) -> condition per period (None = not observed).
    clusters_per_sequence : dict
        Clinics per allocation cluster.
    analysed : dict
        Sequence -> per clinic, analysed patients in each period.
    mean_recruited, size_cv, dropout : float
        Patients recruited per observed clinic-period, CV of clinic sizes
        (recruited), share of recruited patients not analysed.
    """

    outcome: str
    timepoint: str
    var_cluster: float
    var_individual: float
    schedule: dict
    clusters_per_sequence: dict
    analysed: dict
    mean_recruited: float
    size_cv: float
    dropout: float

    @property
    def sd(self) -> float:
        """Total SD of the primary model."""
        return float(np.sqrt(self.var_cluster + self.var_individual))

    @property
    def icc(self) -> float:
        """ICC of the primary model."""
        return float(self.var_cluster / (self.var_cluster + self.var_individual))


def observed_design(
    variance_components: pd.DataFrame,
    analysis_data: pd.DataFrame,
    schedule: pd.DataFrame,
    clinics: pd.DataFrame,
    outcome: str,
    timepoint: str,
    analysed_columns: list[str],
) -> ObservedDesign:
    """Collect the planning inputs of one outcome from the trial's results.

    Parameters
    ----------
    variance_components : DataFrame
        ``results/betterback/patients/variance_components.csv``.
    analysis_data : DataFrame
        The primary model's data (one row per recruited patient at the time point).
    schedule, clinics : DataFrame
        The validated ``schedule`` and ``clinics`` tables.
    outcome, timepoint : str
    analysed_columns : list of str
        Columns a patient needs to be analysed (response and baseline).
    """
    rows = variance_components[
        (variance_components["outcome"] == outcome)
        & (variance_components["timepoint"] == timepoint)
        & (variance_components["parameter"] == "variance")
    ]
    if rows.empty:
        raise ConfigError(
            f"power.outcome: no variance components for {outcome!r} at {timepoint!r}; "
            "choose a primary outcome of betterback.analyses.patients"
        )
    clinic = rows.loc[rows["group"] == "clinic_id", "estimate"].sum()
    individual = rows.loc[rows["group"] != "clinic_id", "estimate"].sum()
    periods = int(schedule["period"].max())
    table = {
        cluster: [None] * periods
        for cluster in sorted(schedule["cluster_id"].astype(str).unique())
    }
    for row in schedule.itertuples():
        table[str(row.cluster_id)][int(row.period) - 1] = row.condition
    per_cluster = clinics.groupby(clinics["cluster_id"].astype(str))["clinic_id"].apply(sorted)
    data = analysis_data.assign(
        analysed=analysis_data[analysed_columns].notna().all(axis=1),
        clinic_id=analysis_data["clinic_id"].astype(str),
    )
    counts = data.groupby(["clinic_id", "period"])["analysed"].agg(["size", "sum"])
    analysed = {}
    for cluster, ids in per_cluster.items():
        analysed[cluster] = [
            [
                int(counts["sum"].get((clinic_id, p), 0)) if table[cluster][p - 1] else 0
                for p in range(1, periods + 1)
            ]
            for clinic_id in ids
        ]
    recruited_per_clinic = data.groupby("clinic_id").size()
    return ObservedDesign(
        outcome=outcome,
        timepoint=timepoint,
        var_cluster=float(clinic),
        var_individual=float(individual),
        schedule=table,
        clusters_per_sequence={c: len(ids) for c, ids in per_cluster.items()},
        analysed=analysed,
        mean_recruited=float(counts["size"].mean()),
        size_cv=float(recruited_per_clinic.std(ddof=0) / recruited_per_clinic.mean()),
        dropout=float(1.0 - data["analysed"].mean()),
    )


def scenario_grid(settings: Mapping) -> list[dict]:
    """List the scenarios of ``power.scenarios`` (from the config alone), each with an id.

    ``observed`` comes first; then the product of clusters per sequence,
    individuals per cluster-period and ICCs as ``s01``, ``s02``, ...
    """
    grid = settings["scenarios"]
    product = itertools.product(
        grid["clusters_per_sequence"], grid["individuals_per_cluster_period"], grid["iccs"]
    )
    scenarios = [{"id": OBSERVED, "clusters": OBSERVED, "individuals": OBSERVED, "icc": OBSERVED}]
    total = len(grid["clusters_per_sequence"]) * len(grid["individuals_per_cluster_period"])
    width = max(2, len(str(total * len(grid["iccs"]))))
    for n, (k, m, icc) in enumerate(product, start=1):
        scenarios.append({"id": f"s{n:0{width}d}", "clusters": k, "individuals": m, "icc": icc})
    return scenarios


def scenario_specs(trial: ObservedDesign, settings: Mapping, seed: int, df_method: str) -> dict:
    """One power spec (a mapping for :func:`~.spec.load_power_spec`) per scenario.

    Parameters
    ----------
    trial : ObservedDesign
    settings : mapping
        The validated ``power`` config section.
    seed : int
        Seed of the simulations.
    df_method : str
        The trial analysis' df method.

    Returns
    -------
    dict
        Scenario id -> ``{"spec": ..., "clinics": ..., "individuals": ...,
        "icc": ...}``.
    """
    schedule = settings["schedule"] or trial.schedule
    sequences = list(schedule)
    cac = 1.0 if settings["cac"] is None else float(settings["cac"])
    effects = sorted({*settings["scenarios"]["effects"], *_reference(settings)})
    common = {
        "outcome": {"sd": trial.sd, "cac": cac},
        "effect": effects,
        "alpha": settings["alpha"],
        "analysis": {"df_method": df_method, "df": settings["df"], "size_draws": 100},
        "simulation": {"sims": settings["sims"], "seed": seed},
    }
    specs = {}
    for scenario in scenario_grid(settings):
        observed = scenario["id"] == OBSERVED
        if observed and settings["schedule"]:
            continue
        icc = trial.icc if scenario["icc"] == OBSERVED else float(scenario["icc"])
        if observed:
            clusters = dict(trial.clusters_per_sequence)
            design = {"individuals_per_cluster_period": trial.analysed, "dropout": 0.0}
        else:
            clusters = _clusters(scenario["clusters"], trial, sequences)
            m = scenario["individuals"]
            m = round(trial.mean_recruited) if m == OBSERVED else int(m)
            cv = (
                trial.size_cv
                if settings["cluster_size_cv"] is None
                else settings["cluster_size_cv"]
            )
            design = {
                "individuals_per_cluster_period": m,
                "cluster_size_cv": float(cv),
                "dropout": trial.dropout if settings["dropout"] is None else settings["dropout"],
            }
        design = {"schedule": schedule, "clusters_per_sequence": clusters, **design}
        spec = {**common, "design": design, "outcome": {**common["outcome"], "icc": icc}}
        specs[scenario["id"]] = {
            "spec": spec,
            "clinics": sum(clusters.values()),
            "individuals": _individuals(spec["design"]),
            "icc": icc,
        }
    return specs


def _reference(settings: Mapping) -> list[float]:
    return [] if settings["mcid"] is None else [float(settings["mcid"])]


def _clusters(entry, trial: ObservedDesign, sequences: list[str]) -> dict:
    if entry == OBSERVED:
        if sequences != list(trial.clusters_per_sequence):
            raise ConfigError(
                "power.scenarios.clusters_per_sequence: 'observed' needs the observed "
                f"sequences {list(trial.clusters_per_sequence)}, but power.schedule has "
                f"{sequences}; give numbers of clusters"
            )
        return dict(trial.clusters_per_sequence)
    return {s: int(entry) for s in sequences}


def _individuals(design: Mapping) -> float:
    m = design["individuals_per_cluster_period"]
    if isinstance(m, Mapping):
        cells = [v for rows in m.values() for row in rows for v in row if v]
        return float(np.mean(cells))
    return float(m)


def reference_effect(settings: Mapping) -> float:
    """Return the effect of reference: the MCID, else the first effect of the grid."""
    return (
        _reference(settings)[0]
        if settings["mcid"] is not None
        else float(settings["scenarios"]["effects"][0])
    )
