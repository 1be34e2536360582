"""Provenance: what went into a run, so a reviewer can trace every number.

Everything here is deterministic for the same inputs, config, code and
environment, except the run timestamp, which :func:`run_stamp` produces
separately so the report can isolate it in one marked place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = (
    "trialanalysis",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pingouin",
    "matplotlib",
    "snakemake",
    "pandera",
    "pyreadstat",
    "openpyxl",
    "jinja2",
    "python-docx",
    "jsonschema",
    "pyyaml",
)


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(paths: Iterable[str | Path], root: str | Path | None = None) -> pd.DataFrame:
    """Tabulate size and SHA-256 of files.

    Parameters
    ----------
    paths : iterable of path
    root : path, optional
        Paths are shown relative to this folder when given.

    Returns
    -------
    DataFrame
        Columns ``file, bytes, sha256``, sorted by file.
    """
    rows = []
    for path in paths:
        path = Path(path)
        shown = path.relative_to(root) if root is not None else path
        rows.append(
            {"file": shown.as_posix(), "bytes": path.stat().st_size, "sha256": sha256(path)}
        )
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"]).sort_values(
        "file", ignore_index=True
    )


def package_versions(packages: Iterable[str] = PACKAGES) -> pd.DataFrame:
    """Tabulate installed versions of the packages the analysis depends on."""
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        rows.append({"package": name, "version": version})
    return pd.DataFrame(rows)


def git_state(repository: str | Path = ".") -> dict[str, str]:
    """Return the git commit of the code and whether tracked files were modified.

    Returns ``{"commit": "unknown", "dirty": "unknown"}`` outside a git
    checkout (e.g. an unpacked archive).
    """

    def run(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repository, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = run("rev-parse", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "dirty": "unknown"}
    return {"commit": commit, "dirty": "yes" if dirty else "no"}


def run_stamp() -> str:
    """Return the current UTC time, ISO 8601 to the second (the one volatile value)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
