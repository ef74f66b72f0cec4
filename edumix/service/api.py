"""The JSON API under /api: create, list, inspect, cancel and restart curate runs and
trainings; generate from a training's checkpoint.

A run's config is validated with edumix's own RunConfig, a training's with the trainer's own
loader (trainings.validate_config), before anything is written, so a typo in a key is a 422
naming the field, not a job that fails a minute later. A training names its source run and
checkpoint by job id and step name, never by path: it can only read what this server made.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edumix import __version__
from edumix.core.config import RunConfig, parse_yaml
from edumix.core.progress import read_progress
from edumix.demo import write_demo_crawl
from edumix.report.compare import compare_runs
from edumix.report.html import write_report_html
from edumix.service import dataflow as df
from edumix.service import storage as st
from edumix.service import trainings as tr
from edumix.service.dataflow import DataflowSpec
from edumix.service.jobs import CONFIG_FILE, DEMO, JobManager, new_job_id, tail
from edumix.service.security import PathInvalid, PathRefused, confine_inputs


class Problem(BaseModel):
    """Every refusal's body: FastAPI's own (a request that does not fit the model: `detail` is
    its list of field errors) and ours (`detail` a sentence; a refused config lists its fields)."""

    detail: str | list[dict[str, Any]] = Field(description="What was wrong.")
    errors: list[dict[str, str]] = Field([], description="A refused config: each bad field (dotted path) and why.")


_WHY = {
    400: "The body is not JSON (or not UTF-8).",
    401: "The token is missing or wrong (a server started with --token-file).",
    403: "An input outside the --root directories, a cross-site post or a foreign Host header.",
    404: "No such job.",
    409: "The job's state does not allow it.",
    413: "The request body is over 1 MB.",
    422: "The request or its config is invalid; the fields are named.",
    429: "Too many generations at once.",
    502: "The generation failed.",
    503: "The training config could not be checked.",
    504: "The generation took too long.",
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route can give, for the OpenAPI spec (so a client, or a fuzzer, can
    check them: every one has a Problem body)."""
    return {code: {"model": Problem, "description": _WHY[code]} for code in codes}


# Any request: a wrong token; a query or body that does not fit (FastAPI's 422 is declared
# here with the Problem body, which covers both its shape and ours).
router = APIRouter(prefix="/api", responses=refusals(401, 422))


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    inputs: list[str] = Field(
        min_length=1,
        max_length=1000,
        description='Local runner: local paths under --root, or "demo". Dataflow: gs:// paths (or globs), read '
        "by the workers, never by this server.",
    )
    config_yaml: str = Field("", description="A run config (YAML); empty: the defaults.")
    runner: Literal["local", "dataflow"] = Field(
        "local", description="local: Beam's runner on this machine (`workers`); dataflow: Google Cloud Dataflow."
    )
    workers: int = Field(1, ge=1, le=64, description="Local runner: Beam worker processes (1: in-process).")
    dataflow: DataflowSpec | None = Field(None, description="runner=dataflow: the Dataflow options.")


JOB_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
STEP = r"^step-\d{8}$"


class TrainingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phase: Literal[1, 2, "long"] = Field(
        1,
        description="1: all tiers, from scratch; 2: the top tier, from a checkpoint; long: the long-context "
        "continuation (`pretrain --phase long`: the config's `long` curriculum and `phases.long`), from a checkpoint.",
    )
    run: str | None = Field(
        None, pattern=JOB_ID, description="The source run's id (a succeeded run). Phase 2: default, the init's run."
    )
    init_training: str | None = Field(
        None, pattern=JOB_ID, description="Phase 2 / long: the training to start from (phase 1, 2 or long)."
    )
    init_checkpoint: str | None = Field(
        None, pattern=STEP, description="Phase 2 / long: its checkpoint; default its latest."
    )
    config: str | None = Field(
        None,
        pattern=tr.CONFIG_NAME_RE.pattern,
        description="A config in trainer/configs/; default: phase 1 tiny, phase 2 and long the init training's "
        "config (its phases.2 / phases.long overrides apply).",
    )
    config_yaml: str = Field("", description="A training config (YAML); when given, used instead of `config`.")
    steps: int | None = Field(None, ge=1, le=10_000_000, description="Override the config's steps.")
    vocab_size: int = Field(2048, ge=263, le=262_144, description="Phase 1: the tokenizer trained on the run.")
    device: str | None = Field(None, pattern=tr.DEVICE_RE, description="cpu, cuda, cuda:N; default cuda if present.")
    peak_tflops: float | None = Field(None, gt=0, le=100_000, description="Peak TFLOP/s per device, for MFU.")


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=4000)
    checkpoint: str | None = Field(None, pattern=STEP, description="A checkpoint of the training; default its latest.")
    max_new_tokens: int = Field(48, ge=1, le=512)
    temperature: float = Field(0.8, ge=0.0, le=5.0, description="0: greedy.")
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @field_validator("prompt")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\0" in v:
            raise ValueError("the prompt holds a NUL byte")
        return v


class RunRefused(Exception):
    """A create request refused before anything was written."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []


@dataclass
class Service:
    store: st.JobStore
    manager: JobManager
    roots: list[Path]
    token: str | None


def service(request: Request) -> Service:
    return request.app.state.service


def validate_config(text: str) -> RunConfig:
    """RunConfig from YAML text, or RunRefused(422) listing each bad field (dotted path)."""
    try:
        data = parse_yaml(text) if text.strip() else {}
    except yaml.YAMLError as e:
        raise RunRefused(422, f"config_yaml is not valid YAML: {e}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RunRefused(422, f"config_yaml must be a mapping of sections, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        errors = [{"field": ".".join(str(p) for p in err["loc"]), "msg": err["msg"]} for err in e.errors()]
        problems = "; ".join(f"{x['field']}: {x['msg']}" for x in errors)
        raise RunRefused(422, f"invalid config: {problems}", errors) from e


def check_dataflow(body: RunCreate, config: RunConfig) -> list[str]:
    """A Dataflow run's request, checked by the CLI's own option checks; its Beam args."""
    if body.dataflow is None:
        raise RunRefused(422, "dataflow: runner=dataflow needs its options", [{"field": "dataflow", "msg": "required"}])
    if body.workers != 1:
        raise RunRefused(
            422,
            "workers: the local runner's worker processes; a Dataflow run scales with dataflow.max_num_workers",
            [{"field": "workers", "msg": "local runner only"}],
        )
    if DEMO in body.inputs:
        raise RunRefused(
            422,
            "inputs: the demo crawl is written on this server, where Dataflow's workers cannot read it; "
            "give gs:// inputs",
            [{"field": "inputs", "msg": "demo is for the local runner"}],
        )
    try:
        return df.validate(body.dataflow, body.inputs, config)
    except df.OptionsRefused as e:
        raise RunRefused(422, f"{e.field}: {e}", [{"field": e.field, "msg": str(e)}]) from e


def create_run(svc: Service, body: RunCreate) -> dict[str, Any]:
    """Validate everything, then write the job directory and queue the job."""
    config = validate_config(body.config_yaml)
    if body.runner == df.DATAFLOW:
        return _create_dataflow_run(svc, body, check_dataflow(body, config))
    if body.dataflow is not None:
        raise RunRefused(
            422, "dataflow: options for runner=dataflow; this run is local", [{"field": "dataflow", "msg": "unused"}]
        )
    local = [p for p in body.inputs if p != DEMO]
    try:
        paths = confine_inputs(local, svc.roots)
    except PathRefused as e:
        raise RunRefused(403, str(e)) from e
    except PathInvalid as e:
        raise RunRefused(422, str(e)) from e

    def local_spec(job_dir: Path) -> dict[str, Any]:
        if DEMO in body.inputs:
            crawl = job_dir / "crawl" / "demo-crawl.warc.gz"
            crawl.parent.mkdir()
            write_demo_crawl(crawl)
            paths.insert(0, str(crawl))
        return {"inputs": body.inputs, "input_paths": paths, "workers": body.workers}

    return _queue_run(svc, body, local_spec)


def _create_dataflow_run(svc: Service, body: RunCreate, beam_args: list[str]) -> dict[str, Any]:
    """The job directory holds the config (the launcher reads it locally) and the log."""
    assert body.dataflow is not None
    spec = {
        "inputs": body.inputs,
        "input_paths": list(body.inputs),
        "runner": df.DATAFLOW,
        "dataflow": body.dataflow.model_dump(),
        "beam_args": beam_args,
    }
    return _queue_run(svc, body, lambda _job_dir: spec)


def _queue_run(svc: Service, body: RunCreate, make_spec: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """A new job directory with the run's config and whatever `make_spec` writes there, the job
    recorded and queued; on any failure before it is recorded, the directory is removed."""
    job_id = new_job_id()
    job_dir = svc.manager.job_dir(job_id)
    job_dir.mkdir(parents=True)
    try:
        (job_dir / CONFIG_FILE).write_text(body.config_yaml, encoding="utf-8")
        job = svc.store.create_job(job_id, body.name, make_spec(job_dir))
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    svc.manager.submit(job_id)
    return svc.store.get_job(job_id) or job


def is_dataflow(job: dict[str, Any]) -> bool:
    return job["spec"].get("runner") == df.DATAFLOW


def create_training(svc: Service, body: TrainingCreate) -> dict[str, Any]:
    """Check the source run, the init checkpoint and the config; then write the job directory
    (config.yaml) and queue the training."""
    init, init_job = None, None
    if body.phase == 1:
        if body.init_training or body.init_checkpoint:
            raise RunRefused(422, "init_training: phase 1 starts from scratch; give phase 2 to start from a checkpoint")
        if not body.run:
            raise RunRefused(422, "run: phase 1 needs the source run's id", [{"field": "run", "msg": "required"}])
        run_id = body.run
    else:
        if not body.init_training:
            raise RunRefused(
                422,
                f"init_training: phase {body.phase} starts from a training's checkpoint",
                [{"field": "init_training", "msg": "required"}],
            )
        init_job = svc.store.get_job(body.init_training)
        if init_job is None or init_job["kind"] != st.TRAINING:
            raise RunRefused(422, f"init_training: no training {body.init_training!r}")
        if init_job["status"] not in st.FINAL:
            raise RunRefused(
                409, f"training {init_job['id']} is {init_job['status']}: start phase {body.phase} once it has finished"
            )
        ckpt = tr.checkpoint_path(svc.manager.ckpt_dir(init_job["id"]), body.init_checkpoint)
        if ckpt is None:
            which = body.init_checkpoint or "a checkpoint"
            raise RunRefused(422, f"init_checkpoint: training {init_job['id']} has no {which}")
        init = {"training": init_job["id"], "checkpoint": ckpt.name}
        run_id = body.run or init_job["spec"]["run"]
    run = svc.store.get_job(run_id)
    if run is None or run["kind"] != st.RUN:
        raise RunRefused(422, f"run: no run {run_id!r}", [{"field": "run", "msg": "unknown run"}])
    if run["status"] != st.SUCCEEDED:
        raise RunRefused(409, f"run {run_id} is {run['status']}: only a succeeded run can be trained on")
    if is_dataflow(run):
        raise RunRefused(
            409,
            f"run {run_id} ran on Dataflow: its shards are in {run['spec']['dataflow']['output']}, and a training "
            "reads a run this server made locally",
        )
    try:
        if body.config_yaml.strip():
            text, label = body.config_yaml, None
        elif body.config or init_job is None:
            label = body.config or "tiny"
            text = tr.config_text(label)
        else:  # phase 2 and long by default train with the config their init training had
            text = (svc.manager.job_dir(init_job["id"]) / CONFIG_FILE).read_text(encoding="utf-8")
            label = init_job["spec"].get("config")
        checked = tr.validate_config(text, body.phase, body.steps)
    except tr.ConfigInvalid as e:
        raise RunRefused(422, e.detail, e.errors) from e
    except tr.ValidatorFailed as e:
        raise RunRefused(503, str(e)) from e
    job_id = new_job_id()
    job_dir = svc.manager.job_dir(job_id)
    job_dir.mkdir(parents=True)
    try:
        (job_dir / CONFIG_FILE).write_text(text, encoding="utf-8")
        spec = {
            "phase": body.phase,
            "run": run_id,
            "init": init,
            "config": label,
            "steps": body.steps,
            "steps_total": checked["steps"],
            "train_config_hash": checked["config_hash"],
            "vocab_size": body.vocab_size,
            "device": body.device,
            "peak_tflops": body.peak_tflops,
        }
        job = svc.store.create_job(job_id, body.name, spec, kind=st.TRAINING, parent=run_id)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    svc.manager.submit(job_id)
    return svc.store.get_job(job_id) or job


def list_item(job: dict[str, Any]) -> dict[str, Any]:
    summary = job["summary"] or {}
    return {
        "id": job["id"],
        "name": job["name"],
        "status": job["status"],
        "created": _iso(job["created"]),
        "finished": _iso(job["finished"]),
        "records_in": summary.get("input_records"),
        "kept": summary.get("kept"),
        "tokens": summary.get("tokens"),
        "config_hash": summary.get("config_hash"),
    }


def detail(job: dict[str, Any]) -> dict[str, Any]:
    out = {
        **list_item(job),
        "started": _iso(job["started"]),
        # Seconds from the child's start to its exit (benchmarks/serve_load.py: the run's throughput).
        "duration_s": round(job["finished"] - job["started"], 3) if job["started"] and job["finished"] else None,
        "exit_code": job["exit_code"],
        "error": job["error"],
        "inputs": job["spec"]["inputs"],
        "runner": job["spec"].get("runner", df.LOCAL),
        "workers": job["spec"].get("workers", 1),
        "summary": job["summary"],
        "links": {"log": f"/api/runs/{job['id']}/log"},
    }
    if is_dataflow(job):
        options = job["spec"]["dataflow"]
        out["workers"] = None
        out["dataflow"] = {**options, "beam_args": job["spec"]["beam_args"]}
        out["output"] = options["output"]
        # What the child printed (the job description) and the job id Beam logged; stored
        # with the summary when the child ends.
        out["dataflow_job"] = (job["summary"] or {}).get("dataflow_job")
    elif job["status"] == st.SUCCEEDED:  # a local run's report.json: the HTML report
        out["links"]["report_html"] = f"/api/runs/{job['id']}/report.html"
    return out


def run_detail(svc: Service, job: dict[str, Any]) -> dict[str, Any]:
    """A run with its lineage (from its manifest) and the trainings made from it."""
    out = detail(job)
    if is_dataflow(job):  # no local run directory: its job as the child reported it
        if job["status"] not in st.FINAL or out["dataflow_job"] is None:
            out["dataflow_job"] = df.job_from_log(svc.manager.log_path(job["id"]), job["spec"])
        out.update(lineage=None, trainings=[], progress=None)
        return out
    done = job["status"] == st.SUCCEEDED
    out["lineage"] = tr.run_lineage(svc.manager.run_dir(job["id"])) if done else None
    out["trainings"] = [training_item(svc, t) for t in svc.store.list_jobs(kind=st.TRAINING, parent=job["id"])]
    # Live per-stage counts (RUN/.progress.json, only while the run executes).
    out["progress"] = read_progress(svc.manager.run_dir(job["id"])) if job["status"] == st.RUNNING else None
    return out


def training_item(svc: Service, job: dict[str, Any], summary: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = job["spec"]
    # The supervisor stored the numbers when the job ended; queued, running and interrupted
    # (a server that died wrote nothing) jobs are read from their files.
    ended = job["status"] in (st.SUCCEEDED, st.FAILED, st.CANCELLED) and job["summary"] is not None
    if summary is None:
        summary = job["summary"] if ended else tr.summary(svc.manager.job_dir(job["id"]), spec.get("steps_total"))
    return {
        "id": job["id"],
        "name": job["name"],
        "status": job["status"],
        "phase": spec["phase"],
        "run": spec["run"],
        "created": _iso(job["created"]),
        "finished": _iso(job["finished"]),
        "step": summary.get("step"),
        "steps_total": spec.get("steps_total"),
        "loss": summary.get("loss"),
        "tokens_per_s": summary.get("tokens_per_s"),
        "mfu": summary.get("mfu"),
        "train_config_hash": spec.get("train_config_hash"),
    }


def training_detail(svc: Service, job: dict[str, Any]) -> dict[str, Any]:
    """Everything the training page shows, read live from the job's files."""
    spec, job_id = job["spec"], job["id"]
    job_dir = svc.manager.job_dir(job_id)
    run = svc.store.get_job(spec["run"])
    init = spec.get("init")
    children = [
        t["id"]
        for t in svc.store.list_jobs(kind=st.TRAINING, parent=spec["run"])
        if (t["spec"].get("init") or {}).get("training") == job_id
    ]
    final = job["status"] in st.FINAL
    summary = tr.summary(job_dir, spec.get("steps_total"))
    out = {
        **training_item(svc, job, summary),
        "summary": summary,
        "started": _iso(job["started"]),
        "exit_code": job["exit_code"],
        "error": job["error"],
        "config": spec.get("config"),
        "vocab_size": spec.get("vocab_size") if spec["phase"] == 1 else None,
        "device": spec.get("device"),
        "source_run": {
            "id": spec["run"],
            "name": run["name"] if run else None,
            "lineage": tr.run_lineage(svc.manager.run_dir(spec["run"])),
            "links": {"run": f"/api/runs/{spec['run']}", "mix": f"/api/runs/{spec['run']}/report.html#mix"},
        },
        "init": init,
        "continued_by": children,
        "lineage": tr.lineage(job_dir),
        "checkpoints": tr.checkpoints(svc.manager.ckpt_dir(job_id)),
        "links": {
            "log": f"/api/trainings/{job_id}/log",
            "metrics": f"/api/trainings/{job_id}/metrics",
            "run": f"/api/runs/{spec['run']}",
        },
    }
    if init:
        out["links"]["init"] = f"/api/trainings/{init['training']}"
    if final and out["checkpoints"]:
        out["links"]["generate"] = f"/api/trainings/{job_id}/generate"
    return out


def generate_from(svc: Service, job_id: str, body: GenerateRequest) -> dict[str, Any]:
    job = get_or_404(svc, job_id, st.TRAINING)
    if job["status"] not in st.FINAL:
        raise RunRefused(409, f"training {job_id} is {job['status']}: generate once it has finished")
    ckpt = tr.checkpoint_path(svc.manager.ckpt_dir(job_id), body.checkpoint)
    if ckpt is None:
        raise RunRefused(422, f"checkpoint: training {job_id} has no {body.checkpoint or 'checkpoint'}")
    try:
        result = tr.generate(
            ckpt, body.prompt, body.max_new_tokens, body.temperature, body.seed, job["spec"].get("device")
        )
    except tr.GenerateBusy as e:
        raise RunRefused(429, str(e)) from e
    except tr.GenerateFailed as e:
        raise RunRefused(504 if e.timed_out else 502, str(e)) from e
    text = result["text"]
    completion = text[len(body.prompt) :] if text.startswith(body.prompt) else text
    return {
        "id": job_id,
        "checkpoint": ckpt.name,
        "prompt": body.prompt,
        "text": text,
        "completion": completion,
        # The generation worker had this checkpoint loaded already (no load, no sha256 check),
        # and how many checkpoints that worker has loaded so far.
        "model_cached": result["cached"],
        "model_loads": result["loads"],
    }


def _iso(t: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else None


def get_or_404(svc: Service, job_id: str, kind: str = st.RUN) -> dict[str, Any]:
    job = svc.store.get_job(job_id)
    if job is None or job["kind"] != kind:
        raise HTTPException(404, f"no {kind} {job_id!r}")
    return job


def cancel_job(svc: Service, job_id: str, kind: str) -> dict[str, Any]:
    job = get_or_404(svc, job_id, kind)
    if not svc.manager.cancel(job_id):
        raise HTTPException(409, f"{kind} {job_id} is {job['status']}: nothing to cancel")
    return get_or_404(svc, job_id, kind)


def restart_job(svc: Service, job_id: str, kind: str) -> dict[str, Any]:
    job = get_or_404(svc, job_id, kind)
    if job["status"] not in (st.INTERRUPTED, st.FAILED, st.CANCELLED):
        raise HTTPException(
            409, f"{kind} {job_id} is {job['status']}: only an interrupted, failed or cancelled {kind} restarts"
        )
    if kind == st.TRAINING:
        source = svc.store.get_job(job["spec"]["run"])
        if source is None or source["status"] != st.SUCCEEDED:
            raise HTTPException(409, f"its source run {job['spec']['run']} is no longer succeeded")
    if not svc.manager.restart(job_id):
        raise HTTPException(409, f"{kind} {job_id} is still stopping; try again in a moment")
    return get_or_404(svc, job_id, kind)


def finished_run_dir(svc: Service, job_id: str) -> Path:
    job = get_or_404(svc, job_id)
    if job["status"] != st.SUCCEEDED:
        raise HTTPException(409, f"run {job_id} has no report: it is {job['status']}")
    if is_dataflow(job):
        output = job["spec"]["dataflow"]["output"].rstrip("/")
        where = "not written (a dry run)" if job["spec"]["dataflow"].get("dry_run") else f"{output}/report.json"
        raise HTTPException(409, f"run {job_id} ran on Dataflow: no local report; its report is {where}")
    return svc.manager.run_dir(job_id)


def report_page(svc: Service, job_id: str) -> Path:
    """RUN/report.html, written by edumix.report on first request."""
    run_dir = finished_run_dir(svc, job_id)
    page = run_dir / "report.html"
    if not page.is_file():
        write_report_html(run_dir)
    return page


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    svc = service(request)
    return {
        "ok": True,
        "version": __version__,
        "running": svc.manager.active(),
        "max_jobs": svc.manager.max_jobs,
        "queues": svc.manager.stats(),  # per kind (run, training): slots, running, queued
    }


@router.post("/runs", status_code=201, responses=refusals(400, 403, 413))
def post_run(body: RunCreate, request: Request) -> dict[str, Any]:
    return detail(create_run(service(request), body))


@router.get("/runs")
def get_runs(request: Request, limit: int = Query(200, ge=1, le=10_000)) -> list[dict[str, Any]]:
    return [list_item(j) for j in service(request).store.list_jobs(limit, kind=st.RUN)]


@router.get("/runs/{job_id}", responses=refusals(404))
def get_run(job_id: str, request: Request) -> dict[str, Any]:
    svc = service(request)
    return run_detail(svc, get_or_404(svc, job_id))


@router.get("/runs/{job_id}/log", responses=refusals(404))
def get_log(job_id: str, request: Request, max_bytes: int = Query(64_000, ge=1, le=4_000_000)) -> dict[str, Any]:
    svc = service(request)
    job = get_or_404(svc, job_id)
    return {"id": job["id"], "status": job["status"], "log": tail(svc.manager.log_path(job_id), max_bytes)}


@router.post("/runs/{job_id}/cancel", responses=refusals(404, 409))
def post_cancel(job_id: str, request: Request) -> dict[str, Any]:
    return detail(cancel_job(service(request), job_id, st.RUN))


@router.post("/runs/{job_id}/restart", responses=refusals(404, 409))
def post_restart(job_id: str, request: Request) -> dict[str, Any]:
    return detail(restart_job(service(request), job_id, st.RUN))


@router.get("/runs/{job_id}/report.html", response_class=FileResponse, responses=refusals(404, 409))
def get_report_html(job_id: str, request: Request) -> FileResponse:
    return FileResponse(report_page(service(request), job_id), media_type="text/html; charset=utf-8")


@router.get("/compare", responses=refusals(404, 409))
def get_compare(request: Request, a: str, b: str) -> dict[str, Any]:
    svc = service(request)
    return compare_runs(str(finished_run_dir(svc, a)), str(finished_run_dir(svc, b)))


@router.get("/train-configs")
def get_train_configs() -> list[dict[str, str]]:
    """The training configs shipped in trainer/configs/, by name, with their YAML."""
    return [{"name": name, "yaml": tr.config_text(name)} for name in tr.config_names()]


@router.post("/trainings", status_code=201, responses=refusals(400, 409, 413, 503))
def post_training(body: TrainingCreate, request: Request) -> dict[str, Any]:
    svc = service(request)
    return training_detail(svc, create_training(svc, body))


@router.get("/trainings")
def get_trainings(request: Request, limit: int = Query(200, ge=1, le=10_000)) -> list[dict[str, Any]]:
    svc = service(request)
    return [training_item(svc, j) for j in svc.store.list_jobs(limit, kind=st.TRAINING)]


@router.get("/trainings/{job_id}", responses=refusals(404))
def get_training(job_id: str, request: Request) -> dict[str, Any]:
    svc = service(request)
    return training_detail(svc, get_or_404(svc, job_id, st.TRAINING))


@router.get("/trainings/{job_id}/log", responses=refusals(404))
def get_training_log(
    job_id: str, request: Request, max_bytes: int = Query(64_000, ge=1, le=4_000_000)
) -> dict[str, Any]:
    svc = service(request)
    job = get_or_404(svc, job_id, st.TRAINING)
    return {"id": job["id"], "status": job["status"], "log": tail(svc.manager.log_path(job_id), max_bytes)}


@router.get("/trainings/{job_id}/metrics", responses=refusals(404))
def get_training_metrics(job_id: str, request: Request) -> dict[str, Any]:
    """metrics.jsonl as {start, train: [...], eval: [...]} (what the loss curve is drawn from)."""
    svc = service(request)
    get_or_404(svc, job_id, st.TRAINING)
    return tr.read_metrics(svc.manager.ckpt_dir(job_id))


@router.post("/trainings/{job_id}/cancel", responses=refusals(404, 409))
def post_training_cancel(job_id: str, request: Request) -> dict[str, Any]:
    svc = service(request)
    return training_detail(svc, cancel_job(svc, job_id, st.TRAINING))


@router.post("/trainings/{job_id}/restart", responses=refusals(404, 409))
def post_training_restart(job_id: str, request: Request) -> dict[str, Any]:
    svc = service(request)
    return training_detail(svc, restart_job(svc, job_id, st.TRAINING))


@router.post("/trainings/{job_id}/generate", responses=refusals(400, 404, 409, 413, 429, 502, 504))
def post_generate(job_id: str, body: GenerateRequest, request: Request) -> dict[str, Any]:
    """A continuation from one of the training's checkpoints, by a generation worker process
    that keeps recently used checkpoints loaded (`model_cached`), with a time limit."""
    return generate_from(service(request), job_id, body)
