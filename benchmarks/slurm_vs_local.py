"""Wall time of the same workflow targets on two local cores and through SLURM.

Brings up the throw-away single-node SLURM cluster of the tests
(``tests/slurm/slurm_cluster.py``: needs root and the Debian packages
``slurm-wlm`` and ``munge``), runs the targets in two fresh copies of the
repository, once with ``snakemake --cores 2`` and once with ``snakemake
--profile profiles/slurm``, and reports both wall times, their ratio, how
many Snakemake jobs the run had, how many SLURM jobs it took, and whether the
result files are identical.

Run from the repository root::

    python benchmarks/slurm_vs_local.py [--targets power]
        [--power "{sims: 20, chunk_size: 2}"] [--out benchmarks/output/slurm_vs_local.csv]

``--power`` updates the ``power`` section of the copies' config (default: the
SLURM test's two scenarios, 20 simulations each in chunks of 2: 20 chunks).

On one node SLURM cannot be faster: the ratio is the price of the scheduler
(submission, status polling, a Snakemake start per job), which grouping keeps
small. Not a test: it measures and reports.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.slurm.slurm_cluster import (  # noqa: E402
    SNAKEMAKE_OPTIONS,
    SUBMITTED,
    SlurmCluster,
    unavailable_reason,
)
from tests.workflow.project import (  # noqa: E402
    TINY_POWER_GRID,
    copy_project,
    result_files,
    run_bounded,
    update_config,
    workflow_env,
)

GRID = {**TINY_POWER_GRID, "sims": 20}
STEPS = re.compile(r"(\d+) of (\d+) steps \(100%\) done")


def timed_run(workdir: Path, args: list[str], env: dict, timeout: float) -> tuple[float, str]:
    log = workdir / "snakemake.log"
    started = time.monotonic()
    code = run_bounded([sys.executable, "-m", "snakemake", *args], workdir, env, log, timeout)
    wall = time.monotonic() - started
    text = log.read_text()
    if code != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{text[-3000:]}")
    return wall, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["power"])
    parser.add_argument("--power", type=yaml.safe_load, default={}, help="power settings")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/output/slurm_vs_local.csv")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        raise SystemExit(reason)
    grid = {**GRID, **args.power}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        local = copy_project(tmp / "local")
        update_config(local, "power", grid)
        local_wall, local_log = timed_run(
            local, ["--cores", "2", *args.targets], workflow_env(), args.timeout
        )
        with SlurmCluster(tmp / "cluster") as cluster:
            remote = copy_project(tmp / "remote")
            update_config(remote, "power", grid)
            slurm_wall, slurm_log = timed_run(
                remote,
                ["--profile", "profiles/slurm", *SNAKEMAKE_OPTIONS, *args.targets],
                workflow_env(cluster.env),
                args.timeout,
            )
        steps = STEPS.findall(local_log)
        row = {
            "targets": " ".join(args.targets),
            "power": yaml.safe_dump(grid, default_flow_style=True).strip(),
            "snakemake_jobs": int(steps[-1][1]) if steps else 0,
            "slurm_jobs": len(SUBMITTED.findall(slurm_log)),
            "local_2_cores_s": round(local_wall, 1),
            "slurm_s": round(slurm_wall, 1),
            "slurm_over_local": round(slurm_wall / local_wall, 2),
            "identical_results": result_files(local) == result_files(remote),
        }
    table = pd.DataFrame([row])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.T.to_string(header=False))


if __name__ == "__main__":
    main()
