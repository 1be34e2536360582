"""End-to-end ``trialanalysis fit`` and crossed-design fit time against R, in one run.

1. **fit command** on 30,600 rows (17 clinics × 600 patients × 3 visits,
   ``y ~ time * treatment + (1 | clinic_id/patient_id)``): wall time and
   peak memory of the whole command (start-up, read, fit, Satterthwaite,
   REML profile intervals, write) against ``Rscript`` doing lmer + lmerTest
   Satterthwaite summary + ``confint(m, parm = "theta_")``.
2. **crossed random intercepts** at InstEval size (lme4's ``InstEval``,
   exported to CSV here, ``y ~ service + (1|s) + (1|d) + (1|dept)``): fit
   time of ``fit_mixed`` (variance_ci="none") against ``lme4::lmer`` inside
   the same processes, REML criterion compared.

Both sides read the same CSV; each measurement is the median of
``--repeats`` runs; peak memory is the maximum resident set size reported
by ``/usr/bin/time -v``. Not a test: prints the ratios (ours / R).

Usage::

    python benchmarks/bench_fit_command.py [--repeats 3] [--skip-insteval]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA = "y ~ time * treatment + (1 | clinic_id/patient_id)"

R_FIT_COMMAND = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
m <- lmerTest::lmer(y ~ time * treatment + (1 | clinic_id/patient_id), data = d)
s <- summary(m)
ci <- confint(m, parm = "theta_", oldNames = FALSE, quiet = TRUE)
write.csv(coef(s), args[2]); write.csv(ci, args[3])
"""

R_INSTEVAL = r"""
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
if (args[1] == "export") {
  d <- InstEval[, c("y", "service", "s", "d", "dept")]
  d$service <- as.integer(d$service == "1")
  write.csv(d, args[2], row.names = FALSE)
} else {
  d <- read.csv(args[2])
  for (v in c("s", "d", "dept")) d[[v]] <- factor(d[[v]])
  t <- system.time(m <- lmer(y ~ service + (1 | s) + (1 | d) + (1 | dept), data = d))
  cat(sprintf("%.6f %.10f\n", t[["elapsed"]], REMLcrit(m)))
}
"""

PY_INSTEVAL = r"""
import sys, time
import pandas as pd
from trialanalysis import fit_mixed
d = pd.read_csv(sys.argv[1], dtype={"s": str, "d": str, "dept": str})
t = time.perf_counter()
fit = fit_mixed(d, "y ~ service + (1 | s) + (1 | d) + (1 | dept)", variance_ci="none")
print(f"{time.perf_counter() - t:.6f} {fit.deviance:.10f}")
"""


def simulate(seed: int = 11) -> pd.DataFrame:
    """17 clinics × 600 patients × 3 visits with clinic and patient random intercepts."""
    rng = np.random.default_rng(seed)
    clinic = np.repeat(np.arange(17), 600 * 3)
    patient = np.repeat(np.arange(17 * 600), 3)
    time_ = np.tile([0.0, 1.0, 2.0], 17 * 600)
    treatment = (clinic % 2).astype(float)
    y = (
        20
        - 1.5 * time_
        - 0.8 * time_ * treatment
        + rng.normal(0, 2, 17)[clinic]
        + rng.normal(0, 4, 17 * 600)[patient]
        + rng.normal(0, 5, clinic.size)
    )
    return pd.DataFrame(
        {
            "clinic_id": [f"c{c:02d}" for c in clinic],
            "patient_id": [f"p{p:05d}" for p in patient],
            "time": time_,
            "treatment": treatment,
            "y": np.round(y, 4),
        }
    )


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of a command run under /usr/bin/time -v."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return wall, int(peak.group(1)) / 1024 if peak else float("nan"), done.stdout


def alternating(commands: list[list[str]], repeats: int) -> list[list[tuple[float, float, str]]]:
    """Run the commands in turn ``repeats`` times (so both sides see the same machine load)."""
    runs: list[list[tuple[float, float, str]]] = [[] for _ in commands]
    for _ in range(repeats):
        for i, command in enumerate(commands):
            runs[i].append(timed(command))
    return runs


def median(values) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-insteval", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "clinic_patient_visit.csv"
        simulate().to_csv(csv, index=False)
        (tmp / "fit.R").write_text(R_FIT_COMMAND)
        r_cmd = ["Rscript", str(tmp / "fit.R"), str(csv), str(tmp / "r.csv"), str(tmp / "ci.csv")]
        py_cmd = [sys.executable, "-m", "trialanalysis", "fit", str(csv), "--formula", FORMULA]
        r_runs, py_runs = alternating([r_cmd, [*py_cmd, "-o", str(tmp / "py.csv")]], args.repeats)
        r_wall, r_mem = median(r[0] for r in r_runs), max(r[1] for r in r_runs)
        py_wall, py_mem = median(r[0] for r in py_runs), max(r[1] for r in py_runs)
        ratios = [p[0] / r[0] for p, r in zip(py_runs, r_runs, strict=True)]
        print(f"fit command, {len(pd.read_csv(csv))} rows (median of {args.repeats}):")
        print(f"  R (lmer + lmerTest + confint theta_): {r_wall:7.2f} s  peak {r_mem:7.0f} MB")
        print(f"  trialanalysis fit:                    {py_wall:7.2f} s  peak {py_mem:7.0f} MB")
        print(f"  ratio ours / R: time {py_wall / r_wall:.2f}  memory {py_mem / r_mem:.2f}")
        print(f"  per-pair time ratios: {', '.join(f'{x:.2f}' for x in ratios)}")
        print(pd.read_csv(tmp / "py_variance.csv").to_string(index=False))
        print(pd.read_csv(tmp / "ci.csv").to_string(index=False))
        if args.skip_insteval:
            return
        (tmp / "insteval.R").write_text(R_INSTEVAL)
        (tmp / "insteval.py").write_text(PY_INSTEVAL)
        ie = tmp / "insteval.csv"
        subprocess.run(["Rscript", str(tmp / "insteval.R"), "export", str(ie)], check=True)
        r_runs, py_runs = alternating(
            [
                ["Rscript", str(tmp / "insteval.R"), "fit", str(ie)],
                [sys.executable, str(tmp / "insteval.py"), str(ie)],
            ],
            args.repeats,
        )
        r_fit = median(float(r[2].split()[0]) for r in r_runs)
        py_fit = median(float(r[2].split()[0]) for r in py_runs)
        r_dev, py_dev = float(r_runs[0][2].split()[1]), float(py_runs[0][2].split()[1])
        print(f"InstEval crossed intercepts, {len(pd.read_csv(ie))} rows:")
        print(f"  lme4 fit:        {r_fit:7.2f} s  peak {max(r[1] for r in r_runs):7.0f} MB")
        print(f"  fit_mixed:       {py_fit:7.2f} s  peak {max(r[1] for r in py_runs):7.0f} MB")
        print(f"  ratio ours / R: {py_fit / r_fit:.2f}")
        print(
            f"  REML criterion: lme4 {r_dev:.8f}, ours {py_dev:.8f}, "
            f"relative difference {abs(py_dev - r_dev) / abs(r_dev):.2e}"
        )


if __name__ == "__main__":
    main()
