"""The workflow through a real SLURM scheduler (``snakemake --profile profiles/slurm``).

A throw-away single-node cluster (munged, slurmctld, slurmd; see
``slurm_cluster.py``) runs the power workflow on a tiny grid (``snakemake
power``: validation, scoring, the BetterBack primary model, the power specs,
four simulation chunks as one group job, the summary) and one trial analysis
(the PREPARE mixed models). While the PREPARE models run, their SLURM job is
cancelled with ``scancel`` (a node lost under a job looks the same to
Snakemake); the profile's retries must resubmit it and the run must finish
with files identical, byte for byte, to a local run on two cores.

Skipped, with the reason, where SLURM cannot run: not root, or the Debian
packages ``slurm-wlm`` and ``munge`` not installed (``.ci/run`` installs
them). On a CI machine (``CI`` set) a cluster that does not start fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.slurm.slurm_cluster import (
    SNAKEMAKE_OPTIONS,
    SUBMITTED,
    SlurmCluster,
    unavailable_reason,
)
from tests.workflow.project import (
    TINY_POWER_GRID,
    copy_project,
    result_files,
    run_bounded,
    update_config,
    workflow_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

# each snakemake run (minutes on a quiet machine); the cluster has its own timeouts
HARD_TIMEOUT_S = 1200
CANCELLED_RULE = "prepare_effects"


TARGETS = ("power", "results/prepare/differences.csv")
# SLURM log folders of the plugin: rule_<rule>, group_<group>_<rules>
SLURM_JOBS = {
    "rule_validate": 1,
    "group_scoring_score": 1,
    "rule_betterback_patients": 1,
    f"rule_{CANCELLED_RULE}": 2,
    "rule_power_spec": 1,
    "rule_power_analytic": 1,
    "group_power_power_simulate_chunk": 1,
    "rule_power_aggregate": 1,
    "rule_power_report": 1,
}


def project_with_tiny_grid(target: Path) -> Path:
    workdir = copy_project(target)
    update_config(workdir, "power", TINY_POWER_GRID)
    return workdir


class Canceller(threading.Thread):
    """Cancel the first running SLURM job of `rule`, once, as a lost node would."""

    def __init__(self, cluster: SlurmCluster, rule: str, min_running_s: float = 3.0):
        super().__init__(daemon=True)
        self.cluster, self.comment, self.min_running_s = cluster, f"rule_{rule}", min_running_s
        self.cancelled: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.cancelled is None:
            queue = self.cluster.run("squeue", "--noheader", "--format=%i|%T|%k|%M")
            for line in queue.stdout.splitlines():
                job_id, state, comment, elapsed = line.split("|")
                running_s = sum(
                    int(x) * 60**i for i, x in enumerate(reversed(elapsed.split(":")))
                )  # fmt: skip
                if comment == self.comment and state == "RUNNING":
                    if running_s >= self.min_running_s:
                        self.cluster.run("scancel", job_id)
                        self.cancelled = job_id
                        return
            self.done.wait(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    # a SIGTERM to pytest (CI's outer timeout) becomes KeyboardInterrupt, so the
    # daemons are still stopped
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        try:
            cluster.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            if os.environ.get("CI"):
                pytest.fail(f"the SLURM test cluster did not start: {error}")
            pytest.skip(f"the SLURM test cluster did not start on this machine: {error}")
        yield cluster
    finally:
        cluster.stop()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The same targets locally (2 cores) and through SLURM, with one job cancelled."""
    goal = list(TARGETS)
    local = project_with_tiny_grid(tmp_path_factory.mktemp("local"))
    code = run_bounded(
        [sys.executable, "-m", "snakemake", "--cores", "2", *goal],
        local, workflow_env(), local / "snakemake.log", HARD_TIMEOUT_S,
    )  # fmt: skip
    assert code == 0, (local / "snakemake.log").read_text()[-3000:]

    remote = project_with_tiny_grid(tmp_path_factory.mktemp("remote"))
    canceller = Canceller(cluster, CANCELLED_RULE)
    canceller.start()
    try:
        code = run_bounded(
            [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
             *SNAKEMAKE_OPTIONS, *goal],
            remote, workflow_env(cluster.env), remote / "snakemake.log", HARD_TIMEOUT_S,
        )  # fmt: skip
    finally:
        canceller.done.set()
        canceller.join(timeout=10)
    log = (remote / "snakemake.log").read_text()
    assert code == 0, log[-4000:] + cluster.tail_logs()
    return local, remote, log, canceller.cancelled


def test_jobs_went_through_sbatch_and_the_scheduler(runs, cluster):
    _, remote, log, _ = runs
    submitted = SUBMITTED.findall(log)
    controller_log = (cluster.logs / "slurmctld.log").read_text()
    slurm_logs = remote / "results/logs/slurm"
    folders: dict[str, int] = {}
    for job_id, slurm_log in submitted:
        assert f"sched: Allocate JobId={job_id} " in controller_log
        path = Path(slurm_log)
        assert path.is_relative_to(slurm_logs) and path.is_file()
        folder = path.relative_to(slurm_logs).parts[0]
        folders[folder] = folders.get(folder, 0) + 1
    # one SLURM job for all score jobs and one for the four simulation chunks
    assert folders == SLURM_JOBS, log[-3000:]
    chunks = sorted((remote / "results/power/chunks").rglob("*.csv"))
    assert len(chunks) == 4
    assert log.count("rule power_simulate_chunk:") == 4


def test_a_cancelled_job_is_retried_and_the_run_completes(runs):
    _, remote, log, cancelled = runs
    assert cancelled is not None, "the models' SLURM job was never seen running"
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in log
    assert "Trying to restart job" in log
    retried = [job_id for job_id, path in SUBMITTED.findall(log) if CANCELLED_RULE in path]
    assert retried[0] == cancelled and len(retried) == 2
    assert (remote / "results/prepare/differences.csv").stat().st_size > 100


def test_slurm_results_equal_a_local_run_byte_for_byte(runs):
    local, remote, _, _ = runs
    local_files, remote_files = result_files(local), result_files(remote)
    assert {"prepare/differences.csv", "power/simulation.csv"} <= set(local_files)
    assert sorted(local_files) == sorted(remote_files)
    different = [name for name in local_files if local_files[name] != remote_files[name]]
    assert different == []


def test_the_cluster_stops_cleanly(tmp_path):
    """Bring-up and shutdown leave no daemon behind (its own tiny cluster)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = SlurmCluster(tmp_path / "c").start()
    processes = list(cluster._processes)
    started = time.monotonic()
    cluster.stop()
    assert all(p.poll() is not None for p in processes)
    assert time.monotonic() - started < 30
