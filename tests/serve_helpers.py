"""What the `edumix serve` tests share: a real server process on loopback (`Server`), the
clean-up of job processes a killed server left behind (the browser: tests/browser.py), and
one finished demo run for the whole session (`shared_demo_for`).

A module gets it with a thin fixture calling `shared_demo_for(request)`. The demo curate
is most of the serve tests' time (~25-35 s on 2 cores), so one server with one succeeded demo
run serves test_serve.py's run checks, the trainings, the browser test's training and the queue
tests; a test that needs an empty home starts its own server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 120  # a cold import of edumix + FastAPI on a busy machine
RUN_TIMEOUT = 900  # the demo curate takes ~20-40 s alone; CI machines are shared
FINAL = {"succeeded", "failed", "cancelled", "interrupted"}
DEMO_NAME = "demo <b>run</b>"  # the shared run's name: the pages must escape it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


class Server:
    def __init__(self, home: Path, log: Path, *args: str, token: str | None = None):
        self.port = free_port()
        self.home = home
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.log = log
        cmd = [sys.executable, "-m", "edumix.cli", "serve", "--port", str(self.port), "--home", str(home), *args]
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.client = httpx.Client(base_url=self.url, headers=self.headers, timeout=60)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.poll() is None, f"server exited {self.proc.returncode}: {log.read_text()[-2000:]}"
            try:
                if self.client.get("/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server not healthy after {START_TIMEOUT}s: {log.read_text()[-2000:]}"
            time.sleep(0.3)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)

    def create(self, **body) -> httpx.Response:
        return self.client.post("/api/runs", json={"name": "t", "inputs": ["demo"], **body})

    def wait_status(self, job_id: str, wanted: set[str], timeout: float = RUN_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.get(f"/api/runs/{job_id}").json()
            if job["status"] in wanted:
                return job
            log = self.client.get(f"/api/runs/{job_id}/log").json()["log"]
            assert time.monotonic() < deadline, f"{job_id} still {job['status']}: {log[-3000:]}"
            time.sleep(1)

    def wait_started(self, job_id: str) -> int:
        """The curate child's pid, shortly after it starts (the demo run takes 20+ s, so it is
        still running; the log is no signal: its first lines come late in the run)."""
        self.wait_status(job_id, {"running"}, timeout=120)
        time.sleep(2)
        return job_pid(self.home, job_id)


def job_pid(home: Path, job_id: str) -> int:
    with contextlib.closing(sqlite3.connect(home / "jobs.sqlite")) as db:
        (pid,) = db.execute("SELECT pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return pid


def kill_leftover_jobs(home: Path) -> None:
    """SIGKILL the process group of any job a test left behind (its server was killed)."""
    db_path = home / "jobs.sqlite"
    if not db_path.exists():
        return
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        pids = [pid for (pid,) in db.execute("SELECT pid FROM jobs WHERE pid IS NOT NULL")]
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


class SharedDemo:
    """One server (inputs confined to `root`) with one succeeded demo run, `run_id`, made through
    its API. `server` is replaced when a test kills it (`restart_server`); tests read it anew."""

    def __init__(self, base: Path):
        self.home, self.log, self.root = base / "home", base / "server.log", base / "root"
        self.root.mkdir()
        # The default slots: one curate run and one training at once, in separate queues.
        self.args = ("--root", str(self.root))
        self.server = Server(self.home, self.log, *self.args)
        started = time.monotonic()
        created = self.server.create(name=DEMO_NAME, workers=1)
        assert created.status_code == 201, created.text
        self.run_id = created.json()["id"]
        self.job = self.server.wait_status(self.run_id, FINAL)
        self.took = time.monotonic() - started
        assert self.job["status"] == "succeeded", self.server.client.get(f"/api/runs/{self.run_id}/log").json()["log"]

    def restart_server(self) -> Server:
        self.server = Server(self.home, self.log, *self.args)
        return self.server

    def run_dir(self) -> Path:
        return self.home / "jobs" / self.run_id / "run"

    def stop(self) -> None:
        self.server.stop()
        kill_leftover_jobs(self.home)


_shared: list = []  # [SharedDemo] or [the exception its start raised]: once per session


def shared_demo_for(request: pytest.FixtureRequest) -> SharedDemo:
    """The session's SharedDemo, made on first use and stopped when the session ends. Each
    module declares a thin `shared_demo` fixture calling this (a fixture defined once here and
    imported by several modules would be one per module, so several demo runs)."""
    if not _shared:
        try:
            demo = SharedDemo(request.getfixturevalue("tmp_path_factory").mktemp("serve_shared"))
        except BaseException as e:
            _shared.append(e)
            raise
        _shared.append(demo)
        request.config.add_cleanup(demo.stop)
        print(f"shared demo run ready in {demo.took:.1f}s")
    if isinstance(_shared[0], BaseException):
        raise RuntimeError("the shared demo server failed to start earlier in this session") from _shared[0]
    return _shared[0]
