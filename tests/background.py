"""Child processes a test needs, started ahead of the test on the core the suite leaves idle.

The suite runs in one process and mostly keeps one core busy (Beam's in-process runner, torch on
one thread); CI has two. Some slow tests only wait on a child process that needs nothing from
the tests before it (a dry-run probe, a benchmark script, an `edumix curate` / `edumix demo` /
`edumix classifiers train` whose output the test then inspects). Such a test module defines

    def background_jobs(items, workdir) -> list[Job]

which conftest.py calls once when collection ends, with the module's selected tests and a
private directory (conftest.py queues the jobs of its own session fixtures, `real_run` and
`demo_mix_run`, the same way). The jobs run one after another, in collection order, in a helper
thread while the suite goes on. The test takes its job with `take(name)` and `wait()`s for it
(beam_helpers.finished_run for a curate job): a job the queue has not reached yet starts right
then, so a test run alone behaves as before, only with a child instead of an in-process call.
A job's timeout counts from when its test starts waiting, as a plain `subprocess.run(...,
timeout=...)` in the test would. Jobs still running when the session ends are killed (by their
own pid) and the directories removed.

Only work that is a command line, independent of earlier tests and read-only afterwards belongs
here: anything a test checks about the Python API (run_curate's return value, exceptions,
progress callbacks) stays in the test.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

_LOCK = threading.Lock()
_QUEUE: list[Job] = []
_JOBS: dict[str, Job] = {}


@dataclass
class Job:
    """One child process: argv run in `cwd` with `env`; stdout to `log`, stderr to `log`.err.
    The working directory and environment default to the ones at creation (collection's end),
    not whatever a test running when the job starts has monkeypatched."""

    name: str
    argv: list[str]
    log: Path
    cwd: Path | None = None
    env: dict[str, str] | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.cwd = Path(self.cwd or os.getcwd())
        self.env = dict(os.environ if self.env is None else self.env)

    def start(self) -> None:
        with _LOCK:
            if self.proc is not None:
                return
            with open(self.log, "wb") as out, open(self._err, "wb") as err:
                self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=out, stderr=err)

    @property
    def _err(self) -> Path:
        return self.log.with_name(self.log.name + ".err")

    def wait(self, timeout: float) -> tuple[int, str, str]:
        """(exit status, stdout, stderr); starts the job if the queue has not yet. Raises
        subprocess.TimeoutExpired (the child killed) after `timeout` seconds of waiting."""
        self.start()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return rc, self.log.read_text(errors="replace"), self._err.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def submit(jobs: list[Job]) -> None:
    """Run jobs one after another in a helper thread (conftest.py, once, when collection ends)."""
    for job in jobs:
        if job.name in _JOBS:
            raise ValueError(f"two background jobs named {job.name!r}")
        _JOBS[job.name] = job
    with _LOCK:
        _QUEUE.extend(jobs)
    if jobs:
        threading.Thread(target=_run_queue, name="edumix-test-background", daemon=True).start()


def _run_queue() -> None:
    while True:
        with _LOCK:
            if not _QUEUE:
                return
            job = _QUEUE.pop(0)
        job.start()  # a no-op when its test got there first
        job.proc.wait()


def register(job: Job) -> Job:
    """Make a job a fixture created itself (nothing queued it) known to `take`; not started."""
    if job.name in _JOBS:
        raise ValueError(f"two background jobs named {job.name!r}")
    _JOBS[job.name] = job
    return job


def take(name: str) -> Job | None:
    """The job queued under `name`, or None (the module's background_jobs did not queue it)."""
    return _JOBS.get(name)


def stop_all() -> None:
    """Kill what is still running (the session is over) and forget every job."""
    with _LOCK:
        _QUEUE.clear()
    for job in _JOBS.values():
        job.kill()
    _JOBS.clear()
