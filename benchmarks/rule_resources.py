"""Peak memory and wall time of every workflow job against the resources its rule declares.

Runs the workflow on the example data in a temporary copy of the repository
(``--cores 2``), samples the memory of every job's process tree every 0.2 s
with psutil and prints, per rule, the largest peak RSS and wall time seen
next to the ``mem_mb`` and ``runtime`` the rule requests (read from a dry
run). The ratio column is requested / used: it must stay above 1 for a job
not to be killed by SLURM's memory limit.

Run from the repository root::

    python benchmarks/rule_resources.py [--out benchmarks/output/rule_resources.csv]
        [--config data_dir=/path/to/bigger/data]

Not a test: it measures and reports.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.workflow.project import copy_project, workflow_env  # noqa: E402

# a rule's script runs as `python .../.snakemake/scripts/tmpXXXX.<script>.py`
SCRIPT = re.compile(r"\.snakemake/scripts/tmp[^/]*?\.(\w+)\.py$")
JOB = re.compile(r"^(?:local)?rule (\w+):|^\s+resources: (.*)$")


def snakemake_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def declared_resources(workdir: Path, env: dict, extra: list[str]) -> pd.DataFrame:
    """mem_mb and runtime of every job, largest per rule (after a run: inputs exist)."""
    dry = subprocess.run(
        snakemake_command("-n", "--forceall", "--cores", "2", *extra),
        cwd=workdir, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows, rule = [], None
    for line in (dry.stdout + dry.stderr).splitlines():
        match = JOB.match(line)
        if not match:
            continue
        if match.group(1):
            rule = match.group(1)
        elif rule:
            res = dict(kv.split("=", 1) for kv in match.group(2).split(", ") if "=" in kv)
            rows.append(
                {"rule": rule, **{k: float(res.get(k, "nan")) for k in ("mem_mb", "runtime")}}
            )
            rule = None
    return pd.DataFrame(rows).groupby("rule").max()


def script_name(process: psutil.Process) -> str | None:
    try:
        for part in process.cmdline():
            match = SCRIPT.search(part)
            if match:
                return match.group(1)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return None


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(workdir: Path, env: dict, extra: list[str]) -> pd.DataFrame:
    """Run the workflow and sample every job's process tree."""
    log = (workdir / "benchmark_run.log").open("w")
    run = subprocess.Popen(
        snakemake_command("--cores", "2", *extra),
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    root = psutil.Process(run.pid)
    seen: dict[int, dict] = {}
    while run.poll() is None:
        for child in root.children(recursive=True):
            name = script_name(child) if child.pid not in seen else seen[child.pid]["script"]
            if name is None:
                continue
            record = seen.setdefault(
                child.pid, {"script": name, "start": time.monotonic(), "peak": 0}
            )
            try:
                record["peak"] = max(record["peak"], tree_rss(child))
            except psutil.NoSuchProcess:
                continue
            record["end"] = time.monotonic()
        time.sleep(0.2)
    log.close()
    if run.returncode != 0:
        err = (workdir / "benchmark_run.log").read_text()
        raise SystemExit(f"workflow failed:\n{err[-3000:]}")
    rows = [
        {
            "script": r["script"],
            "peak_rss_mb": r["peak"] / 2**20,
            "wall_s": r.get("end", r["start"]) - r["start"],
        }
        for r in seen.values()
    ]
    return pd.DataFrame(rows).groupby("script").max()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/output/rule_resources.csv")
    parser.add_argument("--config", nargs="*", default=[], help="snakemake --config overrides")
    args = parser.parse_args()
    extra = ["--config", *args.config] if args.config else []
    env = workflow_env()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = copy_project(Path(tmp))
        used = measure(workdir, env, extra)
        declared = declared_resources(workdir, env, extra)
    # the script of rule `score` is score.py, and so on: one script per rule
    table = declared.join(used, how="left")
    table["mem_ratio"] = table["mem_mb"] / table["peak_rss_mb"]
    table["runtime_ratio"] = table["runtime"] * 60 / table["wall_s"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.round(2).to_csv(args.out)
    print(table.round(2).to_string())


if __name__ == "__main__":
    main()
