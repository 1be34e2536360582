"""Simulation-based power: type I error with Kenward-Roger df, and speed on 1 and 2 cores.

The design is BetterBack's: 17 clinics in 3 allocation clusters (6/6/5) of a
dog-leg schedule over 4 periods, 10 patients per clinic-period, ICC 0.05,
SD 14, effect -4, analysed with Kenward-Roger df as the trial is.

1. Type I error, CI coverage and power (with Monte Carlo SEs) over ``--sims``
   simulated trials, against the analytic GLS power (normal and t on K - 2 df).
2. Simulations per second on one core, on two worker processes (the
   workflow's one-job-per-chunk split), and the speed-up from 1 to 2 cores.
3. The same fits in R (lme4 + lmerTest Kenward-Roger, on the same simulated
   data sets written to CSV), timed inside Rscript: the ratio ours / R.

Usage::

    python benchmarks/bench_power.py [--sims 1000] [--speed-sims 100] [--seed 1]
        [--out benchmarks/output/power_benchmark.csv]

Not a test: it reports numbers and ratios and writes them to a CSV. On a
shared machine the timings depend on the load (reported with them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from trialanalysis.power.analytic import analytic_power
from trialanalysis.power.simulate import (
    run_simulations,
    simulate_trial,
    simulation_stream,
    summarise_simulations,
)
from trialanalysis.power.spec import load_power_spec

SPEC = {
    "design": {
        "schedule": {
            "A": ["control", "intervention", None, None],
            "B": [None, "control", "intervention", None],
            "C": [None, None, "control", "intervention"],
        },
        "clusters_per_sequence": {"A": 6, "B": 6, "C": 5},
        "individuals_per_cluster_period": 10,
    },
    "outcome": {"sd": 14.0, "icc": 0.05, "cac": 1.0},
    "effect": -4.0,
    "analysis": {"df_method": "kenward-roger"},
}

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
files <- commandArgs(trailingOnly = TRUE)
data <- lapply(files, read.csv)
elapsed <- system.time(for (d in data) {
  fit <- lmerTest::lmer(y ~ factor(period) + treatment + (1 | cluster), data = d)
  s <- summary(fit, ddf = "Kenward-Roger")
})[["elapsed"]]
cat(sprintf("%.6f\n", elapsed))
"""


def _chunk(args):
    spec, scenario, indices = args
    return run_simulations(spec, scenario, indices)


def timed_runs(spec, n: int, workers: int) -> tuple[float, pd.DataFrame]:
    """Wall time of ``n`` simulations split into equal chunks over ``workers`` processes."""
    step = -(-n // workers)
    jobs = [(spec, "speed", range(i, min(n, i + step))) for i in range(0, n, step)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_chunk, jobs))
    return time.perf_counter() - start, pd.concat(parts, ignore_index=True)


def r_seconds(spec, n: int) -> float | None:
    """Seconds R needs for the same ``n`` fits (None without Rscript)."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i in range(n):
            path = Path(folder) / f"d{i}.csv"
            simulate_trial(spec, simulation_stream(spec.seed, "speed", i)).to_csv(
                path, index=False
            )
            files.append(str(path))
        script = Path(folder) / "fit.R"
        script.write_text(R_SCRIPT)
        run = subprocess.run(
            ["Rscript", str(script), *files], capture_output=True, text=True, check=True
        )
    return float(run.stdout.split()[-1])


def main() -> None:
    """Run the benchmark and write its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--speed-sims", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/output/power_benchmark.csv")
    args = parser.parse_args()
    spec = load_power_spec({**SPEC, "simulation": {"seed": args.seed}})
    rows = []
    start = time.perf_counter()
    sims = run_simulations(spec, "type1", range(args.sims))
    elapsed = time.perf_counter() - start
    summary = summarise_simulations(sims, spec).iloc[0]
    analytic = analytic_power(spec).set_index("method")["power"]
    for key in ("type1_error", "type1_mc_se", "coverage", "power", "power_mc_se", "df"):
        rows.append({"quantity": key, "value": summary[key]})
    rows += [
        {"quantity": "n_sims", "value": summary["n_sims"]},
        {"quantity": "n_failed", "value": summary["n_failed"]},
        {"quantity": "n_singular", "value": summary["n_singular"]},
        {"quantity": "analytic_power_z", "value": analytic["analytic-z"]},
        {"quantity": "analytic_power_t_df15", "value": analytic["analytic-t"]},
        {"quantity": "sims_per_second_1_core_type1_run", "value": args.sims / elapsed},
    ]
    one, first = timed_runs(spec, args.speed_sims, 1)
    two, second = timed_runs(spec, args.speed_sims, 2)
    pd.testing.assert_frame_equal(first, second)  # the split does not change the numbers
    rows += [
        {"quantity": "sims_per_second_1_core", "value": args.speed_sims / one},
        {"quantity": "sims_per_second_2_cores", "value": args.speed_sims / two},
        {"quantity": "speedup_1_to_2_cores", "value": one / two},
    ]
    r = r_seconds(spec, args.speed_sims)
    if r is not None:
        rows += [
            {"quantity": "r_lme4_kr_sims_per_second", "value": args.speed_sims / r},
            {"quantity": "ratio_ours_1_core_over_r_time", "value": one / r},
        ]
    rows.append({"quantity": "load_average_1min", "value": os.getloadavg()[0]})
    table = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
