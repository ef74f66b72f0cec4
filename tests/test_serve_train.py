"""Trainings as `edumix serve` jobs, against a real server process on loopback: a tiny phase-1
training from a demo run, its loss curve, lineage and generate box, phase 2 from its checkpoint,
refused configs, cancel, and a training interrupted by a killed server; and an old jobs.sqlite
migrated on open."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_helpers import Server, alive, job_pid, shared_demo_for

# A model of ~20k parameters: a phase takes a few seconds on one CPU core.
SMALL = """\
model: {dim: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 128, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 4, grad_accum: 1}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2}
steps: 12
eval_every: 6
eval_batches: 1
ckpt_every: 6
log_every: 1
phases:
  2: {steps: 4, optim: {lr: 3.0e-3, min_lr: 3.0e-4, warmup_steps: 1}}
  long:
    steps: 4
    model: {max_seq_len: 256, rope_base: 50000.0}
    data: {seq_len: 64}
    long: {curriculum: [{until_step: 2, seq_len: 32}]}
"""
LONG = SMALL.replace("steps: 12", "steps: 200000").replace("ckpt_every: 6", "ckpt_every: 5")
FINAL = {"succeeded", "failed", "cancelled", "interrupted"}
TRAIN_TIMEOUT = 300


@pytest.fixture
def demo(request):
    """The session's server with its succeeded demo run (serve_helpers.SharedDemo): the demo
    curate is most of these tests' time. `demo.server` is replaced when a test kills it."""
    return shared_demo_for(request)


def train(server: Server, **body):
    return server.client.post("/api/trainings", json={"name": "t", **body})


def wait_training(server: Server, job_id: str, wanted: set[str], timeout: float = TRAIN_TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = server.client.get(f"/api/trainings/{job_id}").json()
        if job["status"] in wanted:
            return job
        if time.monotonic() > deadline:
            log = server.client.get(f"/api/trainings/{job_id}/log").json()["log"]
            raise AssertionError(f"{job_id} still {job['status']}: {log[-3000:]}")
        time.sleep(0.5)


def wait_steps(server: Server, job_id: str, steps: int, timeout: float = 120) -> dict:
    """The training once pretrain has logged `steps` steps (so it is past the tokenizer)."""
    deadline = time.monotonic() + timeout
    while True:
        job = server.client.get(f"/api/trainings/{job_id}").json()
        assert job["status"] in ("queued", "running"), job
        if (job["step"] or 0) >= steps:
            return job
        assert time.monotonic() < deadline, server.client.get(f"/api/trainings/{job_id}/log").json()["log"][-3000:]
        time.sleep(0.3)


def wait_log(server: Server, job_id: str, pattern: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        log = server.client.get(f"/api/trainings/{job_id}/log").json()["log"]
        if re.search(pattern, log):
            return log
        assert time.monotonic() < deadline, f"no {pattern!r} in the log: {log[-3000:]}"
        time.sleep(0.3)


def job_dirs(home: Path) -> set[str]:
    return {p.name for p in (home / "jobs").iterdir()}


@pytest.mark.slow
def test_phase1_curve_lineage_generate_then_phase2(demo):
    server, run_id = demo.server, demo.run_id
    started = time.monotonic()
    created = train(server, name="tiny <i>one</i>", run=run_id, config_yaml=SMALL, vocab_size=400, device="cpu")
    assert created.status_code == 201, created.text
    t1 = created.json()
    assert t1["phase"] == 1 and t1["steps_total"] == 12 and t1["source_run"]["id"] == run_id
    t1 = wait_training(server, t1["id"], FINAL)
    assert t1["status"] == "succeeded", server.client.get(f"/api/trainings/{t1['id']}/log").json()["log"][-3000:]
    print(f"phase 1 took {time.monotonic() - started:.1f}s")
    s = t1["summary"]
    assert s["step"] == 12 and s["loss"] < s["loss_first"] and s["tokens_per_s"] > 0 and s["params"] > 0
    assert [c["name"] for c in t1["checkpoints"]] == ["step-00000006", "step-00000012"]

    # Lineage: the checkpoint's meta.json agrees with the run's manifest; the run lists the training.
    run = server.client.get(f"/api/runs/{run_id}").json()
    for key in ("config_hash", "input_fingerprint", "recipe_hash"):
        assert run["lineage"][key] and t1["lineage"][key] == run["lineage"][key] == t1["source_run"]["lineage"][key]
    assert t1["id"] in [t["id"] for t in run["trainings"]]
    assert t1["lineage"]["train_config_hash"] == t1["train_config_hash"]

    page = server.client.get(f"/trainings/{t1['id']}").text
    assert "tiny &lt;i&gt;one&lt;/i&gt;" in page and "<i>one" not in page
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S).group(0)
    assert "<polyline" in svg and len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 12
    assert svg.count('class="eval"') == 2 and "<script" not in page.lower()
    assert f'href="/runs/{run_id}"' in page and f'href="/api/runs/{run_id}/report.html#mix"' in page
    assert run["lineage"]["recipe_hash"] in page and "step-00000012" in page
    run_page = server.client.get(f"/runs/{run_id}").text
    assert f'href="/trainings/{t1["id"]}"' in run_page and run["lineage"]["input_fingerprint"] in run_page
    assert "default-src 'none'" in server.client.get(f"/trainings/{t1['id']}").headers["content-security-policy"]

    # The generate box: JSON and the form, the output escaped.
    prompt = "<b>the</b> & river"
    form = server.client.post(
        f"/trainings/{t1['id']}/generate",
        data={"prompt": prompt, "max_new_tokens": "8", "temperature": "0", "checkpoint": "step-00000006"},
    )
    assert form.status_code == 200, form.text[-2000:]
    output = form.text.split('<pre class="gen">')[1].split("</pre>")[0]
    assert output.startswith("&lt;b&gt;the&lt;/b&gt; &amp; river") and "<b>" not in form.text
    bad = server.client.post(f"/api/trainings/{t1['id']}/generate", json={"prompt": "x", "checkpoint": "../ckpt"})
    assert bad.status_code == 422

    # The generation worker keeps the model: the second generate on a checkpoint does not load it.
    ask = {"prompt": "the river", "max_new_tokens": 8, "temperature": 0, "checkpoint": "step-00000012"}
    first = server.client.post(f"/api/trainings/{t1['id']}/generate", json=ask)
    assert first.status_code == 200, first.text
    second = server.client.post(f"/api/trainings/{t1['id']}/generate", json=ask).json()
    first = first.json()
    assert second["model_cached"] and second["model_loads"] == first["model_loads"], (first, second)
    assert second["text"] == first["text"] and first["text"].startswith("the river")
    # ... and answers what `edumix generate` prints for the same arguments.
    cli = subprocess.run(
        [sys.executable, "-m", "edumix.cli", "generate", "--ckpt", str(server.home / "jobs" / t1["id"] / "ckpt")]
        + ["--prompt", "the river", "--max-new-tokens", "8", "--temperature", "0", "--no-stream", "--no-compile"]
        + ["--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and cli.stdout.rstrip("\n") == first["text"], (cli.stdout, cli.stderr, first)

    # Phase 2 from the phase-1 checkpoint (the run defaults to the init training's).
    started = time.monotonic()
    created = train(server, name="phase two", phase=2, init_training=t1["id"], init_checkpoint="step-00000012")
    assert created.status_code == 201, created.text
    t2 = wait_training(server, created.json()["id"], FINAL)
    assert t2["status"] == "succeeded", server.client.get(f"/api/trainings/{t2['id']}/log").json()["log"][-3000:]
    print(f"phase 2 took {time.monotonic() - started:.1f}s")
    assert t2["steps_total"] == 4 and t2["summary"]["step"] == 4 and t2["run"] == run_id
    assert t2["init"] == {"training": t1["id"], "checkpoint": "step-00000012"}
    assert t2["lineage"]["init_from"]["step"] == 12
    assert t2["lineage"]["init_from"]["path"].endswith(f"{t1['id']}/ckpt/step-00000012")
    page2 = server.client.get(f"/trainings/{t2['id']}").text
    assert f'href="/trainings/{t1["id"]}"' in page2 and f'href="/runs/{run_id}"' in page2
    assert t2["id"] in server.client.get(f"/api/trainings/{t1['id']}").json()["continued_by"]
    listed = server.client.get("/api/trainings").json()
    assert [t["id"] for t in listed][:2] == [t2["id"], t1["id"]]
    assert not (server.home / "jobs" / run_id / "run" / "tokens").exists()  # nothing written into the run
    assert all(r["id"] != t1["id"] for r in server.client.get("/api/runs").json())

    # The long-context phase from the phase-2 checkpoint, with its init's config (phases.long applies).
    created = train(server, name="long ctx", phase="long", init_training=t2["id"])
    assert created.status_code == 201, created.text
    assert created.json()["steps_total"] == 4 and created.json()["phase"] == "long"
    t3 = wait_training(server, created.json()["id"], FINAL)
    log = server.client.get(f"/api/trainings/{t3['id']}/log").json()["log"]
    assert t3["status"] == "succeeded", log[-3000:]
    assert t3["summary"]["step"] == 4 and t3["init"] == {"training": t2["id"], "checkpoint": "step-00000004"}
    assert t3["lineage"]["init_from"]["step"] == 4 and " --phase long " in log and " tokenizer train " not in log
    meta = json.loads((server.home / "jobs" / t3["id"] / "ckpt" / "step-00000004" / "meta.json").read_text())
    assert meta["phase"] == "long" and meta["model_config"]["max_seq_len"] == 256
    assert meta["model_config"]["rope_base"] == 50000.0
    page3 = server.client.get(f"/trainings/{t3['id']}").text
    assert "<th>phase</th><td>long</td>" in page3 and f'href="/trainings/{t2["id"]}"' in page3
    new = server.client.get("/trainings/new", params={"init_training": t2["id"]}).text
    assert '<option value="long">' in new
    gen = server.client.post(f"/api/trainings/{t3['id']}/generate", json={"prompt": "a", "max_new_tokens": 4})
    assert gen.status_code == 200 and not gen.json()["model_cached"], gen.text  # another checkpoint: loaded


@pytest.mark.slow
def test_refused_trainings_write_nothing(demo):
    server, run_id = demo.server, demo.run_id
    before = job_dirs(server.home)
    count = len(server.client.get("/api/trainings").json())

    def refused(status: int, needle: str, **body) -> None:
        response = train(server, **{"run": run_id, **body})
        assert response.status_code == status, (body, response.text)
        assert needle in json.dumps(response.json()), (needle, response.text)

    refused(422, "optim.lr", config_yaml=SMALL.replace("lr: 1.0e-2", "lr: -1"))
    refused(422, "model.no_such_knob", config_yaml=SMALL.replace("rope_base:", "no_such_knob: 1, rope_base:"))
    refused(422, "not valid YAML", config_yaml="model: [1,\n")
    refused(422, "config", config="../../etc/passwd")
    refused(422, "unknown training config", config="nope")
    refused(422, "no run", run="20990101-000000-abcdef")
    refused(422, "run", run="../jobs")
    refused(422, "init_training", phase=2, run=None)
    refused(422, "init_training", phase="long", run=None)
    refused(422, "phase", phase=3)
    refused(422, "long.curriculum", config_yaml=SMALL + "long: {curriculum: [{until_step: 2, seq_len: 4096}]}\n")
    refused(422, "extra_forbidden", unknown_field=1)
    huge = server.client.post("/api/trainings", json={"name": "x", "run": run_id, "config_yaml": "#" * 1_100_000})
    assert huge.status_code == 413
    form = server.client.post(
        "/trainings",
        data={"name": "f", "run": run_id, "phase": "1", "config": "tiny", "config_yaml": "model:\n  <oops>: 1\n"},
    )
    assert form.status_code == 422 and "model.&lt;oops&gt;" in form.text
    assert "<oops>" not in form.text.split("<textarea")[0]
    assert len(server.client.get("/api/trainings").json()) == count
    assert job_dirs(server.home) == before
    new = server.client.get("/trainings/new", params={"run": run_id, "config": "tiny"})
    assert new.status_code == 200 and "n_kv_heads" in new.text  # the shipped config, loaded into the editor


FAILS_FAST = "classify:\n  edu_model: /nonexistent/edu.ftz\n"  # a curate that fails in seconds


def run_status(server: Server, job_id: str) -> str:
    return server.client.get(f"/api/runs/{job_id}").json()["status"]


def wait_run(server: Server, job_id: str, wanted: set[str], timeout: float = 60) -> str:
    return server.wait_status(job_id, wanted, timeout=timeout)["status"]


@pytest.mark.slow
def test_runs_and_trainings_queue_apart(demo):
    """One slot for runs and one for trainings (the defaults), each kind in its own queue: a
    training holding (or waiting for) the GPU slot never holds back a run, nor a run a training."""
    server = demo.server
    queues = server.client.get("/api/health").json()["queues"]
    assert {k: v["slots"] for k, v in queues.items()} == {"run": 1, "training": 1}
    long1 = train(server, name="holds the training slot", run=demo.run_id, config_yaml=LONG, vocab_size=400)
    assert long1.status_code == 201, long1.text
    t1 = long1.json()["id"]
    wait_steps(server, t1, 1)
    r1 = server.create(name="runs beside a training").json()["id"]  # the demo: ~30 s, cancelled below
    assert wait_run(server, r1, {"running", "succeeded", "failed"}) == "running"
    r2 = server.create(name="waits for the run slot", config_yaml=FAILS_FAST).json()["id"]
    t2 = train(server, name="waits for the training slot", run=demo.run_id, config_yaml=LONG, vocab_size=400)
    t2 = t2.json()["id"]
    time.sleep(1)
    assert run_status(server, r2) == "queued" and server.client.get(f"/api/trainings/{t2}").json()["status"] == "queued"
    queues = server.client.get("/api/health").json()["queues"]
    assert queues["run"] == {"slots": 1, "running": 1, "queued": 1}, queues
    assert queues["training"] == {"slots": 1, "running": 1, "queued": 1}, queues

    # The training slot frees: the queued training starts although a run waits (queued before it).
    assert server.client.post(f"/api/trainings/{t1}/cancel").status_code == 200
    assert wait_training(server, t2, {"running"} | FINAL, timeout=60)["status"] == "running"
    assert run_status(server, r2) == "queued" and run_status(server, r1) == "running"
    # The run slot frees: the queued run starts while the training runs.
    assert server.client.post(f"/api/runs/{r1}/cancel").status_code == 200
    assert wait_run(server, r2, FINAL, timeout=120) == "failed"  # it ran (and failed fast)
    assert server.client.get(f"/api/trainings/{t2}").json()["status"] == "running"
    assert server.client.post(f"/api/trainings/{t2}/cancel").status_code == 200
    assert wait_training(server, t2, FINAL, timeout=60)["status"] == "cancelled"
    assert wait_run(server, r1, FINAL) == "cancelled"


def test_pretrain_check_config(tmp_path):
    """`pretrain --check-config` (what the service checks a training config with): no data, no
    output; 0 and the config's numbers, or 2 with the error and the bad fields."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(SMALL)
    bad.write_text(SMALL.replace("lr: 1.0e-2", "lr: -1").replace("rope_base:", "no_such_knob: 1, rope_base:"))
    cmd = [sys.executable, "-m", "edumix.trainer.cli", "pretrain", "--check-config", "--config"]
    ok = subprocess.run([*cmd, str(good), "--phase", "long", "--steps", "3"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["ok"] and answer["phase"] == "long" and answer["steps"] == 3 and answer["seq_len"] == 64
    assert answer["max_seq_len"] == 256 and len(answer["config_hash"]) >= 8
    refused = subprocess.run([*cmd, str(bad)], capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "optim.lr" in refused.stderr
    fields = {e["field"] for e in json.loads(refused.stdout)["errors"]}
    assert fields == {"optim.lr", "model.no_such_knob"}
    assert not list(tmp_path.glob("*/"))  # nothing written


@pytest.mark.slow
def test_cancel_and_interrupted_training(demo):
    server = demo.server
    created = train(server, name="long", run=demo.run_id, config_yaml=LONG, vocab_size=400, device="cpu")
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    wait_steps(server, job_id, 6)  # past its first checkpoint (step 5)
    pid = job_pid(server.home, job_id)
    assert server.client.post(f"/api/trainings/{job_id}/cancel").status_code == 200
    job = wait_training(server, job_id, FINAL, timeout=60)
    assert job["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while alive(pid):
        assert time.monotonic() < deadline, "the pretrain process outlived its cancel"
        time.sleep(0.3)
    assert server.client.post(f"/api/trainings/{job_id}/cancel").status_code == 409

    # Restart resumes from its last checkpoint; then the server dies under it.
    ckpt = job["summary"]["latest_checkpoint"]
    assert ckpt and int(ckpt[5:]) >= 5
    assert server.client.post(f"/api/trainings/{job_id}/restart").status_code == 200
    n = int(ckpt[5:])
    log = wait_log(server, job_id, rf"resumed from \S*/{ckpt} at step {n}\n(.*\n)*step {n + 1}/")
    commands = [line for line in log.splitlines() if line.startswith("$ ")]
    assert [" tokenizer train " in c for c in commands] == [True, False, False]  # the tokenizer is kept
    assert "--resume" in commands[-1]
    pid = job_pid(server.home, job_id)
    server.stop(signal.SIGKILL)

    again = demo.restart_server()
    job = again.client.get(f"/api/trainings/{job_id}").json()
    assert job["status"] == "interrupted" and "server stopped" in job["error"]
    deadline = time.monotonic() + 30
    while alive(pid):  # the orphaned pretrain was stopped at start-up
        assert time.monotonic() < deadline, "the orphaned pretrain process still runs"
        time.sleep(0.3)
    assert "restart" in again.client.get(f"/trainings/{job_id}").text.lower()


def test_old_home_is_migrated(tmp_path):
    """A jobs.sqlite written by the first `edumix serve` (no kind/parent columns, user_version 0)
    opens: its jobs are runs, and the server lists them."""
    home = tmp_path / "home"
    home.mkdir()
    with contextlib.closing(sqlite3.connect(home / "jobs.sqlite")) as db:
        db.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,"
            " started REAL, finished REAL, pid INTEGER, exit_code INTEGER, error TEXT, spec TEXT NOT NULL,"
            " summary TEXT)"
        )
        spec = json.dumps({"inputs": ["demo"], "input_paths": [], "workers": 1})
        db.execute(
            "INSERT INTO jobs (id, name, status, created, spec) VALUES (?, ?, ?, ?, ?)",
            ("20240101-000000-aaaaaa", "old run", "failed", 1.0, spec),
        )
        db.commit()
    server = Server(home, tmp_path / "server.log")
    try:
        (row,) = server.client.get("/api/runs").json()
        assert row["id"] == "20240101-000000-aaaaaa" and row["status"] == "failed"
        assert server.client.get("/api/trainings").json() == []
        assert server.client.get("/api/runs/20240101-000000-aaaaaa").json()["trainings"] == []
    finally:
        server.stop()
    with contextlib.closing(sqlite3.connect(home / "jobs.sqlite")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert db.execute("SELECT kind, parent FROM jobs").fetchall() == [("run", None)]
