"""Fit time of trialanalysis' mixed-model engine against lme4 / lmerTest / pbkrtest.

Clinic/patient/visit data (17 clinics, 4 visits per patient, random
intercepts for clinic and patient) at about 2,000 and 30,000 rows. Each
timing is the median of ``--repeats`` runs, excluding data loading; R is
timed inside Rscript (run through subprocess) on the same CSV.

Usage::

    python benchmarks/bench_mixed.py [--repeats 3] [--out benchmarks/output/mixed_benchmark.csv]

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

FORMULA = "y ~ visit + treatment + baseline + (1 | clinic_id) + (1 | clinic_id:patient_id)"

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); repeats <- as.integer(args[2]); with_kr <- args[3] == "yes"
f <- y ~ visit + treatment + baseline + (1 | clinic_id) + (1 | clinic_id:patient_id)
med <- function(fun) {
  median(vapply(seq_len(repeats), function(i) system.time(fun())[["elapsed"]], 0))
}
t_fit <- med(function() lme4::lmer(f, data = d))
t_satt <- med(function() summary(lmerTest::lmer(f, data = d)))
t_kr <- NA
if (with_kr) t_kr <- med(function() summary(lmerTest::lmer(f, data = d), ddf = "Kenward-Roger"))
cat(sprintf("%.6f %.6f %.6f\n", t_fit, t_satt, t_kr))
"""


def simulate(n_patients: int, seed: int) -> pd.DataFrame:
    """Clinic/patient/visit data with a cluster-period treatment and a baseline covariate."""
    rng = np.random.default_rng(seed)
    clinic = rng.integers(0, 17, size=n_patients)
    clinic_effect = rng.normal(0, 2, size=17)
    patient_effect = rng.normal(0, 4, size=n_patients)
    treatment = rng.integers(0, 2, size=n_patients)
    baseline = rng.uniform(20, 60, size=n_patients)
    rows = np.repeat(np.arange(n_patients), 4)
    visit = np.tile(np.arange(4), n_patients)
    y = (
        10
        + 0.6 * baseline[rows]
        - 4 * treatment[rows]
        - visit
        + clinic_effect[clinic[rows]]
        + patient_effect[rows]
        + rng.normal(0, 6, size=len(rows))
    )
    return pd.DataFrame(
        {
            "clinic_id": [f"c{c:02d}" for c in clinic[rows]],
            "patient_id": [f"p{p:05d}" for p in rows],
            "visit": [f"v{v}" for v in visit],
            "treatment": treatment[rows],
            "baseline": baseline[rows].round(2),
            "y": y.round(4),
        }
    )


def time_r(csv: Path, repeats: int, with_kr: bool) -> list[float]:
    words = run_r_script(R_SCRIPT, str(csv), str(repeats), "yes" if with_kr else "no")
    return [float("nan") if x == "NA" else float(x) for x in words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/output/mixed_benchmark.csv")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n_patients, with_kr in ((500, True), (7500, False)):
            data = simulate(n_patients, seed=n_patients)
            csv = Path(folder) / f"data_{n_patients}.csv"
            data.to_csv(csv, index=False)
            ours = {
                "fit": median_time(lambda d=data: fit_mixed(d, FORMULA), args.repeats),
                "fit + Satterthwaite": median_time(
                    lambda d=data: fit_mixed(d, FORMULA).coefficients, args.repeats
                ),
            }
            if with_kr:
                ours["fit + Kenward-Roger"] = median_time(
                    lambda d=data: fit_mixed(d, FORMULA, df_method="kenward-roger").coefficients,
                    args.repeats,
                )
            r_fit, r_satt, r_kr = time_r(csv, args.repeats, with_kr)
            reference = {"fit": r_fit, "fit + Satterthwaite": r_satt, "fit + Kenward-Roger": r_kr}
            labels = {
                "fit": "lme4::lmer",
                "fit + Satterthwaite": "lmerTest::lmer + summary",
                "fit + Kenward-Roger": "lmerTest summary(ddf='Kenward-Roger')",
            }
            rows += ratio_rows(ours, reference, labels, rows=len(data))
    write_ratios(rows, args.out)


if __name__ == "__main__":
    main()
