"""Fuzzing `edumix serve`: schemathesis generates requests from the live server's own
/openapi.json (valid ones, and ones that break the schema) for every API operation and checks
each answer: no 5xx, a status code the spec declares, its content type, and a body that fits
the declared schema. The HTML forms get the same treatment by hand (hypothesis: random form
fields, no 5xx). Bounded and derandomized: the same cases on every run, about 20 s in all.

No long job can start. The server has no --root, so the only input a created run could have
is the literal "demo", which the cases here never send; there is no succeeded run, so no
training starts and nothing generates. The one job in the home is a run that fails in ~4 s
(its config names a classifier file that does not exist): its id is mixed into the path
parameters, so the detail, log, cancel, restart, report and compare routes are fuzzed on a
real job too, and a restart re-runs only that fast failure (--max-jobs 1)."""

from __future__ import annotations

import time

import pytest
import requests
from serve_helpers import FINAL, Server, kill_leftover_jobs

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as hst
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 15  # per operation and generation mode
FAILS_FAST = "classify:\n  edu_model: /nonexistent/edu.ftz\n"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is reproducible, not flaky
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure report has the request
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """(server, id of a run that has failed)."""
    root = tmp_path_factory.mktemp("serve_fuzz")
    server = Server(root / "home", root / "server.log", "--max-jobs", "1")
    created = server.create(name="fails fast", config_yaml=FAILS_FAST)
    assert created.status_code == 201, created.text
    job = server.wait_status(created.json()["id"], FINAL, timeout=180)
    assert job["status"] == "failed", job
    yield server, job["id"]
    server.stop()
    kill_leftover_jobs(root / "home")


def no_demo(case) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    inputs = body.get("inputs")
    return not (isinstance(inputs, list) and "demo" in inputs)


def fuzz(strategy, session, counts: dict[str, int], key: str) -> None:
    @SETTINGS
    @given(case=strategy)
    def one(case):
        counts[key] += 1
        case.call_and_validate(session=session, checks=CHECKS, timeout=30)

    one()


@pytest.mark.slow
def test_api_fuzz(fuzzed):
    server, job_id = fuzzed
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    session = requests.Session()  # one keep-alive connection, as a client would hold
    started, failures, counts, times = time.monotonic(), {}, {}, {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            # Half the cases on the real job, half on random ids. Not a restart: each would re-run
            # the failing curate (4 s of a CPU core); test_serve.py restarts jobs for real.
            if "{job_id}" in operation.path and not operation.path.endswith("/restart"):
                strategy = hst.one_of(
                    strategy, operation.as_strategy(generation_mode=mode, path_parameters={"job_id": job_id})
                )
            if operation.path == "/api/compare":
                strategy = hst.one_of(
                    strategy, operation.as_strategy(generation_mode=mode, query={"a": job_id, "b": job_id})
                )
            key = f"{operation.label} [{mode.value}]"
            counts[key], t0 = 0, time.monotonic()
            try:
                fuzz(strategy.filter(no_demo), session, counts, key)
            except FailureGroup as e:  # every operation is fuzzed; the failures are reported at once
                failures[key] = str(e)[:3000]
            except hypothesis.errors.Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, key  # no parameter or body: nothing to break
                del counts[key]
            times[key] = time.monotonic() - t0
    took = time.monotonic() - started
    print(f"{sum(counts.values())} requests over {len(counts)} operation/mode pairs in {took:.1f}s; slowest:")
    for key in sorted(times, key=times.get, reverse=True)[:5]:
        print(f"  {times[key]:5.1f}s {key}")
    assert not failures, "\n\n".join(f"== {k}\n{v}" for k, v in failures.items())
    assert len(counts) >= 24 and sum(counts.values()) > 12 * EXAMPLES, counts  # every operation was exercised
    assert not any(j["status"] == "running" and j["id"] != job_id for j in server.client.get("/api/runs").json())
    assert {j["id"] for j in server.client.get("/api/runs").json()} == {job_id}, "a fuzz case created a run"
    assert server.client.get("/api/trainings").json() == []


# The HTML forms parse urlencoded bodies by hand, so the spec does not describe them: random
# fields (any text, numbers out of range, NUL bytes, CRLF) must give a page, never a 5xx.
TEXT = hst.text(hst.characters(codec="utf-8"), max_size=60)
FIELD = hst.one_of(TEXT, hst.integers(-(2**70), 2**70).map(str), hst.sampled_from(["", "1", "-1", "nan", "1e309"]))


def form(*names: str):
    return hst.fixed_dictionaries({}, optional={n: FIELD for n in names})


@settings(SETTINGS, max_examples=200)
@given(data=hst.data())
def _fuzz_pages(server, job_id, data):
    target = data.draw(hst.sampled_from(["runs", "trainings", "generate", "run", "training", "new"]))
    if target == "runs":
        fields = data.draw(form("name", "inputs", "config_yaml", "workers"))
        if any(line.strip() == "demo" for line in fields.get("inputs", "").splitlines()):
            fields["inputs"] = "/not/demo"
        answer = server.client.post("/runs", data=fields)
    elif target == "trainings":
        fields = data.draw(form("name", "phase", "run", "init_training", "init_checkpoint", "config", "config_yaml"))
        fields.update(data.draw(form("steps", "vocab_size", "device", "peak_tflops")))
        answer = server.client.post("/trainings", data=fields)
    elif target == "generate":
        fields = data.draw(form("prompt", "checkpoint", "max_new_tokens", "temperature", "seed"))
        which = data.draw(hst.sampled_from([job_id, "nope"]))
        answer = server.client.post(f"/trainings/{which}/generate", data=fields)
    elif target == "new":
        params = data.draw(form("run", "init_training", "config", "name"))
        answer = server.client.get("/trainings/new", params=params)
    else:
        which = data.draw(hst.one_of(hst.just(job_id), hst.from_regex(r"[A-Za-z0-9_.~-]{1,80}", fullmatch=True)))
        answer = server.client.get(f"/{target}s/{which}")
    assert answer.status_code < 500, (target, answer.status_code, answer.text[-2000:])
    assert answer.headers["content-type"].startswith(("text/html", "application/json")), answer.headers


def test_pages_fuzz(fuzzed):
    server, job_id = fuzzed
    started = time.monotonic()
    _fuzz_pages(server, job_id)
    print(f"pages fuzzed in {time.monotonic() - started:.1f}s")
    assert {j["id"] for j in server.client.get("/api/runs").json()} == {job_id}, "a form post created a run"
    assert server.client.get("/api/trainings").json() == []
