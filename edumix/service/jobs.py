"""Jobs as supervised child processes: curate runs (`python -m edumix.cli curate ...`) and
trainings (`... tokenizer train`, then `... pretrain`; see trainings.py).

A child process, not a thread: a run keeps its own memory, Beam's workers and its SIGTERM
cleanup (curate removes its staging files on the way out), and a crash in it cannot take the
server down. Curate runs (CPU jobs) and trainings (GPU jobs) have a queue each, with their own
slot count (`max_jobs` runs and `max_trainings` trainings at once; the rest wait, FIFO per
kind), so a training waiting for the GPU never holds back a curate run, nor a run a training.
Each child gets
its own process group, so a cancel can also reach Beam's multi-processing workers. A job may
be several commands run one after another (a phase-1 training trains its tokenizer first); a
cancel between two of them starts no more.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from edumix.core.run_dir import MANIFEST, REPORT, read_json
from edumix.report.compare import final_tokens
from edumix.service import dataflow as df
from edumix.service import storage as st
from edumix.service import trainings

log = logging.getLogger(__name__)

DEMO = "demo"  # the literal input meaning "the generated demo crawl"
LOG_FILE = "job.log"
CONFIG_FILE = "config.yaml"


def new_job_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def beam_args(workers: int) -> list[str]:
    if workers <= 1:
        return []  # the in-process FnApiRunner, as `edumix curate` runs by default
    return ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]


def report_summary(run_dir: Path) -> dict[str, Any] | None:
    """The list's numbers from a finished run's report.json (None before it is finished)."""
    if not (run_dir / MANIFEST).is_file():
        return None
    try:
        report = read_json(run_dir, REPORT)
    except (OSError, ValueError):
        return None
    return _numbers(report)


def _numbers(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_records": report.get("input_records"),
        "kept": report.get("kept"),
        "dropped_total": report.get("dropped_total"),
        "tokens": final_tokens(report),
        "config_hash": report.get("config_hash"),
        "accounting_ok": report.get("accounting_ok"),
    }


def remote_report_summary(output: str) -> dict[str, Any] | None:
    """report_summary of a run directory read through Beam's FileSystems (gs://), or None."""
    try:
        read_json(output, MANIFEST)  # written last: the run finished
        report = read_json(output, REPORT)
    except Exception as e:  # noqa: BLE001 - any filesystem or credential error: no numbers
        log.warning("cannot read the report in %s: %s", output, e)
        return None
    return _numbers(report)


def dataflow_summary(log_path: Path, spec: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """A finished Dataflow child: (summary, complete). Complete when the CLI printed the job
    description (a dry run, or a job not waited for) or Beam logged the job it created (the
    CLI then waited for it: with exit code 0, it ran to its report). The report's numbers
    are read from the gs:// output through Beam's FileSystems, with this server's
    credentials; when that fails the run keeps its job id and the page shows the path."""
    job = df.job_from_log(log_path, spec)
    if job and job["description"]:
        return {"dataflow_job": job}, True
    if job is None or spec["dataflow"].get("dry_run"):
        return None, False
    output = spec["dataflow"]["output"]
    report = remote_report_summary(output) or {}
    return {**report, "dataflow_job": job, "report_json": f"{output.rstrip('/')}/{REPORT}"}, True


class JobManager:
    """Owns the child processes; every status change goes through the store."""

    def __init__(
        self, store: st.JobStore, home: Path, max_jobs: int = 1, grace_s: float = 10.0, max_trainings: int = 1
    ):
        self.store = store
        self.jobs_dir = home / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        # Every run's per-document results (curate --cache): a restarted run resumes, and a run
        # that differs from an earlier one only in later settings (mix, tiers) reuses its work.
        self.cache_dir = home / "cache"
        self.slots = {st.RUN: max(1, max_jobs), st.TRAINING: max(1, max_trainings)}
        self.max_jobs = self.slots[st.RUN]
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._queues: dict[str, collections.deque[str]] = {kind: collections.deque() for kind in st.KINDS}
        self._procs: dict[str, subprocess.Popen] = {}
        self._running: dict[str, str] = {}  # job id -> kind, of the jobs holding a slot
        self._cancelled: set[str] = set()

    # -- paths ---------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def run_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "run"

    def log_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / LOG_FILE

    def ckpt_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / trainings.CKPT_DIR

    # -- start-up ------------------------------------------------------------
    def recover(self) -> list[str]:
        """A previous server that died (SIGKILL, power loss) left jobs marked queued/running.
        Their children cannot be supervised any more: stop any still alive, then mark them all
        `interrupted` (POST .../restart runs one again)."""
        for job in self.store.list_jobs(limit=10_000):
            if job["status"] == st.RUNNING and job["pid"]:
                self._stop_orphan(job["id"], job["pid"])
        return self.store.mark_interrupted_on_start("the server stopped while this job was queued or running")

    def _stop_orphan(self, job_id: str, pid: int) -> None:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return  # gone (or no /proc): nothing to stop
        mine = str(self.job_dir(job_id)).encode()
        if not any(arg == mine or arg.startswith(mine + b"/") for arg in cmdline):
            return  # the pid now belongs to another process
        log.warning("stopping orphaned process %d of job %s", pid, job_id)
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)
        _signal_group(pid, signal.SIGKILL)

    # -- queue ---------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        """Queue a job behind the others of its kind (run or training)."""
        kind = self.store.get_job(job_id)["kind"]
        with self._lock:
            self._queues[kind].append(job_id)
        self._pump()

    def _queued(self, job_id: str) -> collections.deque[str] | None:
        return next((q for q in self._queues.values() if job_id in q), None)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per kind: its slots, the jobs holding one and the jobs waiting."""
        with self._lock:
            return {
                kind: {
                    "slots": self.slots[kind],
                    "running": sum(1 for k in self._running.values() if k == kind),
                    "queued": len(self._queues[kind]),
                }
                for kind in st.KINDS
            }

    def restart(self, job_id: str) -> bool:
        """Queue a finished job again; False while it is still queued or its process still exits."""
        with self._lock:
            if job_id in self._procs or self._queued(job_id) is not None:
                return False
        job = self.store.get_job(job_id)
        self.store.update_job(
            job_id,
            status=st.QUEUED,
            started=None,
            finished=None,
            pid=None,
            exit_code=None,
            error=None,
            summary=None if job["kind"] == st.RUN else job["summary"],  # a training keeps its numbers
        )
        with self._lock:
            self._cancelled.discard(job_id)
        self.submit(job_id)
        return True

    def cancel(self, job_id: str) -> bool:
        """A queued job leaves the queue; a running one gets SIGTERM, then SIGKILL after the
        grace period. False when the job is already finished."""
        with self._lock:
            waiting = self._queued(job_id)
            if waiting is not None:
                waiting.remove(job_id)
                self.store.update_job(job_id, status=st.CANCELLED, finished=time.time())
                return True
            proc = self._procs.get(job_id)
            if proc is None:
                return False
            self._cancelled.add(job_id)
        try:
            os.kill(proc.pid, signal.SIGTERM)  # curate unwinds and removes its staging files
        except ProcessLookupError:
            pass
        threading.Thread(target=self._kill_after_grace, args=(proc,), daemon=True).start()
        return True

    def _kill_after_grace(self, proc: subprocess.Popen) -> None:
        try:
            proc.wait(self.grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)

    def active(self) -> int:
        with self._lock:
            return len(self._procs)

    def shutdown(self) -> None:
        """Server stop: queued jobs are interrupted, running children get SIGTERM (then SIGKILL)."""
        with self._lock:
            queued = [job_id for q in self._queues.values() for job_id in q]
            for q in self._queues.values():
                q.clear()
            procs = dict(self._procs)
        for job_id in queued:
            self.store.update_job(job_id, status=st.INTERRUPTED, finished=time.time(), error="the server stopped")
        for job_id, proc in procs.items():
            self.store.update_job(job_id, error="the server stopped")
            with self._lock:
                self._cancelled.add(job_id)
            _signal_group(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            self._kill_after_grace(proc)

    def _pump(self) -> None:
        """Start queued jobs while their kind has a free slot (each kind independently)."""
        while True:
            with self._lock:
                kind = next(
                    (
                        k
                        for k, q in self._queues.items()
                        if q and sum(1 for r in self._running.values() if r == k) < self.slots[k]
                    ),
                    None,
                )
                if kind is None:
                    return
                job_id = self._queues[kind].popleft()
                try:
                    cmds = self._commands(self.store.get_job(job_id))
                    proc = self._spawn(job_id, cmds[0])
                except (OSError, KeyError, ValueError) as e:
                    self.store.update_job(job_id, status=st.FAILED, finished=time.time(), error=f"cannot start: {e}")
                    continue
                self.store.update_job(job_id, status=st.RUNNING, started=time.time(), pid=proc.pid)
                self._procs[job_id] = proc
                self._running[job_id] = kind
            threading.Thread(
                target=self._supervise, args=(job_id, proc, cmds[1:]), daemon=True, name=f"job-{job_id}"
            ).start()

    def _commands(self, job: dict[str, Any]) -> list[list[str]]:
        """The argument lists a job runs, in order."""
        job_id, spec = job["id"], job["spec"]
        if job["kind"] == st.TRAINING:
            init = spec.get("init")
            init_ckpt = self.ckpt_dir(init["training"]) / init["checkpoint"] if init else None
            return trainings.commands(spec, self.job_dir(job_id), self.run_dir(spec["run"]), init_ckpt)
        run_dir = self.run_dir(job_id)
        cmd = [sys.executable, "-m", "edumix.cli", "curate"]
        for path in spec["input_paths"]:
            cmd += ["-i", path]
        config = str(self.job_dir(job_id) / CONFIG_FILE)
        if spec.get("runner") == df.DATAFLOW:
            # The CLI with the validated Dataflow options. No --cache: the per-document cache
            # is a local directory for the local runner (curate refuses it for remote runners).
            options = spec["dataflow"]
            cmd += ["-o", options["output"], "-c", config]
            # A restart of a submitted run replaces what its first attempt wrote (a log exists
            # once an attempt started); -v: Beam logs the id of the job it creates at INFO.
            if not options.get("dry_run"):
                if options.get("overwrite") or self.log_path(job_id).exists():
                    cmd.append("--overwrite")
                cmd.append("-v")
            return [cmd + list(spec["beam_args"])]
        cmd += ["-o", str(run_dir), "-c", config, "--cache", str(self.cache_dir)]
        if run_dir.exists():  # a restart: replace what the interrupted attempt left
            cmd.append("--overwrite")
        return [cmd + beam_args(spec.get("workers", 1))]

    def _spawn(self, job_id: str, cmd: list[str]) -> subprocess.Popen:
        # COLUMNS: the CLI prints through rich, which wraps at 80 columns off a terminal; the
        # Dataflow job description is read back from the log line by line.
        env = {**os.environ, "EDUMIX_PROGRESS": "0", "COLUMNS": "4000"}
        with open(self.log_path(job_id), "ab") as logf:
            logf.write(f"$ {' '.join(cmd)}\n".encode())
            logf.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                cwd=self.job_dir(job_id),
                env=env,
                start_new_session=True,  # its own process group: a cancel reaches Beam's workers too
                close_fds=True,
            )
        return proc

    def _supervise(self, job_id: str, proc: subprocess.Popen, rest: list[list[str]]) -> None:
        code = proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # any worker left behind by the step
        for cmd in rest:  # the job's next commands, while each succeeds and no cancel came
            if code != 0:
                break
            with self._lock:  # a cancel either sees the next process or stops it from starting
                if job_id in self._cancelled:
                    break
                try:
                    proc = self._spawn(job_id, cmd)
                except OSError as e:
                    log.warning("job %s: cannot start %s: %s", job_id, cmd[3:5], e)
                    code = -1
                    break
                self._procs[job_id] = proc
            self.store.update_job(job_id, pid=proc.pid)
            code = proc.wait()
            _signal_group(proc.pid, signal.SIGKILL)
        with self._lock:
            self._procs.pop(job_id, None)
            self._running.pop(job_id, None)
            cancelled = job_id in self._cancelled
            self._cancelled.discard(job_id)
        job = self.store.get_job(job_id)
        if job["kind"] == st.TRAINING:
            summary = trainings.summary(self.job_dir(job_id), job["spec"].get("steps_total"))
            complete = summary["latest_checkpoint"] is not None
            what = "training"
        elif job["spec"].get("runner") == df.DATAFLOW:
            summary, complete = dataflow_summary(self.log_path(job_id), job["spec"])
            what = "curate on Dataflow"
        else:
            summary = report_summary(self.run_dir(job_id))
            complete = summary is not None
            what = "curate"
        if cancelled:
            status, error = st.CANCELLED, None
        elif code == 0 and complete:
            status, error = st.SUCCEEDED, None
        else:
            status, error = st.FAILED, f"{what} exited with code {code}; see the log"
        if cancelled and job and job["error"] == "the server stopped":
            status, error = st.INTERRUPTED, job["error"]
        self.store.update_job(
            job_id, status=status, finished=time.time(), exit_code=code, pid=None, error=error, summary=summary
        )
        self._pump()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # start_new_session: the group id is the child's pid
    except (ProcessLookupError, PermissionError):
        pass


def tail(path: Path, max_bytes: int = 64_000) -> str:
    """The end of a log file, decoded leniently."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return text if size <= max_bytes else text.split("\n", 1)[-1]
