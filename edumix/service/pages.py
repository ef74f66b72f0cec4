"""The web UI: a few server-rendered pages over the same functions as the API.

Plain HTML with every value passed through html.escape, no JavaScript: the list refreshes
itself with <meta http-equiv=refresh>, forms post urlencoded bodies (parsed here, so no
multipart dependency). The training page's loss curve is an inline SVG drawn on the server
from metrics.jsonl (the page refreshes itself while the training runs); the generate box is a
form whose answer comes back in the page, escaped.
"""

from __future__ import annotations

import contextlib
from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from edumix.service import dataflow as df
from edumix.service import storage as st
from edumix.service import trainings as tr
from edumix.service.api import (
    GenerateRequest,
    RunCreate,
    RunRefused,
    TrainingCreate,
    create_run,
    create_training,
    generate_from,
    get_or_404,
    list_item,
    run_detail,
    service,
    training_detail,
    training_item,
)
from edumix.service.dataflow import DataflowSpec
from edumix.service.jobs import CONFIG_FILE, tail

router = APIRouter()

CSS = (
    "body{font:14px system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f6f6f6;padding:.6rem;overflow:auto;"
    "max-height:30rem}textarea{width:100%;font-family:monospace}.err{color:#b00;white-space:pre-wrap}"
    ".succeeded{color:#070}.failed,.interrupted{color:#b00}.running,.queued{color:#a60}.cancelled{color:#777}"
    "form.inline{display:inline}label{display:block;margin:.5rem 0 .2rem}"
    "pre.gen{white-space:pre-wrap;background:#eef6ee}svg.loss{max-width:100%;height:auto}"
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


def _float(x, fmt: str = ".4f") -> str:
    return "" if x is None else format(x, fmt)


def _facts(rows) -> str:
    """A two-column table; values are escaped unless given as (html,) tuples of trusted markup."""
    out = []
    for key, value in rows:
        shown = value[0] if isinstance(value, tuple) else escape("" if value is None else str(value))
        out.append(f"<tr><th>{escape(key)}</th><td>{shown}</td></tr>")
    return f"<table>{''.join(out)}</table>"


def _link(href: str, text: str) -> tuple[str]:
    return (f'<a href="{escape(href)}">{escape(text)}</a>',)


def _code(value) -> tuple[str]:
    return (f"<code>{escape(str(value))}</code>",) if value else ("",)


def _mfu(x) -> str:
    return "n/a (no peak TFLOP/s known for this device)" if x is None else f"{x:.2%}"


def _trainings_table(items: list[dict]) -> str:
    rows = "".join(
        f'<tr><td><a href="/trainings/{escape(t["id"])}">{escape(t["name"])}</a></td>'
        f'<td class="{escape(t["status"])}">{escape(t["status"])}</td><td class="n">{escape(str(t["phase"]))}</td>'
        f'<td><a href="/runs/{escape(t["run"])}">{escape(t["run"])}</a></td>'
        f'<td class="n">{_num(t["step"])} / {_num(t["steps_total"])}</td><td class="n">{_float(t["loss"])}</td>'
        f'<td class="n">{_float(t["tokens_per_s"], ",.0f")}</td>'
        f'<td class="n">{_float(t["mfu"], ".2%")}</td>'
        f"<td><code>{escape(t['train_config_hash'] or '')}</code></td></tr>"
        for t in items
    )
    names = ("name", "status", "phase", "source run", "step", "loss", "tokens/s", "MFU", "train config")
    head = "<tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    return f"<table>{head}{rows or '<tr><td colspan=9>no trainings yet</td></tr>'}</table>"


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


# The new-run form's Dataflow fields: (form name, DataflowSpec field, label, input attributes).
DATAFLOW_FIELDS = (
    ("df_project", "project", "Project ID", 'maxlength="100"'),
    ("df_region", "region", "Region (e.g. us-central1)", 'maxlength="64"'),
    ("df_temp_location", "temp_location", "Temp location (gs://BUCKET/tmp)", 'maxlength="1000"'),
    ("df_output", "output", "Output run directory (gs://BUCKET/runs/NAME)", 'maxlength="1000"'),
    ("df_staging_location", "staging_location", "Staging location (optional, gs://)", 'maxlength="1000"'),
    ("df_sdk_container_image", "sdk_container_image", "Worker image (deploy/dataflow/Dockerfile)", 'maxlength="500"'),
    ("df_service_account_email", "service_account_email", "Service account (optional)", 'maxlength="200"'),
    ("df_max_num_workers", "max_num_workers", "Max workers (optional)", 'type="number" min="1" max="4000"'),
)


def _checked(values: dict[str, str], name: str, default: bool) -> str:
    """A checkbox's state: as posted when the form comes back, else its default."""
    on = values.get(name) == "1" if "runner" in values else default
    return " checked" if on else ""


def _form(values: dict[str, str], error: str = "") -> str:
    err = f'<p class="err">{escape(error)}</p>' if error else ""
    dataflow = values.get("runner") == "dataflow"
    fields = "".join(
        f'<label>{escape(label)}</label><input name="{name}" {attrs} value="{escape(values.get(name, ""))}">'
        for name, _, label, attrs in DATAFLOW_FIELDS
    )
    return (
        f'<h2>New run</h2>{err}<form method="post" action="/runs">'
        f'<label>Name</label><input name="name" required maxlength="200" value="{escape(values.get("name", ""))}">'
        "<label>Inputs (one a line: the local runner reads absolute paths under the server's roots, or "
        "<code>demo</code>; Dataflow reads <code>gs://</code> paths or globs)</label>"
        f'<textarea name="inputs" rows="3">{escape(values.get("inputs", "demo"))}</textarea>'
        "<label>Config (YAML; empty: the defaults)</label>"
        f'<textarea name="config_yaml" rows="10">{escape(values.get("config_yaml", ""))}</textarea>'
        "<fieldset><legend>Runner</legend>"
        f'<label><input type="radio" name="runner" value="local"{"" if dataflow else " checked"}> '
        "Local, on this server</label>"
        '<label>Workers</label><input name="workers" type="number" min="1" max="64" '
        f'value="{escape(values.get("workers", "1"))}">'
        f'<label><input type="radio" name="runner" value="dataflow"{" checked" if dataflow else ""}> '
        "Google Cloud Dataflow (submitted with this server's credentials)</label>"
        f"{fields}"
        f'<label><input type="checkbox" name="df_dry_run" value="1"{_checked(values, "df_dry_run", True)}> '
        "Dry run: build the job and show it, submit nothing</label>"
        f'<label><input type="checkbox" name="df_overwrite" value="1"{_checked(values, "df_overwrite", False)}> '
        "Replace a run already in the output</label>"
        "<label>More Beam options (one a line, <code>--key=value</code>, e.g. "
        "<code>--machine_type=n2-highmem-4</code>)</label>"
        f'<textarea name="df_options" rows="3">{escape(values.get("df_options", ""))}</textarea>'
        "</fieldset>"
        ' <button type="submit">Start</button></form>'
    )


def _run_body(form: dict[str, str]) -> RunCreate:
    """The API's request from the new-run form (ValidationError / ValueError when it does not fit)."""
    runner = form.get("runner") or "local"
    dataflow = None
    if runner == "dataflow":
        fields: dict = {key: form.get(name, "").strip() or None for name, key, _, _ in DATAFLOW_FIELDS}
        if fields["max_num_workers"] is not None:
            fields["max_num_workers"] = int(fields["max_num_workers"])
        for key in ("project", "region", "temp_location", "output"):  # required: let the model name them
            if fields[key] is None:
                del fields[key]
        options = [line.strip() for line in form.get("df_options", "").splitlines() if line.strip()]
        dataflow = DataflowSpec(
            **fields,
            dry_run=form.get("df_dry_run") == "1",
            overwrite=form.get("df_overwrite") == "1",
            options=options,
        )
    return RunCreate(
        name=form.get("name", ""),
        inputs=[line.strip() for line in form.get("inputs", "").splitlines() if line.strip()],
        config_yaml=form.get("config_yaml", ""),
        runner=runner,
        workers=int(form.get("workers") or 1) if runner != "dataflow" else 1,
        dataflow=dataflow,
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    svc = service(request)
    jobs = [list_item(j) for j in svc.store.list_jobs(kind=st.RUN)]
    trains = [training_item(svc, j) for j in svc.store.list_jobs(kind=st.TRAINING)]
    body = (
        f"<h1>Runs</h1>{_runs_table(jobs)}"
        f'<h2>Trainings</h2><p><a href="/trainings/new">New training</a></p>{_trainings_table(trains)}{_form({})}'
    )
    return _page("edumix runs", body, refresh=5)


@router.post("/runs", response_class=HTMLResponse)
async def create(request: Request):
    form = _form_fields(await request.body())  # the config as typed, not with the browser's CRLF
    try:
        body = _run_body(form)
    except (ValidationError, ValueError) as e:
        errors = e.errors() if isinstance(e, ValidationError) else [{"loc": ["workers"], "msg": str(e)}]
        message = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors)
        return _page("New run", _form(form, message), status=422)
    try:
        job = await run_in_threadpool(create_run, service(request), body)
    except RunRefused as e:
        return _page("New run", _form(form, e.detail), status=e.status)
    return RedirectResponse(f"/runs/{job['id']}", status_code=303)


def _progress_table(progress: dict | None) -> str:
    """Documents through each stage so far, from the run's live progress record."""
    if not progress or not progress.get("stages"):
        return ""
    files = progress.get("files") or {}
    rows = "".join(
        f"<tr><td>{escape(str(r.get('stage')))}</td><td>{_num(r.get('in'))}</td><td>{_num(r.get('dropped'))}</td>"
        f"<td>{_num(r.get('out'))}</td></tr>"
        for r in progress["stages"]
    )
    elapsed = int(progress.get("elapsed_s") or 0)
    return (
        f'<h2 id="progress">Progress</h2><p>{elapsed // 60}:{elapsed % 60:02d} elapsed · '
        f"{_num(files.get('done'))} of {_num(files.get('total'))} input files read</p>"
        f"<table><tr><th>stage</th><th>in</th><th>dropped</th><th>out</th></tr>{rows}</table>"
    )


@router.get("/runs/{job_id}", response_class=HTMLResponse)
def run_page(job_id: str, request: Request) -> HTMLResponse:
    svc = service(request)
    try:
        job = run_detail(svc, get_or_404(svc, job_id))
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
        report = f'<a href="{escape(job["links"]["report_html"])}">report</a>'
        report += f' · <a href="/trainings/new?run={jid}">train a model on this run</a>'
        report = f" · {report}" if actions else report
    error = f'<p class="err">{escape(job["error"])}</p>' if job["error"] else ""
    facts = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
        for k, v in (
            ("status", job["status"]),
            ("created", job["created"]),
            ("started", job["started"]),
            ("finished", job["finished"]),
            ("inputs", ", ".join(job["inputs"])),
            ("runner", "Dataflow" if job["runner"] == df.DATAFLOW else f"local, {job['workers']} worker(s)"),
            ("records in", _num(job["records_in"])),
            ("kept", _num(job["kept"])),
            ("tokens", _num(job["tokens"])),
            ("config hash", job["config_hash"] or ""),
        )
    )
    lineage = job["lineage"] or {}
    facts += "".join(
        f"<tr><th>{escape(k)}</th><td><code>{escape(str(lineage.get(key) or ''))}</code></td></tr>"
        for k, key in (("input fingerprint", "input_fingerprint"), ("recipe hash", "recipe_hash"))
    )
    log = escape(tail(svc.manager.log_path(job_id), 16_000))
    live = job["status"] in (st.QUEUED, st.RUNNING)
    progress = _progress_table(job.get("progress")) if live else ""
    trains = f'<h2 id="trainings">Trainings from this run</h2>{_trainings_table(job["trainings"])}'
    if job["runner"] == df.DATAFLOW:
        trains = _dataflow_section(job)
    body = (
        f'<h1>{escape(job["name"])} <small class="{escape(job["status"])}">{escape(job["status"])}</small></h1>'
        f"{error}<p>{actions}{report}</p><table>{facts}</table>{progress}{trains}<h2>Log (tail)</h2><pre>{log}</pre>"
    )
    return _page(f"run {job['name']}", body, refresh=3 if live else None)


def _dataflow_section(job: dict) -> str:
    """A Dataflow run's options, and its job as the child reported it (the CLI's printed
    description for a dry run or a job not waited for; the id Beam logged when it created it)."""
    options = job["dataflow"]
    rows = [(key, options.get(key)) for _, key, _, _ in DATAFLOW_FIELDS]
    rows += [("dry run", "yes" if options.get("dry_run") else "no"), ("more options", " ".join(options["options"]))]
    found = job.get("dataflow_job") or {}
    if found.get("job_id"):
        rows.append(("job id", _code(found["job_id"])))
        rows.append(("console", _link(found["console_url"], "Dataflow console")))
        rows.append(("cancel in the cloud", _code(found["cancel_command"])))
    summary = job["summary"] or {}
    if summary.get("report_json"):
        rows.append(("report", _code(summary["report_json"])))
    out = f'<h2 id="dataflow">Dataflow</h2>{_facts(rows)}'
    if found.get("description"):
        out += f'<h3>Job</h3><pre class="job">{escape(found["description"])}</pre>'
    if job["status"] in (st.QUEUED, st.RUNNING) and not options.get("dry_run"):
        out += (
            "<p>Cancel stops this server's launcher process; a job already submitted keeps running on "
            "Dataflow until it is cancelled there (the command above).</p>"
        )
    return out


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


# -- trainings -----------------------------------------------------------------------------
def _form_fields(request_body: bytes) -> dict[str, str]:
    fields = {k: v[-1] for k, v in parse_qs(request_body.decode("utf-8", "replace")).items()}
    return {k: v.replace("\r\n", "\n") for k, v in fields.items()}  # browsers send textareas with CRLF


def _options(choices: list[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(label)}</option>'
        for v, label in choices
    )


PHASES = [
    ("1", "1: all tiers, from scratch"),
    ("2", "2: the top tier, from a checkpoint"),
    ("long", "long: long-context continuation, from a phase-1/phase-2 checkpoint"),
]


def _training_form(svc, values: dict[str, str], error: str = "") -> str:
    runs = [
        (j["id"], f"{j['name']} ({j['id']})")
        for j in svc.store.list_jobs(kind=st.RUN)
        if j["status"] == st.SUCCEEDED and j["spec"].get("runner") != df.DATAFLOW
    ]
    inits = [("", "(phase 1: none)")] + [
        (j["id"], f"{j['name']} ({j['id']}, phase {j['spec']['phase']})")
        for j in svc.store.list_jobs(kind=st.TRAINING)
        if j["status"] in st.FINAL and tr.latest_checkpoint(svc.manager.ckpt_dir(j["id"]))
    ]
    names = tr.config_names()
    init_config = None
    if values.get("init_training") and not values.get("config"):  # phase 2: its init's config, to edit
        init_job = svc.store.get_job(values["init_training"])
        if init_job is not None and init_job["kind"] == st.TRAINING:
            with contextlib.suppress(OSError):
                init_config = (svc.manager.job_dir(init_job["id"]) / CONFIG_FILE).read_text(encoding="utf-8")
    config = values.get("config") or ("" if init_config else "tiny" if "tiny" in names else "")
    if "config_yaml" in values:
        text = values["config_yaml"]
    elif init_config is not None:
        text = init_config
    else:
        try:
            text = tr.config_text(config)
        except tr.ConfigInvalid:
            text = ""
    err = f'<p class="err">{escape(error)}</p>' if error else ""
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{escape(values.get(k, ""))}">'
        for k in ("run", "init_training", "name")
    )
    load = (
        f'<form method="get" action="/trainings/new">{hidden}<label>Base config (trainer/configs/)</label>'
        f'<select name="config">{_options([(n, n) for n in names], config)}</select> '
        "<button>Load into the editor</button></form>"
    )
    phase = values.get("phase") or ("2" if values.get("init_training") else "1")
    return (
        f'<h1>New training</h1>{err}{load}<form method="post" action="/trainings">'
        f'<input type="hidden" name="config" value="{escape(config)}">'
        f'<label>Name</label><input name="name" required maxlength="200" value="{escape(values.get("name", ""))}">'
        f'<label>Phase</label><select name="phase">{_options(PHASES, phase)}</select>'
        '<label>Source run (a succeeded run)</label><select name="run">'
        '<option value="">(phase 2: the init training\'s run)</option>'
        f"{_options(runs, values.get('run', ''))}</select><label>Phase 2 / long: start from training</label>"
        f'<select name="init_training">{_options(inits, values.get("init_training", ""))}</select>'
        "<label>Phase 2 / long: checkpoint (step-NNNNNNNN; empty: its latest)</label>"
        f'<input name="init_checkpoint" maxlength="13" value="{escape(values.get("init_checkpoint", ""))}">'
        f"<label>Config (YAML, checked before anything starts)</label>"
        f'<textarea name="config_yaml" rows="16">{escape(text)}</textarea>'
        "<label>Steps (empty: the config's)</label>"
        f'<input name="steps" type="number" min="1" value="{escape(values.get("steps", ""))}">'
        "<label>Tokenizer vocabulary (phase 1)</label>"
        f'<input name="vocab_size" type="number" min="263" value="{escape(values.get("vocab_size", "2048"))}">'
        "<label>Device (cpu, cuda, cuda:N; empty: cuda when present)</label>"
        f'<input name="device" maxlength="8" value="{escape(values.get("device", ""))}">'
        "<label>Peak TFLOP/s per device (for MFU; empty: known GPUs only)</label>"
        f'<input name="peak_tflops" value="{escape(values.get("peak_tflops", ""))}">'
        ' <button type="submit">Start training</button></form>'
    )


@router.get("/trainings/new", response_class=HTMLResponse)
def new_training(
    request: Request, run: str = "", init_training: str = "", config: str = "", name: str = ""
) -> HTMLResponse:
    values = {"run": run, "init_training": init_training, "config": config, "name": name}
    return _page("New training", _training_form(service(request), values))


def _training_body(form: dict[str, str]) -> TrainingCreate:
    config = form.get("config") or None
    text = form.get("config_yaml", "")
    try:
        if config and text.strip() == tr.config_text(config).strip():
            text = ""  # the shipped config, unedited: record it by name
    except tr.ConfigInvalid:
        pass
    phase = form.get("phase") or "1"
    return TrainingCreate(
        name=form.get("name", ""),
        phase=int(phase) if phase.isascii() and phase.isdigit() else phase,
        run=form.get("run") or None,
        init_training=form.get("init_training") or None,
        init_checkpoint=form.get("init_checkpoint") or None,
        config=config,
        config_yaml=text,
        steps=int(form["steps"]) if form.get("steps") else None,
        vocab_size=int(form.get("vocab_size") or 2048),
        device=form.get("device") or None,
        peak_tflops=float(form["peak_tflops"]) if form.get("peak_tflops") else None,
    )


def _problems(e: Exception) -> str:
    errors = e.errors() if isinstance(e, ValidationError) else [{"loc": ["form"], "msg": str(e)}]
    return "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errors)


@router.post("/trainings", response_class=HTMLResponse)
async def create_training_page(request: Request):
    svc = service(request)
    form = _form_fields(await request.body())
    try:
        body = _training_body(form)
    except (ValidationError, ValueError) as e:
        return _page("New training", _training_form(svc, form, _problems(e)), status=422)
    try:
        job = await run_in_threadpool(create_training, svc, body)
    except RunRefused as e:
        return _page("New training", _training_form(svc, form, e.detail), status=e.status)
    return RedirectResponse(f"/trainings/{job['id']}", status_code=303)


def _lineage_table(t: dict) -> str:
    mine, run = t["lineage"], t["source_run"]["lineage"]
    rows = []
    for label, key in (
        ("config hash", "config_hash"),
        ("input fingerprint", "input_fingerprint"),
        ("recipe hash", "recipe_hash"),
    ):
        a, b = mine.get(key), run.get(key)
        flag = ' <span class="err">differs</span>' if a and b and a != b else ""
        rows.append(
            f"<tr><th>{label}</th><td><code>{escape(str(a or ''))}</code>{flag}</td>"
            f"<td><code>{escape(str(b or ''))}</code></td></tr>"
        )
    for label, key in (("train config hash", "train_config_hash"), ("tokenizer sha256", "tokenizer_sha256")):
        rows.append(f"<tr><th>{label}</th><td><code>{escape(str(mine.get(key) or '')[:16])}</code></td><td></td></tr>")
    head = "<tr><th></th><th>checkpoint (meta.json)</th><th>source run (manifest.json)</th></tr>"
    return f'<table class="lineage">{head}{"".join(rows)}</table>'


def _checkpoints_table(t: dict) -> str:
    if not t["checkpoints"]:
        return "<p>No checkpoint yet.</p>"
    run = escape(t["run"])
    rows = "".join(
        f"<tr><td><code>{escape(c['name'])}</code>{' (latest)' if c['latest'] else ''}</td>"
        f'<td class="n">{_num(c["step"])}</td>'
        f"<td><code>{escape(str(c['lineage'].get('recipe_hash') or ''))}</code></td>"
        f'<td><a href="/api/runs/{run}/report.html#mix">mix</a> → <a href="/runs/{run}">run</a></td></tr>'
        for c in t["checkpoints"]
    )
    head = "<tr><th>checkpoint</th><th>step</th><th>recipe hash</th><th>made from</th></tr>"
    return f"<table>{head}{rows}</table>"


def _generate_form(t: dict, values: dict[str, str], output: str | None, error: str) -> str:
    if "generate" not in t["links"]:
        return ""
    choices = [(c["name"], c["name"] + (" (latest)" if c["latest"] else "")) for c in reversed(t["checkpoints"])]
    tid = escape(t["id"])
    err = f'<p class="err">{escape(error)}</p>' if error else ""
    shown = f'<h3>Output</h3><pre class="gen">{escape(output)}</pre>' if output is not None else ""
    return (
        f'<h2 id="generate">Generate</h2>{err}<form method="post" action="/trainings/{tid}/generate#generate">'
        f'<label>Checkpoint</label><select name="checkpoint">{_options(choices, values.get("checkpoint", ""))}</select>'
        '<label>Prompt</label><textarea name="prompt" rows="3" maxlength="4000">'
        f"{escape(values.get('prompt', ''))}</textarea>"
        '<label>New tokens</label><input name="max_new_tokens" type="number" min="1" max="512" '
        f'value="{escape(values.get("max_new_tokens", "48"))}">'
        "<label>Temperature (0: greedy)</label>"
        f'<input name="temperature" value="{escape(values.get("temperature", "0.8"))}">'
        f'<label>Seed</label><input name="seed" type="number" min="0" value="{escape(values.get("seed", "0"))}">'
        f' <button type="submit">Generate</button></form>{shown}'
    )


def _training_page(
    svc,
    job_id: str,
    gen_values: dict[str, str] | None = None,
    output: str | None = None,
    gen_error: str = "",
    status: int = 200,
) -> HTMLResponse:
    try:
        t = training_detail(svc, get_or_404(svc, job_id, st.TRAINING))
    except HTTPException:
        return _page("not found", f"<p>No training {escape(job_id)}.</p>", status=404)
    tid, s = escape(t["id"]), t["summary"]
    actions = ""
    if t["status"] in (st.QUEUED, st.RUNNING):
        actions = f'<form class="inline" method="post" action="/trainings/{tid}/cancel"><button>Cancel</button></form>'
    elif t["status"] in (st.INTERRUPTED, st.FAILED, st.CANCELLED):
        actions = (
            f'<form class="inline" method="post" action="/trainings/{tid}/restart">'
            "<button>Restart (from its last checkpoint)</button></form>"
        )
    if "generate" in t["links"]:
        actions += f' <a href="/trainings/new?init_training={tid}">continue as phase 2</a>'
    error = f'<p class="err">{escape(t["error"])}</p>' if t["error"] else ""
    run = t["source_run"]
    init = t["init"]
    facts = _facts(
        [
            ("status", t["status"]),
            ("phase", t["phase"]),
            ("source run", _link(f"/runs/{run['id']}", f"{run['name'] or '?'} ({run['id']})")),
            ("its mix", _link(f"/api/runs/{run['id']}/report.html#mix", "data mix (report)")),
            (
                "started from",
                _link(f"/trainings/{init['training']}", f"{init['training']} / {init['checkpoint']}") if init else "",
            ),
            ("config", t["config"] or "edited YAML"),
            ("step", f"{_num(s['step'])} / {_num(t['steps_total'])}"),
            ("loss (first → last)", f"{_float(s['loss_first'])} → {_float(s['loss'])}"),
            ("eval loss (mean over domains)", _float(s["eval_loss"])),
            ("tokens/s (last, mean)", f"{_float(s['tokens_per_s'], ',.0f')}, {_float(s['tokens_per_s_mean'], ',.0f')}"),
            ("MFU", _mfu(s["mfu"])),
            ("parameters", _num(s["params"])),
            ("device", s["device"] or t["device"] or ""),
            ("created", t["created"]),
            ("started", t["started"]),
            ("finished", t["finished"]),
        ]
    )
    svg = tr.loss_svg(tr.read_metrics(svc.manager.ckpt_dir(job_id)))
    curve = svg or "<p>No loss logged yet.</p>"
    continued = "".join(f'<li><a href="/trainings/{escape(c)}">{escape(c)}</a></li>' for c in t["continued_by"])
    continued = f"<h2>Continued by</h2><ul>{continued}</ul>" if continued else ""
    log = escape(tail(svc.manager.log_path(job_id), 16_000))
    live = t["status"] in (st.QUEUED, st.RUNNING)
    body = (
        f'<h1>{escape(t["name"])} <small class="{escape(t["status"])}">{escape(t["status"])}</small></h1>'
        f"{error}<p>{actions}</p>{facts}<h2>Loss</h2>{curve}<h2>Lineage</h2>{_lineage_table(t)}"
        f"<h2>Checkpoints</h2>{_checkpoints_table(t)}{continued}"
        f"{_generate_form(t, gen_values or {}, output, gen_error)}<h2>Log (tail)</h2><pre>{log}</pre>"
    )
    return _page(f"training {t['name']}", body, refresh=3 if live else None, status=status)


@router.get("/trainings/{job_id}", response_class=HTMLResponse)
def training_page(job_id: str, request: Request) -> HTMLResponse:
    return _training_page(service(request), job_id)


@router.post("/trainings/{job_id}/generate", response_class=HTMLResponse)
async def generate_page(job_id: str, request: Request) -> HTMLResponse:
    svc = service(request)
    form = _form_fields(await request.body())
    try:
        body = GenerateRequest(
            prompt=form.get("prompt", ""),
            checkpoint=form.get("checkpoint") or None,
            max_new_tokens=int(form.get("max_new_tokens") or 48),
            temperature=float(form.get("temperature") or 0.8),
            seed=int(form.get("seed") or 0),
        )
    except (ValidationError, ValueError) as e:
        return await run_in_threadpool(_training_page, svc, job_id, form, None, _problems(e), 422)
    try:
        result = await run_in_threadpool(generate_from, svc, job_id, body)
    except HTTPException:
        return await run_in_threadpool(_training_page, svc, job_id)
    except RunRefused as e:
        return await run_in_threadpool(_training_page, svc, job_id, form, None, e.detail, e.status)
    return await run_in_threadpool(_training_page, svc, job_id, form, result["text"])


@router.post("/trainings/{job_id}/cancel")
def cancel_training(job_id: str, request: Request) -> RedirectResponse:
    svc = service(request)
    get_or_404(svc, job_id, st.TRAINING)
    svc.manager.cancel(job_id)
    return RedirectResponse(f"/trainings/{job_id}", status_code=303)


@router.post("/trainings/{job_id}/restart")
def restart_training(job_id: str, request: Request) -> RedirectResponse:
    svc = service(request)
    job = get_or_404(svc, job_id, st.TRAINING)
    if job["status"] in (st.INTERRUPTED, st.FAILED, st.CANCELLED):
        svc.manager.restart(job_id)
    return RedirectResponse(f"/trainings/{job_id}", status_code=303)
