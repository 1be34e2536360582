"""Simulation-based power: simulate trials from a spec and analyse each with ``fit_mixed``.

Each simulated trial draws the cluster sizes (:func:`~.spec.draw_sizes`),
the cluster, cluster-period and individual effects of the spec's variance
model and the dropout, and is analysed with the trial's model,
``y ~ C(period) + treatment + (1 | cluster) [+ (1 | cluster:period)]``
(REML; the cluster-period term when ``cac < 1`` and there is more than one
period), with the spec's df method.

Trials are simulated under the null (effect 0) and the estimate is shifted
for each effect: ``y + theta * X`` differs from ``y`` by a column of the
fixed-effects design, so the REML criterion, the variance estimates, the
standard error and the df are the same and the estimate moves by exactly
``theta``. One fit per trial therefore gives the power at every effect, the
type I error (the same trials at effect 0) and the coverage of the CI
(which is ``1 - type I error`` of the same trials, estimated at each effect).

Every simulation has its own random stream, derived from the seed, the
scenario name and the simulation's index, so any chunk of simulations can be
rerun alone and gives the same numbers.
"""

from __future__ import annotations

import sys
import warnings
import zlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.stats

from trialanalysis.errors import TrialAnalysisError
from trialanalysis.power.analytic import RESULT_COLUMNS
from trialanalysis.power.spec import PowerSpec, draw_sizes

SIM_COLUMNS = ["sim", "estimate", "std_error", "df", "converged", "singular", "failed", "message"]


def simulation_stream(seed: int, scenario: str, index: int) -> np.random.Generator:
    """Random generator of one simulated trial (stable across runs and chunkings)."""
    key = zlib.crc32(scenario.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence([seed, key, index]))


def simulate_trial(spec: PowerSpec, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated trial under the null, one row per individual with the outcome.

    Returns
    -------
    DataFrame
        ``cluster, period, treatment, y``.
    """
    var_c, var_cp, var_e = spec.variance_components()
    sizes = draw_sizes(spec, rng).astype(int)
    if spec.dropout > 0:
        sizes = rng.binomial(sizes, 1.0 - spec.dropout)
    k, t = np.nonzero(sizes)
    counts = sizes[k, t]
    cluster_effect = rng.normal(0.0, np.sqrt(var_c), spec.n_clusters)
    period_effect = rng.normal(0.0, np.sqrt(var_cp), len(k))
    cell = np.repeat(np.arange(len(k)), counts)
    y = cluster_effect[k[cell]] + period_effect[cell]
    y = y + rng.normal(0.0, np.sqrt(var_e), len(cell))
    return pd.DataFrame(
        {
            "cluster": np.char.add("k", (k[cell] + 1).astype(str)),
            "period": t[cell] + 1,
            "treatment": spec.treatment[k[cell], t[cell]],
            "y": y,
        }
    )


def analysis_formula(spec: PowerSpec) -> str:
    """Return the mixed-model formula each simulated trial is analysed with."""
    formula = "y ~ C(period) + treatment + (1 | cluster)"
    if spec.cac < 1 and spec.n_periods > 1:
        formula += " + (1 | cluster:period)"
    return formula


def analyse_trial(data: pd.DataFrame, spec: PowerSpec) -> dict:
    """Fit the analysis model; never raises for a failed fit (it is recorded)."""
    from trialanalysis.models import MixedModelConvergenceWarning, fit_mixed

    row = {"estimate": np.nan, "std_error": np.nan, "df": np.nan}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MixedModelConvergenceWarning)
            fit = fit_mixed(data, analysis_formula(spec), df_method=spec.df_method)
        table = fit.coefficients.set_index("term")
        if "treatment" not in table.index:
            raise TrialAnalysisError("treatment is not estimable in the simulated trial")
        effect = table.loc["treatment"]
    except (TrialAnalysisError, np.linalg.LinAlgError) as exc:
        return {**row, "converged": False, "singular": False, "failed": True, "message": str(exc)}
    converged = bool(fit.diagnostics["converged"])
    return {
        "estimate": float(effect["estimate"]),
        "std_error": float(effect["std_error"]),
        "df": float(effect["df"]),
        "converged": converged,
        "singular": bool(fit.diagnostics["singular"]),
        "failed": not converged,
        "message": "" if converged else "did not converge",
    }


def run_simulations(
    spec: PowerSpec, scenario: str, indices: Iterable[int], progress: bool = False
) -> pd.DataFrame:
    """Simulate and analyse the trials with the given indices.

    Parameters
    ----------
    spec : PowerSpec
    scenario : str
        Scenario name (part of every trial's seed).
    indices : iterable of int
        Simulation indices (e.g. ``range(0, 100)`` for a first chunk).
    progress : bool
        Show a progress bar on standard error.

    Returns
    -------
    DataFrame
        :data:`SIM_COLUMNS`, one row per simulated trial.
    """
    indices = list(indices)
    rows = []
    for done, index in enumerate(indices, start=1):
        data = simulate_trial(spec, simulation_stream(spec.seed, scenario, index))
        rows.append({"sim": index, **analyse_trial(data, spec)})
        if progress and (
            done == len(indices) or 100 * done // len(indices) > 100 * (done - 1) // len(indices)
        ):
            _progress(done, len(indices))
    return pd.DataFrame(rows, columns=SIM_COLUMNS)


def _progress(done: int, total: int, width: int = 30) -> None:
    filled = round(width * done / total)
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if done == total else ""
    print(f"\rsimulating [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)


def summarise_simulations(sims: pd.DataFrame, spec: PowerSpec) -> pd.DataFrame:
    """Power, type I error and coverage with Monte Carlo SEs, one row per effect.

    Failed fits (an error or no convergence) are counted in ``n_failed`` and
    left out of the estimates; singular fits are kept, as in the trial
    analysis, and counted in ``n_singular``. ``se_effect`` is the empirical
    SD of the estimates; ``mean_std_error`` the mean model-based SE.
    """
    ok = sims[~sims["failed"].astype(bool)]
    n = len(ok)
    estimate, se, df = (ok[c].to_numpy(float) for c in ("estimate", "std_error", "df"))
    crit = scipy.stats.t.ppf(1 - spec.alpha / 2, df) if n else np.array([])
    null_reject = np.abs(estimate / se) > crit

    def share(hits: np.ndarray) -> tuple[float, float]:
        if n == 0:
            return np.nan, np.nan
        p = float(hits.mean())
        return p, float(np.sqrt(p * (1 - p) / n))

    type1, type1_se = share(null_reject)
    rows = []
    for effect in spec.effects:
        power, power_se = share(np.abs((estimate + effect) / se) > crit)
        coverage, _ = share(~null_reject)
        rows.append(
            {
                "method": "simulation",
                "effect": effect,
                "power": power,
                "power_mc_se": power_se,
                "type1_error": type1,
                "type1_mc_se": type1_se,
                "coverage": coverage,
                "se_effect": float(np.std(estimate, ddof=1)) if n > 1 else np.nan,
                "df": float(np.mean(df)) if n else np.nan,
                "n_sims": len(sims),
                "n_failed": int(sims["failed"].astype(bool).sum()),
                "n_singular": int(ok["singular"].astype(bool).sum()),
                "mean_std_error": float(np.mean(se)) if n else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=[*RESULT_COLUMNS, "n_singular", "mean_std_error"])


def simulation_power(
    spec: PowerSpec, sims: int | None = None, scenario: str = "spec", progress: bool = False
) -> pd.DataFrame:
    """Simulate ``sims`` trials (default ``spec.sims``) and summarise them."""
    n = spec.sims if sims is None else sims
    return summarise_simulations(run_simulations(spec, scenario, range(n), progress), spec)
