"""The PostgreSQL job store (`edumix serve --db postgresql://...`) against a real PostgreSQL
server this test starts: a private cluster (initdb) in a temporary directory on a free
loopback port, trust authentication, stopped at the end. Skipped with the reason when
Debian's postgresql binaries (/usr/lib/postgresql/*/bin) or pg8000 are absent. As root (a
container), the server runs as the `postgres` user, which PostgreSQL requires."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from serve_helpers import FINAL, Server, free_port, kill_leftover_jobs

pytest.importorskip("pg8000", reason="pg8000 is not installed")
from edumix.service import storage as st


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres():
    """postgresql://edumix@127.0.0.1:PORT/edumix"""
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="edumix-pg-"))  # not under pytest's 0700 root-owned tmp
    data = base / "data"
    if as_user:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = free_port()
    log = base / "postgres.log"

    def pg(tool: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, str(bindir / tool), *args], capture_output=True, text=True, timeout=120)

    init = pg("initdb", "-D", str(data), "-U", "edumix", "--auth=trust", "-E", "UTF8", "--no-sync")
    assert init.returncode == 0, init.stderr
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = pg("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    assert started.returncode == 0, started.stderr + (log.read_text() if log.exists() else "")
    try:
        created = pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "edumix", "edumix")
        assert created.returncode == 0, created.stderr
        yield f"postgresql://edumix@127.0.0.1:{port}/edumix"
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_store_contract(postgres):
    """What the service relies on, on both stores alike."""
    with tempfile.TemporaryDirectory() as tmp:
        for store in (st.open_store(Path(tmp)), st.open_store(Path(tmp), postgres)):
            with contextlib.closing(store):
                assert store.schema_version() == st.SCHEMA_VERSION
                prefix = type(store).__name__
                run = store.create_job(f"{prefix}-r1", "a 'run'; --", {"inputs": ["demo"], "n": 1})
                assert run["status"] == st.QUEUED and run["kind"] == st.RUN and run["spec"]["n"] == 1
                time.sleep(0.01)
                store.create_job(f"{prefix}-t1", "t", {"phase": 1}, kind=st.TRAINING, parent=f"{prefix}-r1")
                store.update_job(f"{prefix}-r1", status=st.RUNNING, pid=123, summary={"kept": 5})
                job = store.get_job(f"{prefix}-r1")
                assert job["pid"] == 123 and job["summary"] == {"kept": 5} and job["name"] == "a 'run'; --"
                assert [j["id"] for j in store.list_jobs(kind=st.TRAINING, parent=f"{prefix}-r1")] == [f"{prefix}-t1"]
                assert [j["id"] for j in store.list_jobs(limit=1)] == [f"{prefix}-t1"]  # newest first
                with pytest.raises(ValueError):
                    store.update_job(f"{prefix}-r1", kind=st.TRAINING)
                with pytest.raises(ValueError):
                    store.update_job(f"{prefix}-r1", **{"status = 'x' --": 1})
                assert sorted(store.mark_interrupted_on_start("stopped")) == [f"{prefix}-r1", f"{prefix}-t1"]
                assert store.get_job(f"{prefix}-r1")["status"] == st.INTERRUPTED
                assert store.get_job("nope") is None
    again = st.open_store(Path("/nonexistent"), postgres)  # opening an existing database migrates nothing
    with contextlib.closing(again):
        assert again.get_job("PostgresJobStore-r1")["error"] == "stopped"


@pytest.mark.slow
def test_server_on_postgres(postgres, tmp_path):
    """A real server on the PostgreSQL store: a run that fails fast (a missing classifier file)
    goes queued -> running -> failed; a server killed and started again finds it there."""
    cmd = [sys.executable, "-m", "edumix.cli", "serve", "--db", postgres]
    if subprocess.run([*cmd, "--help"], capture_output=True, text=True).returncode != 0:
        pytest.skip("this edumix serve has no --db option")
    server = Server(tmp_path / "home", tmp_path / "server.log", "--db", postgres)
    try:
        created = server.create(name="on postgres", config_yaml="classify:\n  edu_model: /nonexistent/edu.ftz\n")
        assert created.status_code == 201, created.text
        job = server.wait_status(created.json()["id"], FINAL, timeout=180)
        assert job["status"] == "failed" and "exited with code" in job["error"]
        assert not (tmp_path / "home" / "jobs.sqlite").exists()
        assert job["id"] in {r["id"] for r in server.client.get("/api/runs").json()}
    finally:
        server.stop()
        kill_leftover_jobs(tmp_path / "home")
