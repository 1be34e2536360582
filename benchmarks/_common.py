"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def median_time(func, repeats: int) -> float:
    """Median wall-clock seconds of ``func()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_r_script(script: str, *args: str) -> list[str]:
    """Run R code with ``Rscript`` and return the whitespace-separated words it printed.

    Raises
    ------
    RuntimeError
        With R's error output if ``Rscript`` fails.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "benchmark.R"
        path.write_text(script)
        result = subprocess.run(["Rscript", str(path), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Rscript failed:\n{result.stderr}")
    return result.stdout.split()
