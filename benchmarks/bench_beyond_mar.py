"""Time of the beyond-MAR and CACE computations against R on the same data.

Three timings, each the median of ``--repeats`` runs excluding data loading,
ours against R run by this script (Rscript through subprocess) on the same CSV:

- ``2sls``: :func:`trialanalysis.models.iv.two_stage_least_squares` with HC1
  SEs against ``AER::ivreg`` + ``sandwich::vcovHC(type = "HC1")``, on a
  simulated non-compliance trial of 200 and of 20,000 patients;
- ``delta_pool``: one delta of a delta-adjusted analysis (shift the imputed
  outcome of one arm, OLS ANCOVA on each of m = 20 completed data sets, Rubin
  pooling) against ``lm`` + ``mice::pool`` on the same completed data sets;
- ``lmm_kr``: one completed-data fit of the BetterBack primary model
  (``change ~ C(period) + treatment + baseline + (1 | clinic)``, Kenward-Roger
  df), the unit of cost of the BetterBack delta search (m fits per delta),
  against ``lmerTest::lmer`` + ``summary(ddf = "Kenward-Roger")``.

Usage::

    python benchmarks/bench_beyond_mar.py [--repeats 5] [--out benchmarks/output/beyond_mar.csv]

Not a test: it reports ratios (ours / R) and writes them to a CSV.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trialanalysis import fit_mixed
from trialanalysis.models.delta_adjust import pooled_at
from trialanalysis.models.iv import two_stage_least_squares

R_SCRIPT = r"""
suppressPackageStartupMessages({library(AER); library(sandwich); library(mice);
                                 library(lmerTest)})
args <- commandArgs(trailingOnly = TRUE)
what <- args[1]; d <- read.csv(args[2]); repeats <- as.integer(args[3])
run <- switch(what,
  "2sls" = function() {
    fit <- ivreg(y ~ baseline + received | baseline + arm, data = d)
    vcovHC(fit, type = "HC1")
  },
  "delta_pool" = function() {
    d$imputed <- as.logical(d$imputed)
    fits <- lapply(split(d, d$imputation), function(x) {
      x$y[x$imputed & x$arm == 1] <- x$y[x$imputed & x$arm == 1] + 5
      lm(y ~ arm + baseline, data = x)
    })
    summary(pool(as.mira(fits)))
  },
  "lmm_kr" = function() {
    fit <- lmer(change ~ factor(period) + treatment + baseline + (1 | clinic), data = d)
    summary(fit, ddf = "Kenward-Roger")
  })
cat(sprintf("%.6f\n", median(vapply(seq_len(repeats), function(i)
  system.time(run())[["elapsed"]], 0))))
"""


def trial(n: int, seed: int) -> pd.DataFrame:
    """Two arms, one-sided non-compliance, baseline covariate."""
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    received = (arm == 1) & (rng.binomial(20, 0.6, n) >= 12)
    baseline = rng.normal(40, 12, n)
    y = 0.6 * baseline - 8 * received + rng.normal(0, 8, n)
    return pd.DataFrame({"y": y, "arm": arm, "received": received.astype(int),
                         "baseline": baseline})  # fmt: skip


def completed(n: int, m: int, seed: int) -> pd.DataFrame:
    """m completed copies of a trial with 25% of y imputed (stacked, with the mask)."""
    rng = np.random.default_rng(seed)
    base = trial(n, seed)
    imputed = rng.random(n) < 0.25
    copies = []
    for j in range(m):
        y = base["y"].to_numpy().copy()
        y[imputed] = rng.choice(y[~imputed], imputed.sum())
        copies.append(base.assign(y=y, imputed=imputed, imputation=j + 1))
    return pd.concat(copies, ignore_index=True)


def clustered(n_clinics: int, per_clinic: int, seed: int) -> pd.DataFrame:
    """BetterBack-shaped: clinics, 4 periods, treatment switching by period."""
    rng = np.random.default_rng(seed)
    clinic = np.repeat(np.arange(n_clinics), per_clinic)
    period = rng.integers(1, 5, len(clinic))
    treatment = (period > 1 + clinic % 3).astype(int)
    baseline = rng.normal(28, 14, len(clinic))
    change = -10 + 0.3 * baseline - 3 * treatment + rng.normal(0, 3, n_clinics)[clinic]
    change += rng.normal(0, 12, len(clinic))
    labels = [f"c{c:02d}" for c in clinic]
    return pd.DataFrame({"clinic": labels, "period": period, "treatment": treatment,
                         "baseline": baseline, "change": change})  # fmt: skip


def ours(what: str, data: pd.DataFrame, repeats: int) -> float:
    if what == "2sls":

        def run():
            two_stage_least_squares(data, "y", ["received"], ["arm"], ["baseline"], vcov="HC1")

    elif what == "delta_pool":
        tables = [g.drop(columns=["imputation", "imputed"]) for _, g in data.groupby("imputation")]
        mask = data[data["imputation"] == 1][["imputed"]].rename(columns={"imputed": "y"})
        mask.index = tables[0].index
        rows = tables[0]["arm"].to_numpy() == 1

        def analyse(table):
            fit = two_stage_least_squares(table, "y", ["arm"], ["arm"], ["baseline"], "classical")
            return fit.coefficients[["term", "estimate", "std_error", "df"]]

        def run():
            pooled_at(tables, mask, rows, analyse, "arm", 5.0)

    else:
        formula = "change ~ C(period) + treatment + baseline + (1 | clinic)"

        def run():
            fit = fit_mixed(data, formula, df_method="kenward-roger", variance_ci="none")
            return fit.coefficients

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def reference(what: str, path: Path, repeats: int) -> float:
    script = path.parent / "bench.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(script), what, str(path), str(repeats)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/output/beyond_mar.csv")
    args = parser.parse_args()
    cases = [
        ("2sls", "n = 200", trial(200, 1)),
        ("2sls", "n = 20,000", trial(20_000, 2)),
        ("delta_pool", "n = 200, m = 20", completed(200, 20, 3)),
        ("lmm_kr", "17 clinics x 25 patients", clustered(17, 25, 4)),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for what, size, data in cases:
            path = Path(folder) / f"{what}.csv"
            data.to_csv(path, index=False)
            mine = ours(what, data, args.repeats)
            theirs = reference(what, path, args.repeats)
            rows.append({"task": what, "size": size, "ours_s": mine, "r_s": theirs,
                         "ratio": mine / theirs if theirs > 0 else np.nan})  # fmt: skip
            print(f"{what:11s} {size:26s} ours {mine:8.4f} s  R {theirs:8.4f} s")
    table = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
