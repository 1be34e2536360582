"""A throw-away single-node SLURM cluster (munged, slurmctld, slurmd) for the tests.

Everything the daemons write (munge key, ``slurm.conf``, state and spool
folders, logs, sockets) lives in one folder; nothing in ``/etc`` is read or
changed. The daemons run in the foreground in their own process groups, so
stopping the cluster can always kill them, even when a daemon hangs and
ignores SIGTERM.

Clients find the cluster through :attr:`SlurmCluster.env`: ``SLURM_CONF``,
and a ``bin/`` folder first on ``PATH`` with one wrapper per client command
that sets ``SLURM_CONF`` again. The wrappers are needed because the
executor plugin's job step removes every ``SLURM_*`` variable before it calls
``srun`` inside a job; a real cluster keeps its ``slurm.conf`` where the
clients look without being told (``/etc/slurm`` or configless mode).

Run ``python tests/slurm/slurm_cluster.py DIR`` to bring a cluster up by hand
(Ctrl-C stops it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# how snakemake-executor-plugin-slurm reports a submission: (SLURM job id, its log)
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
# snakemake options for this cluster: it has no accounting database, so job
# states come from squeue (sacct cannot answer); poll it every second
SNAKEMAKE_OPTIONS = (
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "1",
)  # fmt: skip
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol", "srun", "sacct")


def unavailable_reason() -> str | None:
    """Say why no cluster can be started on this machine, or ``None`` if one can."""
    if sys.platform != "linux":
        return "SLURM test needs Linux"
    if os.geteuid() != 0:
        return "SLURM test needs root (slurmd must run as root); run it as root or in CI"
    missing = [name for name in (*DAEMONS, *CLIENTS) if shutil.which(name) is None]
    if missing:
        return (
            f"SLURM is not installed ({', '.join(missing)} not found); "
            "install the Debian packages slurm-wlm and munge (.ci/run does)"
        )
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after `grace`."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class SlurmCluster:
    """One controller and one compute node on this host, all state under `root`.

    Parameters
    ----------
    root : Path
        Empty folder for the cluster's files.
    cpus : int
        CPUs the node offers (default: all of this machine's).
    memory_mb : int
        Memory the node offers (default: 80 % of this machine's).
    """

    def __init__(self, root: Path, cpus: int | None = None, memory_mb: int | None = None):
        self.root = Path(root).resolve()
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        self.memory_mb = memory_mb or int(total_mb * 0.8)
        self.conf = self.root / "slurm.conf"
        self.logs = self.root / "log"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.bin = self.root / "bin"
        self.env = {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": os.pathsep.join([str(self.bin), os.environ.get("PATH", "")]),
        }
        self._processes: list[subprocess.Popen] = []

    # -- files -------------------------------------------------------------
    def _write_files(self) -> None:
        for sub in ("munge", "state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
            (self.root / sub).chmod(0o700)
        self.bin.mkdir(exist_ok=True)
        for name in CLIENTS:
            wrapper = self.bin / name
            wrapper.write_text(
                f'#!/bin/sh\nSLURM_CONF={self.conf} exec {shutil.which(name)} "$@"\n'
            )
            wrapper.chmod(0o755)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        r = self.root
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=trialanalysis-test",
                    f"SlurmctldHost={self.host}(127.0.0.1)",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    f"StateSaveLocation={r / 'state'}",
                    f"SlurmdSpoolDir={r / 'spool'}",
                    f"SlurmctldPidFile={r / 'slurmctld.pid'}",
                    f"SlurmdPidFile={r / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.logs / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.logs / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    # no slurmdbd: sacct cannot work, clients must use squeue
                    "AccountingStorageType=accounting_storage/none",
                    "JobCompType=jobcomp/none",
                    "SchedulerType=sched/builtin",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    # squeue keeps finished jobs this long; the executor reads states there
                    "MinJobAge=900",
                    "KillWait=5",
                    "InactiveLimit=0",
                    "SlurmdParameters=config_overrides",
                    f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} "
                    f"RealMemory={self.memory_mb} State=UNKNOWN",
                    f"PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    # -- daemons -----------------------------------------------------------
    def _spawn(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.out").open("ab")
        process = subprocess.Popen(
            [name, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.root,
            start_new_session=True,
        )
        log.close()
        self._processes.append(process)

    def _wait_for(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited: {self.tail_logs()}")
            if check():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} within {timeout:.0f} s: {self.tail_logs()}")

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster."""
        return subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def _node_state(self) -> str:
        try:
            out = self.run("sinfo", "--noheader", "--format=%T", timeout=10)
        except subprocess.TimeoutExpired:
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    def start(self, timeout: float = 60) -> SlurmCluster:
        """Write the files, start the three daemons, wait until the node is idle."""
        self._write_files()
        m = self.root / "munge"
        self._spawn(
            "munged",
            "--foreground",
            "--force",
            f"--key-file={m / 'munge.key'}",
            f"--socket={self.munge_socket}",
            f"--pid-file={m / 'munged.pid'}",
            f"--log-file={self.logs / 'munged.log'}",
            f"--seed-file={m / 'munged.seed'}",
        )
        self._wait_for("munged did not open its socket", self.munge_socket.exists, timeout)
        self._spawn("slurmctld", "-D", "-c", "-i", "-f", str(self.conf))
        self._spawn("slurmd", "-D", "-f", str(self.conf), "-N", self.host)
        self._wait_for(
            "the SLURM node did not become idle", lambda: self._node_state() == "idle", timeout
        )
        return self

    def stop(self) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged (killed if they hang)."""
        if self._processes and all(p.poll() is None for p in self._processes):
            try:
                self.run("scancel", "--full", "--user=root", timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for process in reversed(self._processes):
            _stop(process)
        self._processes.clear()

    def tail_logs(self, lines: int = 15) -> str:
        """The last lines of every daemon log, for failure messages."""
        parts = []
        for log in sorted(self.logs.glob("*")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def __enter__(self) -> SlurmCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    reason = unavailable_reason()
    if reason:
        sys.exit(reason)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.default_int_handler)
    with SlurmCluster(Path(sys.argv[1])) as cluster:
        print(f"export SLURM_CONF={cluster.conf} PATH={cluster.bin}:$PATH", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
