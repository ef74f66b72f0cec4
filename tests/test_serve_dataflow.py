"""`edumix serve` submitting curate runs to Dataflow, offline: a dry run through the API
builds the job (the CLI's own `curate --runner=DataflowRunner ... --dry_run=True` as the
server's child) and the run page shows the job the CLI printed; a bad option is a 422 that
writes and queues nothing.

The server and its children run with credentials pointed at nothing and a sitecustomize
that refuses (and records) every connection to a host other than loopback, so a dry run
that reached for GCS or a credential fails here instead of retrying for minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_helpers import FINAL, Server, kill_leftover_jobs

BUCKET = "gs://edumix-test-bucket"
IMAGE = "us-central1-docker.pkg.dev/edumix-test/edumix/edumix-dataflow:0.1.0"
DATAFLOW = {
    "project": "edumix-test",
    "region": "us-central1",
    "temp_location": f"{BUCKET}/tmp",
    "output": f"{BUCKET}/runs/r1",
    "sdk_container_image": IMAGE,
    "max_num_workers": 5,
}

SITECUSTOMIZE = """
import os, socket

_LOG = os.environ["EDUMIX_TEST_NETLOG"]
_LOCAL = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}
_getaddrinfo, _connect = socket.getaddrinfo, socket.socket.connect


def _refuse(what):
    with open(_LOG, "a") as fh:
        fh.write(f"{os.getpid()} {what}\\n")
    raise OSError(f"network blocked by tests/test_serve_dataflow.py: {what}")


def getaddrinfo(host, *args, **kwargs):
    if (host.decode() if isinstance(host, bytes) else host) not in _LOCAL:
        _refuse(f"getaddrinfo {host}")
    return _getaddrinfo(host, *args, **kwargs)


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL:
        _refuse(f"connect {address}")
    return _connect(self, address)


socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect
"""


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory):
    """A server (and so its children) with no credentials and no network but loopback."""
    base = tmp_path_factory.mktemp("serve_dataflow")
    site = base / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (base / "gcloud").mkdir()
    netlog = base / "network.log"
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "EDUMIX_TEST_NETLOG": str(netlog),
        "GOOGLE_APPLICATION_CREDENTIALS": str(base / "gcloud" / "no-such-key.json"),
        "CLOUDSDK_CONFIG": str(base / "gcloud"),  # no gcloud user credentials either
        "NO_GCE_CHECK": "True",  # google-auth: do not probe the GCE metadata server
    }
    probe = "import socket\ntry: socket.getaddrinfo('example.com', 443)\nexcept OSError: pass"
    subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env}, check=True, timeout=60)
    assert "getaddrinfo example.com" in netlog.read_text()  # the guard is in place in every child
    netlog.unlink()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("EDUMIX_SDK_CONTAINER_IMAGE", raising=False)
        server = Server(base / "home", base / "server.log")
    server.netlog = netlog
    yield server
    server.stop()
    kill_leftover_jobs(server.home)


def _dry_run(server: Server, name: str = "df <i>dry</i>", **extra):
    body = {
        "name": name,
        "inputs": [f"{BUCKET}/crawl/*.warc.gz"],
        "runner": "dataflow",
        "dataflow": {**DATAFLOW, "dry_run": True, **extra},
        # The PII stage's analyzer imports presidio, transformers and torch (~10 s on 2 busy
        # cores); the full graph's dry run is tests/test_dataflow.py's. Without it, the config
        # visibly reaches the child: no pii step.
        "config_yaml": "pii:\n  enabled: false\n",
    }
    return server.client.post("/api/runs", json=body)


def test_dataflow_dry_run_through_the_api(offline_server):
    server = offline_server
    t = time.monotonic()
    created = _dry_run(server, options=["--machine_type=n2-highmem-4", "--experiments=use_runner_v2"])
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["runner"] == "dataflow" and job["output"] == DATAFLOW["output"] and job["workers"] is None
    assert "--dry_run=True" in job["dataflow"]["beam_args"]
    assert "report_html" not in job["links"]

    # While the child builds the job (its imports take most of ~15 s), the refusals: each a
    # 422 naming the option, nothing written, nothing queued.
    jobs_dir = server.home / "jobs"
    before = sorted(p.name for p in jobs_dir.iterdir())
    refused = {
        "temp_location": _dry_run(server, temp_location="/tmp/beam"),
        "unknown": _dry_run(server, options=["--no_such_option=1"]),
        "setup_file": _dry_run(server, options=["--setup_file=/etc/passwd"]),
        "bad value": _dry_run(server, options=["--num_workers=many"]),
        "image": _dry_run(server, sdk_container_image=None),
        "local input": server.client.post(
            "/api/runs", json={"name": "x", "inputs": ["/etc/passwd"], "runner": "dataflow", "dataflow": DATAFLOW}
        ),
        "demo": server.client.post(
            "/api/runs", json={"name": "x", "inputs": ["demo"], "runner": "dataflow", "dataflow": DATAFLOW}
        ),
        "local output": _dry_run(server, output="/tmp/run"),
        "no options": server.client.post(
            "/api/runs", json={"name": "x", "inputs": [f"{BUCKET}/c.jsonl"], "runner": "dataflow"}
        ),
        "worker file": server.client.post(
            "/api/runs",
            json={
                "name": "x",
                "inputs": [f"{BUCKET}/c.jsonl"],
                "runner": "dataflow",
                "dataflow": DATAFLOW,
                "config_yaml": f"classify:\n  edu_model: {BUCKET}/models/edu.bin\n",
            },
        ),
    }
    for what, response in refused.items():
        assert response.status_code == 422, (what, response.text)
    detail = {what: str(r.json()["detail"]) for what, r in refused.items()}
    assert "dataflow.temp_location" in detail["temp_location"] and "gs://BUCKET/PATH" in detail["temp_location"]
    assert "--no_such_option" in detail["unknown"] and "dataflow" in detail["unknown"]
    assert "--setup_file is not allowed here" in detail["setup_file"]
    assert "--num_workers" in detail["bad value"] and "invalid int value" in detail["bad value"]
    assert "dataflow.sdk_container_image" in detail["image"]
    assert "gs:// inputs" in detail["local input"]
    assert "demo crawl" in detail["demo"]
    assert "output" in detail["local output"]
    assert "runner=dataflow needs its options" in detail["no options"]
    assert "classify.edu_model" in detail["worker file"]
    form = server.client.post(
        "/runs",
        data={
            "name": "f",
            "inputs": f"{BUCKET}/c.jsonl",
            "runner": "dataflow",
            **{f"df_{k}": str(v) for k, v in DATAFLOW.items()},
            "df_temp_location": "/tmp/<beam>",
            "df_dry_run": "1",
        },
    )
    assert form.status_code == 422 and "dataflow.temp_location" in form.text
    assert "/tmp/&lt;beam&gt;" in form.text and "<beam>" not in form.text
    assert 'value="dataflow" checked' in form.text  # the form comes back as posted
    assert sorted(p.name for p in jobs_dir.iterdir()) == before
    assert [r["id"] for r in server.client.get("/api/runs").json()] == [job["id"]]

    done = server.wait_status(job["id"], FINAL, timeout=180)
    took = time.monotonic() - t
    log = server.client.get(f"/api/runs/{job['id']}/log").json()["log"]
    assert done["status"] == "succeeded", log[-3000:]
    command = log.splitlines()[0]
    assert command.startswith("$ ") and "--runner=DataflowRunner" in command and "--dry_run=True" in command
    assert "--cache" not in command and "--max_num_workers=5" in command
    described = done["dataflow_job"]["description"]
    assert described.startswith("dry run: DataflowRunner job") and "built, not submitted" in described
    assert f"worker image: {IMAGE}" in described and "WriteReport" in described
    steps = described.splitlines()[1].split(": ", 1)[1].split(", ")
    assert "quality" in steps and "pii" not in steps, steps
    assert done["dataflow_job"]["job_id"] is None and "report_html" not in done["links"]
    assert server.client.get(f"/api/runs/{job['id']}/report.html").status_code == 409
    page = server.client.get(f"/runs/{job['id']}")
    assert page.status_code == 200 and "dry run: DataflowRunner job" in page.text and IMAGE in page.text
    assert "df &lt;i&gt;dry&lt;/i&gt;" in page.text and "<i>dry" not in page.text
    assert f"/api/runs/{job['id']}/report.html" not in page.text
    # A training reads a local run: a Dataflow run is not offered, and is refused.
    trained = server.client.post("/api/trainings", json={"name": "t", "run": job["id"]})
    assert trained.status_code == 409 and "ran on Dataflow" in trained.json()["detail"]
    assert not server.netlog.exists(), server.netlog.read_text()
    print(f"dataflow dry run through the service: {took:.1f}s")


def test_new_run_form_offers_both_runners(offline_server):
    page = offline_server.client.get("/").text
    assert 'name="runner" value="local" checked' in page and 'name="runner" value="dataflow"' in page
    for field in ("df_project", "df_region", "df_temp_location", "df_output", "df_options", "df_dry_run"):
        assert f'name="{field}"' in page
    assert "<script" not in page


def test_dataflow_command_has_no_cache(tmp_path):
    """The child command: the CLI with the Dataflow options, never --cache (curate refuses
    it for remote runners); a submitted (not dry) run logs at INFO for its job id."""
    from edumix.service import storage as st
    from edumix.service.jobs import JobManager

    manager = JobManager(st.open_store(tmp_path), tmp_path)
    spec = {
        "inputs": [f"{BUCKET}/c.jsonl"],
        "input_paths": [f"{BUCKET}/c.jsonl"],
        "runner": "dataflow",
        "dataflow": {**DATAFLOW, "dry_run": False, "overwrite": False, "options": []},
        "beam_args": ["--runner=DataflowRunner", "--project=edumix-test"],
    }
    [cmd] = manager._commands({"id": "j1", "kind": st.RUN, "spec": spec})
    assert "--cache" not in cmd and "--overwrite" not in cmd and "-v" in cmd
    assert cmd[cmd.index("-o") + 1] == DATAFLOW["output"] and cmd[-2:] == spec["beam_args"]
    local = {"inputs": ["demo"], "input_paths": ["/x.warc.gz"], "workers": 1}
    [cmd] = manager._commands({"id": "j2", "kind": st.RUN, "spec": local})
    assert "--cache" in cmd
    assert Path(cmd[cmd.index("-o") + 1]) == manager.run_dir("j2")


def test_job_read_back_from_the_log(tmp_path):
    """What the server records of a submitted job: Beam's job id line (a waited run) or the
    CLI's printed description (--no_wait_until_finish), from the latest attempt only."""
    from edumix.service.dataflow import job_from_log

    spec = {"dataflow": DATAFLOW}
    log = tmp_path / "job.log"
    log.write_text(
        "$ python -m edumix.cli curate ... --dry_run=True\n"
        "dry run: DataflowRunner job old built, not submitted; nothing was read or written\n"
        "$ python -m edumix.cli curate ... -v\n"
        "INFO apache_beam.runners.dataflow.internal.apiclient: Created job with id: [2024-01-01_00_00_00-123]\n"
    )
    job = job_from_log(log, spec)
    assert job["job_id"] == "2024-01-01_00_00_00-123" and job["description"] is None
    assert job["console_url"].endswith("/us-central1/2024-01-01_00_00_00-123?project=edumix-test")
    assert job["cancel_command"] == "gcloud dataflow jobs cancel 2024-01-01_00_00_00-123 --region=us-central1"
    with log.open("a") as fh:
        fh.write(
            "submitted DataflowRunner job 2024-01-01_00_00_00-123 (edumix-r1) in edumix-test/us-central1\n"
            "  3 steps (9 transforms): Read, Extract, WriteReport\n"
            "  worker image: x\n"
            "report.json and manifest.json appear later\n"
        )
    described = job_from_log(log, spec)["description"]
    assert described.startswith("submitted DataflowRunner job") and described.endswith("worker image: x")
    log.write_text("$ python -m edumix.cli curate ...\nerror: --project is missing\n")
    assert job_from_log(log, spec) is None and job_from_log(tmp_path / "none.log", spec) is None
