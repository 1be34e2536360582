"""The SLURM profile turns a power grid of 20,000 simulations into tens of SLURM jobs.

A dry run with the profile (no scheduler needed) lists the group jobs
Snakemake would submit: one per ``group-components`` chunk jobs of a group.
"""

import math
import re

import pytest
import yaml

from tests.workflow.project import copy_project, snakemake, update_config
from trialanalysis.config import validate_config
from trialanalysis.steps.power import n_chunks, resolve_settings, scenario_ids

pytestmark = pytest.mark.slow

GRID = {
    "sims": 4000,
    "chunk_size": 50,
    "scenarios": {
        "clusters_per_sequence": [3, 10],
        "individuals_per_cluster_period": [5, 20],
        "effects": [-2.0, -3.0, -4.0, -5.0],
        "iccs": ["observed"],
    },
}


def test_a_grid_of_20000_simulations_is_tens_of_slurm_jobs(tmp_path):
    workdir = copy_project(tmp_path / "grid")
    config = update_config(workdir, "power", GRID)
    settings = resolve_settings(validate_config(config, source="config"))
    chunks = len(scenario_ids(settings)) * n_chunks(settings)
    assert chunks * GRID["chunk_size"] >= 20_000

    profile = yaml.safe_load((workdir / "profiles/slurm/config.yaml").read_text("utf-8"))
    per_job = profile["group-components"][profile["groups"]["power_simulate_chunk"]]
    dry = snakemake(workdir, "-n", "--profile", "profiles/slurm", "power")
    assert dry.returncode == 0, dry.stderr[-3000:]
    output = dry.stdout + dry.stderr
    grouped = re.findall(r"Group job power \(jobs in lexicogr\. order\)", output)
    chunk_jobs = re.findall(r"^\s+rule power_simulate_chunk:", output, flags=re.M)
    assert len(chunk_jobs) == chunks
    assert len(grouped) == math.ceil(chunks / per_job)
    assert 10 <= len(grouped) <= 99  # tens of SLURM jobs, not hundreds
