"""Memory and run-time requests of the workflow's rules (``resources:`` in the rules).

A request is a fixed part (the Python interpreter with pandas, SciPy and
matplotlib loaded takes about 200 MB and a few seconds) plus a part that grows
with the size of the rule's input files, and it grows with every retry, so a
job that SLURM killed for running out of memory or time is resubmitted with
more. ``benchmarks/rule_resources.py`` measures what every rule uses on the
example data and on ten times as much.

Snakemake calls the returned functions with the job's ``input`` and
``attempt`` (1 for the first try).
"""

from __future__ import annotations

import math
from collections.abc import Callable


def _scaled(base: float, per_input_mb: float, minimum: int) -> Callable:
    def request(wildcards, input, attempt: int) -> int:
        size = base + per_input_mb * input.size_mb
        return max(minimum, math.ceil(size * attempt))

    return request


def memory_mb(base_mb: int = 1000, per_input_mb: float = 0.0) -> Callable:
    """Memory request in MB: ``(base_mb + per_input_mb * input MB) * attempt``.

    Parameters
    ----------
    base_mb : int
        Request for the rule on tiny input.
    per_input_mb : float
        Extra MB per MB of input files.

    Returns
    -------
    callable
        ``f(wildcards, input, attempt) -> int`` for a rule's ``resources: mem_mb=``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> memory_mb(1000, 20)(None, SimpleNamespace(size_mb=50), attempt=2)
    4000
    """
    return _scaled(base_mb, per_input_mb, minimum=base_mb)


def runtime_min(base_min: int = 10, per_input_mb: float = 0.0) -> Callable:
    """Wall-time request in minutes, ``(base_min + per_input_mb * input MB) * attempt``.

    The counterpart of :func:`memory_mb` for a rule's ``resources: runtime=``.
    """
    return _scaled(base_min, per_input_mb, minimum=base_min)
