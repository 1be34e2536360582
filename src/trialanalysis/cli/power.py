"""The ``trialanalysis power`` command: one spec in, one result table out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from trialanalysis.errors import ConfigError
from trialanalysis.power.analytic import analytic_power
from trialanalysis.power.simulate import simulation_power
from trialanalysis.power.spec import load_power_spec


def run_power(
    spec_path: str | Path,
    method: str,
    output: str | Path,
    sims: int | None = None,
    seed: int | None = None,
) -> Path:
    """Compute the power of a spec and write the result table as CSV.

    Parameters
    ----------
    spec_path : path
        Power spec (YAML).
    method : {"analytic", "simulation"}
    output : path
        CSV to write (its folder is created).
    sims, seed : int, optional
        Override ``simulation.sims`` and ``simulation.seed`` of the spec.

    Returns
    -------
    Path
        The file written.
    """
    from trialanalysis.steps.io import write_csv

    if sims is not None and sims < 1:
        raise ConfigError(f"--sims must be at least 1, got {sims}")
    if seed is not None and seed < 0:
        raise ConfigError(f"--seed must be 0 or more, got {seed}")
    spec = load_power_spec(spec_path)
    if seed is not None:
        spec = dataclasses.replace(spec, seed=seed)
    if method == "analytic":
        table = analytic_power(spec)
    else:
        table = simulation_power(spec, sims=sims, progress=True)
    output = Path(output)
    write_csv(table, output)
    return output
