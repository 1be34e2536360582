"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd


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


def ratio_rows(
    ours: Mapping[str, float],
    reference: float | Mapping[str, float],
    label: str | Mapping[str, str],
    **columns,
) -> list[dict]:
    """One row per task: our median seconds, the reference's, their ratio and what it ran.

    Parameters
    ----------
    ours : mapping of str to float
        Task -> our median seconds.
    reference : float or mapping of str to float
        The reference's median seconds, one for all tasks or per task.
    label : str or mapping of str to str
        What the reference ran, one for all tasks or per task.
    **columns
        Columns put first in every row (data size, ...).
    """
    rows = []
    for task, seconds in ours.items():
        theirs = reference[task] if isinstance(reference, Mapping) else reference
        rows.append(
            {
                **columns,
                "task": task,
                "trialanalysis_s": seconds,
                "r_s": theirs,
                "ratio": seconds / theirs,
                "r_reference": label[task] if isinstance(label, Mapping) else label,
            }
        )
    return rows


def write_ratios(rows: list[dict], out: str | Path) -> None:
    """Write the benchmark rows to CSV and print them."""
    table = pd.DataFrame(rows)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"written to {out}")
