"""The power spec: a cluster design and an outcome model, validated and checked.

A spec (YAML, ``schemas/power.schema.yaml``) describes sequences of
conditions over periods, the clusters per sequence, the individuals per
cluster-period, the outcome's SD, ICC and cluster autocorrelation, and the
effects of interest. :func:`load_power_spec` validates it against the schema,
then checks what a schema cannot (a period nobody observes, a sequence never
observed, an intervention confounded with period, sizes that do not fit the
schedule) and reports every problem at once, each with its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trialanalysis.config import read_yaml, validate_with_schema
from trialanalysis.errors import ConfigError

POWER_SCHEMA = "power.schema.yaml"
CODES = {"control": 0.0, "intervention": 1.0, None: np.nan}


@dataclass(frozen=True)
class PowerSpec:
    """A checked power spec, expanded to one row per cluster.

    Attributes
    ----------
    sequences : tuple of str
        Sequence names, in the order of the schedule.
    cluster_sequence : ndarray of int
        Index of each cluster's sequence (length K).
    treatment : ndarray
        K x T: 1 intervention, 0 control, NaN not observed.
    sizes : ndarray
        K x T individuals recruited per cluster-period (0 where not observed).
    cluster_size_cv, dropout : float
    sd, icc, cac : float
        Total SD, within-period ICC, cluster autocorrelation.
    effects : tuple of float
    alpha : float
    df_method : str
    df : float or None
        Analytic t df (None: clusters - 2).
    size_draws, sims, seed : int
    """

    sequences: tuple[str, ...]
    cluster_sequence: np.ndarray
    treatment: np.ndarray
    sizes: np.ndarray
    cluster_size_cv: float
    dropout: float
    sd: float
    icc: float
    cac: float
    effects: tuple[float, ...]
    alpha: float
    df_method: str
    df: float | None
    size_draws: int
    sims: int
    seed: int

    @property
    def n_clusters(self) -> int:
        """Number of clusters K."""
        return len(self.cluster_sequence)

    @property
    def n_periods(self) -> int:
        """Number of periods T."""
        return self.treatment.shape[1]

    @property
    def t_df(self) -> float:
        """Degrees of freedom of the analytic t reference."""
        return float(self.df) if self.df is not None else float(self.n_clusters - 2)

    def variance_components(self) -> tuple[float, float, float]:
        """Cluster, cluster-period and individual variances implied by sd, icc and cac."""
        total = self.sd**2
        return (
            self.icc * self.cac * total,
            self.icc * (1.0 - self.cac) * total,
            (1.0 - self.icc) * total,
        )


def load_power_spec(spec: Mapping | str | Path, source: str | None = None) -> PowerSpec:
    """Read (if a path), validate and check a power spec.

    Parameters
    ----------
    spec : mapping or path
        The spec, or a YAML file holding it.
    source : str, optional
        Name for messages (default: the file name, or ``power spec``).

    Returns
    -------
    PowerSpec

    Raises
    ------
    ConfigError
        Listing every problem with its key path.
    """
    if isinstance(spec, str | Path):
        source = source or str(spec)
        spec = read_yaml(spec, "power spec")
    source = source or "power spec"
    checked = validate_with_schema(spec, POWER_SCHEMA, source, "power spec")
    problems = design_problems(checked["design"])
    if problems:
        lines = "\n".join(f"{source}: {p}" for p in problems)
        raise ConfigError(f"impossible design in the power spec:\n{lines}")
    return _build(checked)


def schedule_problems(schedule: Mapping, where: str) -> list[str]:
    """Problems of a sequence -> conditions schedule that make the effect inestimable.

    Used for power specs and for ``config/simulation.yaml``; ``where`` is the
    key path of the schedule for the messages.
    """
    problems = []
    lengths = {len(row) for row in schedule.values()}
    if len(lengths) > 1:
        counts = ", ".join(f"{s}: {len(row)}" for s, row in schedule.items())
        return [f"{where}: every sequence needs the same number of periods ({counts})"]
    table = np.array([[CODES[c] for c in row] for row in schedule.values()], dtype=float)
    observed = ~np.isnan(table)
    for name, row in zip(schedule, observed, strict=True):
        if not row.any():
            problems.append(f"{where}/{name}: sequence {name} is never observed (all null)")
    for period in np.flatnonzero(~observed.any(axis=0)):
        problems.append(
            f"{where}: period {period + 1} is not observed in any sequence (null in every "
            "row); drop the period or observe it"
        )
    if not np.any(table == 1.0):
        problems.append(f"{where}: no sequence is ever switched to intervention")
    elif not np.any(table == 0.0):
        problems.append(f"{where}: no sequence is ever observed under control")
    elif not problems and _confounded(table):
        problems.append(
            f"{where}: the intervention is confounded with period (in every period all "
            "observed sequences have the same condition), so its effect cannot be "
            "separated from the period effects; switch the sequences at different periods"
        )
    return problems


def _confounded(table: np.ndarray) -> bool:
    for column in table.T:
        values = column[~np.isnan(column)]
        if len(np.unique(values)) > 1:
            return False
    return True


def design_problems(design: Mapping) -> list[str]:
    """Every problem of a schema-valid ``design`` section, as ``key: message``."""
    schedule, clusters = design["schedule"], design["clusters_per_sequence"]
    problems = schedule_problems(schedule, "design/schedule")
    missing = [s for s in schedule if s not in clusters]
    extra = [s for s in clusters if s not in schedule]
    if missing:
        problems.append(f"design/clusters_per_sequence: no number of clusters for {missing}")
    if extra:
        problems.append(f"design/clusters_per_sequence: {extra} are not sequences of the schedule")
    sizes = design["individuals_per_cluster_period"]
    if isinstance(sizes, Mapping) and not missing:
        problems += _size_problems(sizes, schedule, clusters)
    return problems


def _size_problems(sizes: Mapping, schedule: Mapping, clusters: Mapping) -> list[str]:
    where = "design/individuals_per_cluster_period"
    problems = [f"{where}: no sizes for sequence {s}" for s in schedule if s not in sizes]
    problems += [
        f"{where}/{s}: not a sequence of the schedule" for s in sizes if s not in schedule
    ]
    for name, entries in sizes.items():
        if name not in schedule:
            continue
        if len(entries) != clusters[name]:
            problems.append(
                f"{where}/{name}: {len(entries)} clusters listed, but "
                f"design/clusters_per_sequence/{name} is {clusters[name]}"
            )
        for k, entry in enumerate(entries):
            if isinstance(entry, list):
                problems += _cluster_row_problems(entry, schedule[name], f"{where}/{name}/{k}")
    return problems


def _cluster_row_problems(row: list, conditions: list, where: str) -> list[str]:
    if len(row) != len(conditions):
        return [f"{where}: {len(row)} periods given, the schedule has {len(conditions)}"]
    # 0 in an observed period is allowed: nobody was analysed there (a real trial's cell)
    return [
        f"{where}: period {period} is not observed in the schedule (null) but has individuals"
        for period, (m, condition) in enumerate(zip(row, conditions, strict=True), start=1)
        if condition is None and m
    ]


def _build(checked: Mapping) -> PowerSpec:
    design = checked["design"]
    schedule, clusters = design["schedule"], design["clusters_per_sequence"]
    sequences = tuple(schedule)
    pattern = np.array([[CODES[c] for c in schedule[s]] for s in sequences], dtype=float)
    counts = [clusters[s] for s in sequences]
    cluster_sequence = np.repeat(np.arange(len(sequences)), counts)
    treatment = pattern[cluster_sequence]
    observed = ~np.isnan(treatment)
    sizes_spec = design["individuals_per_cluster_period"]
    if isinstance(sizes_spec, Mapping):
        rows = []
        for s in sequences:
            for entry in sizes_spec[s]:
                rows.append(entry if isinstance(entry, list) else [entry] * len(schedule[s]))
        sizes = np.array([[m or 0 for m in row] for row in rows], dtype=float)
    else:
        sizes = np.full(treatment.shape, float(sizes_spec))
    sizes = np.where(observed, sizes, 0.0)
    effect = checked["effect"]
    analysis, simulation = checked["analysis"], checked["simulation"]
    return PowerSpec(
        sequences=sequences,
        cluster_sequence=cluster_sequence,
        treatment=treatment,
        sizes=sizes,
        cluster_size_cv=float(design["cluster_size_cv"]),
        dropout=float(design["dropout"]),
        sd=float(checked["outcome"]["sd"]),
        icc=float(checked["outcome"]["icc"]),
        cac=float(checked["outcome"]["cac"]),
        effects=tuple(float(e) for e in (effect if isinstance(effect, list) else [effect])),
        alpha=float(checked["alpha"]),
        df_method=analysis["df_method"],
        df=analysis["df"],
        size_draws=int(analysis["size_draws"]),
        sims=int(simulation["sims"]),
        seed=int(simulation["seed"]),
    )


def draw_sizes(spec: PowerSpec, rng: np.random.Generator) -> np.ndarray:
    """Recruited individuals per cluster-period for one trial (K x T).

    With ``cluster_size_cv = 0`` the spec's sizes; otherwise each cluster's
    sizes times a gamma factor (mean 1, CV ``cluster_size_cv``), rounded, at
    least 1 in each observed period.
    """
    if spec.cluster_size_cv == 0:
        return spec.sizes.copy()
    cv2 = spec.cluster_size_cv**2
    factor = rng.gamma(1.0 / cv2, cv2, spec.n_clusters)
    drawn = np.maximum(np.rint(spec.sizes * factor[:, None]), 1.0)
    return np.where(spec.sizes > 0, drawn, 0.0)
