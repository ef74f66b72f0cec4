"""The web UI: a few server-rendered pages over the same functions as the API.

Plain HTML with every value passed through html.escape, no JavaScript: the list refreshes
itself with <meta http-equiv=refresh>, forms post urlencoded bodies (parsed here, so no
multipart dependency).
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from edumix.service import storage as st
from edumix.service.api import RunCreate, RunRefused, create_run, detail, get_or_404, list_item, service
from edumix.service.jobs import tail

router = APIRouter()

CSS = (
    "body{font:14px system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f6f6f6;padding:.6rem;overflow:auto;"
    "max-height:30rem}textarea{width:100%;font-family:monospace}.err{color:#b00;white-space:pre-wrap}"
    ".succeeded{color:#070}.failed,.interrupted{color:#b00}.running,.queued{color:#a60}.cancelled{color:#777}"
    "form.inline{display:inline}label{display:block;margin:.5rem 0 .2rem}"
)


def _page(title: str, body: str, refresh: int | None = None, status: int = 200) -> HTMLResponse:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{meta}<title>{escape(title)}</title>'
        f'<link rel="icon" href="data:,"><style>{CSS}</style></head><body>'
        f'<p><a href="/">edumix serve</a></p>{body}</body></html>',
        status_code=status,
    )


def _num(n) -> str:
    return "" if n is None else f"{n:,}"


def _runs_table(jobs: list[dict]) -> str:
    rows = "".join(
        f'<tr><td><a href="/runs/{escape(j["id"])}">{escape(j["name"])}</a></td>'
        f'<td class="{escape(j["status"])}">{escape(j["status"])}</td><td>{escape(j["created"] or "")}</td>'
        f'<td class="n">{_num(j["records_in"])}</td><td class="n">{_num(j["kept"])}</td>'
        f'<td class="n">{_num(j["tokens"])}</td><td><code>{escape(j["config_hash"] or "")}</code></td></tr>'
        for j in jobs
    )
    names = ("name", "status", "created", "records in", "kept", "tokens", "config")
    head = "<tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    return f"<table>{head}{rows or '<tr><td colspan=7>no runs yet</td></tr>'}</table>"


def _form(values: dict[str, str], error: str = "") -> str:
    err = f'<p class="err">{escape(error)}</p>' if error else ""
    return (
        f'<h2>New run</h2>{err}<form method="post" action="/runs">'
        f'<label>Name</label><input name="name" required maxlength="200" value="{escape(values.get("name", ""))}">'
        "<label>Inputs (one a line: absolute paths under the server's roots, or <code>demo</code>)</label>"
        f'<textarea name="inputs" rows="3">{escape(values.get("inputs", "demo"))}</textarea>'
        "<label>Config (YAML; empty: the defaults)</label>"
        f'<textarea name="config_yaml" rows="10">{escape(values.get("config_yaml", ""))}</textarea>'
        '<label>Workers</label><input name="workers" type="number" min="1" max="64" '
        f'value="{escape(values.get("workers", "1"))}">'
        ' <button type="submit">Start</button></form>'
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    jobs = [list_item(j) for j in service(request).store.list_jobs()]
    return _page("edumix runs", f"<h1>Runs</h1>{_runs_table(jobs)}{_form({})}", refresh=5)


@router.post("/runs", response_class=HTMLResponse)
async def create(request: Request):
    form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    try:
        body = RunCreate(
            name=form.get("name", ""),
            inputs=[line.strip() for line in form.get("inputs", "").splitlines() if line.strip()],
            config_yaml=form.get("config_yaml", ""),
            workers=int(form.get("workers") or 1),
        )
    except (ValidationError, ValueError) as e:
        errors = e.errors() if isinstance(e, ValidationError) else [{"loc": ["workers"], "msg": str(e)}]
        message = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors)
        return _page("New run", _form(form, message), status=422)
    try:
        job = await run_in_threadpool(create_run, service(request), body)
    except RunRefused as e:
        return _page("New run", _form(form, e.detail), status=e.status)
    return RedirectResponse(f"/runs/{job['id']}", status_code=303)


@router.get("/runs/{job_id}", response_class=HTMLResponse)
def run_page(job_id: str, request: Request) -> HTMLResponse:
    svc = service(request)
    try:
        job = detail(get_or_404(svc, job_id))
    except HTTPException:
        return _page("not found", f"<p>No run {escape(job_id)}.</p>", status=404)
    jid = escape(job["id"])
    actions = ""
    if job["status"] in (st.QUEUED, st.RUNNING):
        actions = f'<form class="inline" method="post" action="/runs/{jid}/cancel"><button>Cancel</button></form>'
    elif job["status"] in (st.INTERRUPTED, st.FAILED, st.CANCELLED):
        actions = f'<form class="inline" method="post" action="/runs/{jid}/restart"><button>Restart</button></form>'
    report = ""
    if "report_html" in job["links"]:
        report = f' · <a href="{escape(job["links"]["report_html"])}">report</a>'
    error = f'<p class="err">{escape(job["error"])}</p>' if job["error"] else ""
    facts = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
        for k, v in (
            ("status", job["status"]),
            ("created", job["created"]),
            ("started", job["started"]),
            ("finished", job["finished"]),
            ("inputs", ", ".join(job["inputs"])),
            ("workers", job["workers"]),
            ("records in", _num(job["records_in"])),
            ("kept", _num(job["kept"])),
            ("tokens", _num(job["tokens"])),
            ("config hash", job["config_hash"] or ""),
        )
    )
    log = escape(tail(svc.manager.log_path(job_id), 16_000))
    live = job["status"] in (st.QUEUED, st.RUNNING)
    body = (
        f'<h1>{escape(job["name"])} <small class="{escape(job["status"])}">{escape(job["status"])}</small></h1>'
        f"{error}<p>{actions}{report}</p><table>{facts}</table><h2>Log (tail)</h2><pre>{log}</pre>"
    )
    return _page(f"run {job['name']}", body, refresh=3 if live else None)


@router.post("/runs/{job_id}/cancel")
def cancel(job_id: str, request: Request) -> RedirectResponse:
    svc = service(request)
    get_or_404(svc, job_id)
    svc.manager.cancel(job_id)
    return RedirectResponse(f"/runs/{job_id}", status_code=303)


@router.post("/runs/{job_id}/restart")
def restart(job_id: str, request: Request) -> RedirectResponse:
    svc = service(request)
    job = get_or_404(svc, job_id)
    if job["status"] in (st.INTERRUPTED, st.FAILED, st.CANCELLED):
        svc.manager.restart(job_id)
    return RedirectResponse(f"/runs/{job_id}", status_code=303)
