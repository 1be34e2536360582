"""Run the workflow as a user would, in a temporary copy of the repository."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `power` settings of a tiny simulation grid: two scenarios (the observed
# design and one other) of two chunks of two simulations each
TINY_POWER_GRID = {
    "sims": 4,
    "chunk_size": 2,
    "scenarios": {
        "clusters_per_sequence": [2],
        "individuals_per_cluster_period": [3],
        "effects": [-4.0],
        "iccs": ["observed"],
    },
}


def workflow_env(extra: dict | None = None) -> dict:
    """This process's environment, with this checkout's package first on PYTHONPATH.

    The rule scripts then import this checkout's ``trialanalysis``, not
    whichever one is installed.
    """
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run snakemake as a user would: no --cores, the default profile supplies them."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        env=env or workflow_env(),
    )


def copy_project(target: Path) -> Path:
    """Copy what the workflow needs (not results, not .snakemake) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for item in ("Snakefile", "workflow", "profiles", "config", "data"):
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, target / item, symlinks=True)
        else:
            shutil.copy2(source, target / item)
    shutil.copytree(
        ROOT / "src" / "trialanalysis" / "schemas", target / "src/trialanalysis/schemas"
    )
    return target


def update_config(workdir: Path, section: str, values: dict) -> dict:
    """Update one section of the copy's config/config.yaml; return the whole config."""
    import yaml

    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config[section].update(values)
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return config


def run_bounded(args: list[str], cwd: Path, env: dict, log: Path, timeout: float) -> int:
    """Run a command in its own process group, output to `log`; return its exit code.

    After `timeout` seconds the whole group gets SIGTERM, then SIGKILL (a hung
    scheduler client does not stop on SIGTERM), and :class:`TimeoutError` is raised.
    """
    with log.open("w") as out:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(timeout=grace)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
    raise TimeoutError(f"{args} did not finish in {timeout} s:\n{log.read_text()[-3000:]}")


def result_files(workdir: Path) -> dict[str, bytes]:
    """Every file under results/ but the logs (they hold times and job ids), by path."""
    results = workdir / "results"
    return {
        str(p.relative_to(results)): p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.relative_to(results).parts[0] != "logs"
    }
