"""`edumix serve` against a real server process on loopback: the API, the job lifecycle
(succeed, cancel, interrupted by a killed server, restart) and the security rules."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import DEMO_NAME, Server, alive, free_port, kill_leftover_jobs, shared_demo_for


@pytest.fixture
def shared_demo(request):
    """The session's server with its succeeded demo run (serve_helpers.SharedDemo)."""
    return shared_demo_for(request)


@pytest.fixture
def servers(tmp_path):
    """start(*args, home=..., token=...) -> Server; every server (and its jobs) stopped at the end."""
    started: list[Server] = []
    (tmp_path / "root").mkdir()

    def start(*args: str, home: Path | None = None, token: str | None = None) -> Server:
        server = Server(home or tmp_path / "home", tmp_path / "server.log", *args, token=token)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    kill_leftover_jobs(tmp_path / "home")  # a child a test left behind (its server was killed)


@pytest.mark.slow
def test_demo_run_succeeds_and_is_reported(shared_demo):
    """The session's demo run (serve_helpers.SharedDemo: created through the API, followed to
    succeeded) as the list, the report, compare and the pages show it."""
    server, job_id = shared_demo.server, shared_demo.run_id
    print(f"demo run took {shared_demo.took:.1f}s")
    job = server.client.get(f"/api/runs/{job_id}").json()
    assert job["status"] == "succeeded", server.client.get(f"/api/runs/{job_id}/log").json()["log"][-3000:]
    assert job["summary"]["kept"] > 0 and job["summary"]["input_records"] > job["summary"]["kept"]
    assert job["workers"] == 1 and job["inputs"] == ["demo"]

    row = next(r for r in server.client.get("/api/runs").json() if r["id"] == job_id)
    assert row["status"] == "succeeded" and row["name"] == DEMO_NAME
    assert row["kept"] == job["summary"]["kept"] and row["tokens"] > 0 and row["records_in"] > 0
    assert len(row["config_hash"]) >= 8

    page = server.client.get(f"/api/runs/{job_id}/report.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "edumix mix report" in page.text
    cmp = server.client.get("/api/compare", params={"a": job_id, "b": job_id}).json()
    assert cmp["same_config"] and cmp["totals"]["kept"]["a"] == row["kept"]

    index = server.client.get("/")
    assert index.status_code == 200 and "demo &lt;b&gt;run&lt;/b&gt;" in index.text and "<b>run" not in index.text
    detail = server.client.get(f"/runs/{job_id}")
    assert detail.status_code == 200 and f"/api/runs/{job_id}/report.html" in detail.text
    assert "/api/runs" in server.client.get("/openapi.json").json()["paths"]


def test_refusals_write_nothing(servers, tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"text": "x"}\n')
    (root / "escape.jsonl").symlink_to(outside)
    server = servers("--root", str(root))
    jobs = server.home / "jobs"

    bad = server.create(config_yaml="filters:\n  no_such_rule: 1\n")
    assert bad.status_code == 422 and "filters.no_such_rule" in bad.json()["detail"]
    assert server.create(config_yaml="read: [1, 2]\n").status_code == 422

    for path in (str(outside), str(root / "escape.jsonl"), f"{root}/../outside.jsonl", "/etc/passwd"):
        refused = server.create(inputs=[path])
        assert refused.status_code == 403, (path, refused.text)
        assert "outside the allowed roots" in refused.json()["detail"] or "'..'" in refused.json()["detail"]

    huge = server.create(config_yaml="#" * 1_200_000)
    assert huge.status_code == 413
    form = server.client.post("/runs", data={"name": "f", "inputs": "demo", "config_yaml": "mix:\n  <oops>: 1\n"})
    assert (
        form.status_code == 422 and "mix.&lt;oops&gt;" in form.text and "<oops>" not in form.text.split("<textarea")[0]
    )
    # The training form's phases: `long` (like 2) needs a checkpoint to start from; an unknown one is refused.
    for phase, needle in (("long", "phase long starts from a training"), ("3", "phase: Input should be")):
        page = server.client.post("/trainings", data={"name": "f", "run": "r", "phase": phase, "config": "tiny"})
        assert page.status_code == 422 and needle in page.text, page.text[-2000:]
    assert server.client.get("/api/runs").json() == [] and server.client.get("/api/trainings").json() == []
    assert list(jobs.iterdir()) == []


@pytest.mark.slow
def test_cancel_stops_a_running_run(servers):
    server = servers()
    job_id = server.create().json()["id"]
    pid = server.wait_started(job_id)
    assert server.client.post(f"/api/runs/{job_id}/cancel").status_code == 200
    job = server.wait_status(job_id, {"cancelled", "succeeded", "failed"}, timeout=120)
    assert job["status"] == "cancelled"
    assert not (server.home / "jobs" / job_id / "run" / "manifest.json").exists()
    deadline = time.monotonic() + 30
    while alive(pid):
        assert time.monotonic() < deadline, "the curate process outlived its cancel"
        time.sleep(0.5)
    assert server.client.post(f"/api/runs/{job_id}/cancel").status_code == 409


@pytest.mark.slow
def test_killed_server_leaves_jobs_interrupted_and_restartable(servers):
    server = servers()
    job_id = server.create().json()["id"]
    pid = server.wait_started(job_id)
    server.stop(signal.SIGKILL)

    again = servers()
    job = again.client.get(f"/api/runs/{job_id}").json()
    assert job["status"] == "interrupted" and "server stopped" in job["error"]
    deadline = time.monotonic() + 30
    while alive(pid):  # the orphaned curate was stopped at start-up
        assert time.monotonic() < deadline, "the orphaned curate process still runs"
        time.sleep(0.5)
    restarted = again.client.post(f"/api/runs/{job_id}/restart")
    assert restarted.status_code == 200 and restarted.json()["status"] in ("queued", "running")
    again.wait_started(job_id)
    assert again.client.post(f"/api/runs/{job_id}/cancel").status_code == 200
    assert again.wait_status(job_id, {"cancelled", "failed", "succeeded"}, timeout=120)["status"] == "cancelled"


def test_public_host_needs_a_token(tmp_path):
    cmd = [sys.executable, "-m", "edumix.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    proc = subprocess.run([*cmd, "--home", str(tmp_path / "home")], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--token-file" in lines[0], proc.stderr
    assert not (tmp_path / "home").exists()


def test_token_is_required_and_never_shown(servers, tmp_path):
    token = "s3cret-token-" + "x" * 20
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    server = servers("--token-file", str(token_file), token=token)
    with httpx.Client(base_url=server.url, timeout=60) as anon:
        assert anon.get("/api/health").status_code == 401
        assert anon.get("/api/runs").status_code == 401
        assert anon.get("/").status_code == 401
        assert anon.get("/openapi.json").status_code == 401
        assert anon.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anon.post("/api/runs", json={"name": "x", "inputs": ["demo"]}).status_code == 401
        assert anon.get("/api/trainings").status_code == 401
        assert anon.post("/api/trainings", json={"name": "x", "run": "r"}).status_code == 401
        assert anon.get("/trainings/new").status_code == 401
        assert anon.get("/login", params={"token": "wrong"}).status_code == 401
        login = anon.get("/login", params={"token": token}, follow_redirects=False)
        assert login.status_code == 303
        page = anon.get("/")  # the cookie set by /login
        assert page.status_code == 200 and token not in page.text
    assert server.client.get("/api/health").status_code == 200
    server.stop()
    assert token not in server.log.read_text()
