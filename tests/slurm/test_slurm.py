"""The workflow through a real SLURM scheduler (``snakemake --profile profiles/slurm``).

A throw-away single-node cluster (munged, slurmctld, slurmd; see
``slurm_cluster.py``) runs one trial analysis: validation, the scoring jobs
(one group job, as the profile groups them) and the PREPARE mixed models.
While the models run, their SLURM job is cancelled with ``scancel`` (a node
lost under a job looks the same to Snakemake); the profile's retries must
resubmit it and the run must finish with files identical, byte for byte, to
a local run on two cores.

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
import yaml

from tests.slurm.slurm_cluster import SUBMITTED, SlurmCluster, unavailable_reason
from tests.workflow.project import ROOT, copy_project, result_files, run_bounded, workflow_env
from trialanalysis.config import validate_config
from trialanalysis.pipeline import table_keys

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

# the SLURM run; the cluster's own start and stop have their own timeouts
HARD_TIMEOUT_S = 900
CANCELLED_RULE = "prepare_effects"
# this machine's cluster has no accounting database: sacct cannot answer
SLURM_TEST_OPTIONS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
)


def targets() -> list[str]:
    """Every score table and the PREPARE mixed models (validate -> score -> fit)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text("utf-8"))
    config = validate_config(config, source="config")
    scored = [(t, n) for t, n in table_keys(config) if config[t]["instruments"].get(n)]
    return [f"results/scores/{t}/{n}.csv" for t, n in scored] + ["results/prepare/differences.csv"]


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
    goal = targets()
    local = copy_project(tmp_path_factory.mktemp("local"))
    code = run_bounded(
        [sys.executable, "-m", "snakemake", "--cores", "2", *goal],
        local, workflow_env(), local / "snakemake.log", HARD_TIMEOUT_S,
    )  # fmt: skip
    assert code == 0, (local / "snakemake.log").read_text()[-3000:]

    remote = copy_project(tmp_path_factory.mktemp("remote"))
    canceller = Canceller(cluster, CANCELLED_RULE)
    canceller.start()
    try:
        code = run_bounded(
            [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
             *SLURM_TEST_OPTIONS, *goal],
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
    # validate, one group job for all score jobs, the models twice (cancelled, retried)
    assert len(submitted) == 4, log[-3000:]
    controller_log = (cluster.logs / "slurmctld.log").read_text()
    for job_id, slurm_log in submitted:
        assert f"sched: Allocate JobId={job_id} " in controller_log
        path = Path(slurm_log)
        assert path.is_relative_to(remote / "results/logs/slurm") and path.is_file()
    folders = {Path(p).parent.name for _, p in submitted}
    assert folders == {"rule_validate", "group_scoring_score", f"rule_{CANCELLED_RULE}"}


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
    assert "prepare/differences.csv" in local_files
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
