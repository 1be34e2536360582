"""Run the workflow as a user would, in a temporary copy of the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
