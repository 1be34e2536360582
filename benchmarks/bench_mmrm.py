"""Fit time of trialanalysis' MMRM (unstructured covariance) against nlme::gls.

PREPARE-shaped data (two arms, a baseline covariate, T follow-ups with
dropout) at about 200 patients x 4 visits and 1,000 patients x 6 visits. The
reference is ``nlme::gls`` with ``corSymm + varIdent`` (the same model),
timed inside Rscript (run through subprocess) on the same CSV; nlme has no
small-sample df for gls, so our Kenward-Roger timing is reported beside its
plain fit. Each timing is the median of ``--repeats`` runs, excluding data
loading.

Usage::

    python benchmarks/bench_mmrm.py [--repeats 3] [--out benchmarks/output/mmrm_benchmark.csv]

Not a test: it reports ratios (ours / R) and writes them to a CSV.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import median_time, ratio_rows, run_r_script, write_ratios

from trialanalysis import fit_mixed

FORMULA = "y ~ visit * arm + base * visit + us(visit | id)"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); repeats <- as.integer(args[2])
d$visit <- factor(d$visit); d$arm <- factor(d$arm); d$vnum <- as.integer(d$visit)
fit <- function() gls(y ~ visit * arm + base * visit, data = d,
                      correlation = corSymm(form = ~ vnum | id),
                      weights = varIdent(form = ~ 1 | visit), method = "REML")
cat(sprintf("%.6f\n", median(vapply(seq_len(repeats), function(i)
  system.time(fit())[["elapsed"]], 0))))
"""


def simulate(n_patients: int, n_visits: int, seed: int) -> pd.DataFrame:
    """Two arms, a baseline covariate, AR-type correlation, dropout after each visit."""
    rng = np.random.default_rng(seed)
    sds = np.linspace(8, 14, n_visits)
    lag = np.abs(np.subtract.outer(np.arange(n_visits), np.arange(n_visits)))
    cov = np.outer(sds, sds) * 0.7**lag
    arm = rng.integers(0, 2, n_patients)
    base = rng.normal(40, 9, n_patients)
    errors = rng.multivariate_normal(np.zeros(n_visits), cov, n_patients)
    y = 35 - 4 * arm[:, None] + 0.6 * (base[:, None] - 40) - np.arange(n_visits) + errors
    last = np.minimum(rng.geometric(0.12, n_patients), n_visits)
    rows = [(i, v) for i in range(n_patients) for v in range(last[i])]
    return pd.DataFrame(
        {
            "id": [f"p{i:05d}" for i, _ in rows],
            "visit": [f"v{v + 1:02d}" for _, v in rows],
            "arm": ["treat" if arm[i] else "control" for i, _ in rows],
            "base": [round(base[i], 2) for i, _ in rows],
            "y": [round(y[i, v], 3) for i, v in rows],
        }
    )


def time_r(csv: Path, repeats: int) -> float:
    return float(run_r_script(R_SCRIPT, str(csv), str(repeats))[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/output/mmrm_benchmark.csv")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n_patients, n_visits in ((200, 4), (1000, 6)):
            data = simulate(n_patients, n_visits, seed=n_patients)
            csv = Path(folder) / f"data_{n_patients}.csv"
            data.to_csv(csv, index=False)
            r_fit = time_r(csv, args.repeats)

            def contrasts(d=data, method="kenward-roger"):
                fit = fit_mixed(d, FORMULA, df_method=method)
                return fit.emmeans("arm", by="visit").contrast("revpairwise")

            ours = {
                "fit": median_time(lambda d=data: fit_mixed(d, FORMULA), args.repeats),
                "fit + Satterthwaite contrasts": median_time(
                    lambda: contrasts(method="satterthwaite"), args.repeats
                ),
                "fit + Kenward-Roger contrasts": median_time(contrasts, args.repeats),
            }
            rows += ratio_rows(
                ours,
                r_fit,
                "nlme::gls(corSymm + varIdent), fit only",
                rows=len(data),
                patients=n_patients,
                visits=n_visits,
            )
    write_ratios(rows, args.out)


if __name__ == "__main__":
    main()
