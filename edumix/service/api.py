"""The JSON API under /api: create, list, inspect, cancel and restart curate runs.

A run's config is validated with edumix's own RunConfig before anything is written, so a
typo in a key is a 422 naming the field, not a job that fails a minute later.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edumix import __version__
from edumix.core.config import RunConfig, parse_yaml
from edumix.demo import write_demo_crawl
from edumix.report.compare import compare_runs
from edumix.report.html import write_report_html
from edumix.service import storage as st
from edumix.service.jobs import CONFIG_FILE, DEMO, JobManager, new_job_id, tail
from edumix.service.security import PathInvalid, PathRefused, confine_inputs

router = APIRouter(prefix="/api")


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    inputs: list[str] = Field(min_length=1, max_length=1000, description='Local paths under --root, or "demo".')
    config_yaml: str = Field("", description="A run config (YAML); empty: the defaults.")
    workers: int = Field(1, ge=1, le=64, description="Beam DirectRunner worker processes (1: in-process).")


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


def create_run(svc: Service, body: RunCreate) -> dict[str, Any]:
    """Validate everything, then write the job directory and queue the job."""
    validate_config(body.config_yaml)
    local = [p for p in body.inputs if p != DEMO]
    try:
        paths = confine_inputs(local, svc.roots)
    except PathRefused as e:
        raise RunRefused(403, str(e)) from e
    except PathInvalid as e:
        raise RunRefused(422, str(e)) from e
    job_id = new_job_id()
    job_dir = svc.manager.job_dir(job_id)
    job_dir.mkdir(parents=True)
    try:
        (job_dir / CONFIG_FILE).write_text(body.config_yaml, encoding="utf-8")
        if DEMO in body.inputs:
            crawl = job_dir / "crawl" / "demo-crawl.warc.gz"
            crawl.parent.mkdir()
            write_demo_crawl(crawl)
            paths.insert(0, str(crawl))
        spec = {"inputs": body.inputs, "input_paths": paths, "workers": body.workers}
        job = svc.store.create_job(job_id, body.name, spec)
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
        "exit_code": job["exit_code"],
        "error": job["error"],
        "inputs": job["spec"]["inputs"],
        "workers": job["spec"].get("workers", 1),
        "summary": job["summary"],
        "links": {"log": f"/api/runs/{job['id']}/log"},
    }
    if job["status"] == st.SUCCEEDED:
        out["links"]["report_html"] = f"/api/runs/{job['id']}/report.html"
    return out


def _iso(t: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else None


def get_or_404(svc: Service, job_id: str) -> dict[str, Any]:
    job = svc.store.get_job(job_id)
    if job is None:
        raise HTTPException(404, f"no run {job_id!r}")
    return job


def finished_run_dir(svc: Service, job_id: str) -> Path:
    job = get_or_404(svc, job_id)
    if job["status"] != st.SUCCEEDED:
        raise HTTPException(409, f"run {job_id} has no report: it is {job['status']}")
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
    return {"ok": True, "version": __version__, "running": svc.manager.active(), "max_jobs": svc.manager.max_jobs}


@router.post("/runs", status_code=201)
def post_run(body: RunCreate, request: Request) -> dict[str, Any]:
    return detail(create_run(service(request), body))


@router.get("/runs")
def get_runs(request: Request, limit: int = Query(200, ge=1, le=10_000)) -> list[dict[str, Any]]:
    return [list_item(j) for j in service(request).store.list_jobs(limit)]


@router.get("/runs/{job_id}")
def get_run(job_id: str, request: Request) -> dict[str, Any]:
    return detail(get_or_404(service(request), job_id))


@router.get("/runs/{job_id}/log")
def get_log(job_id: str, request: Request, max_bytes: int = Query(64_000, ge=1, le=4_000_000)) -> dict[str, Any]:
    svc = service(request)
    job = get_or_404(svc, job_id)
    return {"id": job["id"], "status": job["status"], "log": tail(svc.manager.log_path(job_id), max_bytes)}


@router.post("/runs/{job_id}/cancel")
def post_cancel(job_id: str, request: Request) -> dict[str, Any]:
    svc = service(request)
    job = get_or_404(svc, job_id)
    if not svc.manager.cancel(job_id):
        raise HTTPException(409, f"run {job_id} is {job['status']}: nothing to cancel")
    return detail(get_or_404(svc, job_id))


@router.post("/runs/{job_id}/restart")
def post_restart(job_id: str, request: Request) -> dict[str, Any]:
    svc = service(request)
    job = get_or_404(svc, job_id)
    if job["status"] not in (st.INTERRUPTED, st.FAILED, st.CANCELLED):
        raise HTTPException(
            409, f"run {job_id} is {job['status']}: only an interrupted, failed or cancelled run restarts"
        )
    if not svc.manager.restart(job_id):
        raise HTTPException(409, f"run {job_id} is still stopping; try again in a moment")
    return detail(get_or_404(svc, job_id))


@router.get("/runs/{job_id}/report.html", response_class=FileResponse)
def get_report_html(job_id: str, request: Request) -> FileResponse:
    return FileResponse(report_page(service(request), job_id), media_type="text/html; charset=utf-8")


@router.get("/compare")
def get_compare(request: Request, a: str, b: str) -> dict[str, Any]:
    svc = service(request)
    return compare_runs(str(finished_run_dir(svc, a)), str(finished_run_dir(svc, b)))
