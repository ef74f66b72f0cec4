"""The `edumix` command line. Every command has --help; the README documents each."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from edumix import __version__
from edumix.core.stop import stops_clean_up
from edumix.report.summary import print_summary
from edumix.trainer.cli import register as register_trainer_commands

app = typer.Typer(
    help="Curate LLM pretraining data on Apache Beam and prove it on a compact model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)  # [aws], globs like [ab]*: literal
    raise typer.Exit(code)


def _curate(
    inputs: list[str],
    output: str,
    config: str | Path | None,
    extra: list[str],
    overwrite: bool,
    dirty_words_file: Path | None = None,
    cache: str | None = None,
) -> dict:
    from edumix.launch import LAUNCH_ERRORS, CurateRequest, launch_curate, split_beam_args

    try:
        request = CurateRequest(inputs, output, split_beam_args(extra), config, overwrite, dirty_words_file, cache)
        with stops_clean_up():
            return launch_curate(request)
    except LAUNCH_ERRORS as e:
        _fail(str(e))


@app.command(context_settings=_PASSTHROUGH)
def curate(
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Option(
            "--input",
            "-i",
            help="File or glob (local or gs://); repeat for more. WARC/ARC/WET (.gz), JSONL (.gz/.zst) or Parquet.",
        ),
    ],
    output: Annotated[str, typer.Option("--output", "--out", "-o", help="Run directory (local or gs://).")],
    config: Annotated[str | None, typer.Option("--config", "-c", help="Run config YAML (local or gs://).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a previous run in --output.")] = False,
    dirty_words_file: Annotated[
        Path | None, typer.Option(help="Extra dirty words, one a line, added to the shipped list.")
    ] = None,
    cache: Annotated[
        str | None,
        typer.Option(
            envvar="EDUMIX_CACHE",
            help="Local directory keeping each document's per-stage results: a killed run re-run with the "
            "same --cache resumes, and a change to later settings (mix, tiers) reuses the earlier stages.",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress per file.")] = False,
) -> None:
    """Curate raw crawls into Parquet shards with a report and manifest.

    Any other option is a Beam pipeline option and passes straight through, e.g.
    --direct_running_mode=multi_processing --direct_num_workers=2, or
    --runner=DataflowRunner --project=... --region=... --temp_location=gs://...
    (add --dry_run=True to build the Dataflow job without submitting it).
    Default runner: the in-process FnApiRunner (never downloads anything).
    """
    from edumix.pipelines.options import format_job

    _setup_logging(verbose)
    report = _curate(inputs, output, config, ctx.args, overwrite, dirty_words_file, cache)
    if "job" in report:  # dry run, or a job not waited for: no report.json yet
        out.print(format_job(report["job"], output), highlight=False)
        return
    print_summary(out, report, output)
    if cache is not None:
        from edumix.core.run_dir import TIMING, read_json
        from edumix.pipelines.curate import reuse_line

        out.print(reuse_line(read_json(output, TIMING)["reuse"]), highlight=False, soft_wrap=True)


@app.command(context_settings=_PASSTHROUGH)
def demo(
    ctx: typer.Context,
    output: Annotated[str, typer.Option("--output", "--out", "-o", help="Demo directory (replaced).")] = "edumix-demo",
    pages: Annotated[int, typer.Option(min=10, help="HTML pages in the synthetic crawl.")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic crawl.")] = 0,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Run config YAML.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Generate a small synthetic crawl (a WARC written by edumix) and curate it.

    Writes OUTPUT/crawl/demo-crawl.warc.gz and the run into OUTPUT/run/.
    """
    from edumix.demo import write_demo_crawl

    _setup_logging(verbose)
    crawl = Path(output) / "crawl" / "demo-crawl.warc.gz"
    crawl.parent.mkdir(parents=True, exist_ok=True)
    stats = write_demo_crawl(crawl, pages=pages, seed=seed)
    kinds = ", ".join(f"{k}={n}" for k, n in sorted(stats.by_kind.items()))
    out.print(f"wrote {crawl}: {stats.records} WARC records, {stats.html_responses} HTML pages ({kinds})")
    run_dir = str(Path(output) / "run")
    report = _curate([str(crawl)], run_dir, config, ctx.args, overwrite=True)
    print_summary(out, report, run_dir)


@app.command()
def doctor() -> None:
    """Check this install: every declared dependency at an accepted version, torch, and (for
    information) the shipped models, the shared dev data, a GPU, chromium. Exit 1 when
    something required is missing, with one line saying what to install."""
    from edumix.doctor import missing_line, run_checks

    checks = run_checks()
    for c in checks:
        mark = "ok " if c.ok else ("MISSING" if c.required else "-  ")
        typer.echo(f"{mark:8s}{c.name}: {c.detail}" if c.detail else f"{mark:8s}{c.name}")
    line = missing_line(checks)
    if line:
        _fail(line, code=1)
    typer.echo("everything edumix needs is installed")


def _need_finished_run(run_dir: str) -> None:
    """manifest.json is written last: without it the run crashed, was killed or still runs."""
    from edumix.core.run_dir import MANIFEST, RunDirError, read_manifest

    try:
        read_manifest(run_dir)
    except RunDirError as e:
        _fail(f"cannot read {run_dir}: {e}; an unfinished run (stopped early, or still running) has no {MANIFEST}")
    except (OSError, ValueError) as e:
        _fail(f"cannot read {run_dir}/{MANIFEST}: {e}")


@app.command()
def report(
    run_dir: Annotated[str, typer.Argument(help="A run directory made by `edumix curate`.")],
    stats: Annotated[bool, typer.Option("--stats", help="Also print every per-stage statistic.")] = False,
    compare: Annotated[
        str | None, typer.Option("--compare", help="Another run directory: print what changed (A = RUN_DIR, B = it).")
    ] = None,
    html: Annotated[
        bool, typer.Option("--html/--no-html", help="Write the self-contained report.html (offline charts).")
    ] = True,
    html_out: Annotated[
        Path | None,
        typer.Option("--html-out", help="Where to write it (default RUN_DIR/report.html; needed for gs://)."),
    ] = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open report.html in the default browser.")] = False,
) -> None:
    """Summarise a finished run (its report.json) and write RUN_DIR/report.html.

    The page works offline: funnel, removal ledger, scores, mix, dedup, PII.
    --compare adds what changed against another run.
    """
    from edumix.core.run_dir import REPORT, read_json
    from edumix.report.compare import compare_runs, compare_tables

    _need_finished_run(run_dir)
    try:
        data = read_json(run_dir, REPORT)
    except (OSError, ValueError) as e:
        _fail(f"cannot read {run_dir}/{REPORT}: {e}")
    cmp = None
    if compare:
        _need_finished_run(compare)
        try:
            cmp = compare_runs(run_dir, compare)
        except (OSError, ValueError) as e:
            _fail(f"cannot read {compare}/{REPORT}: {e}")
    print_summary(out, data, run_dir, full_stats=stats)
    for table in compare_tables(cmp) if cmp else []:
        out.print(table)
    if html or open_page:
        from edumix.report.html import write_report_html

        try:
            page = write_report_html(run_dir, html_out, compare)
        except (OSError, ValueError) as e:
            _fail(f"cannot write the HTML report: {e}")
        out.print(f"wrote {page}", highlight=False)
        if open_page:
            import webbrowser

            webbrowser.open(page.resolve().as_uri())


classifiers_app = typer.Typer(help="Train the fasttext quality / edu / domain classifiers.", no_args_is_help=True)
app.add_typer(classifiers_app, name="classifiers")


@classifiers_app.command("train")
def classifiers_train(
    task: Annotated[str, typer.Option(help="quality (low|high), edu (0-5) or domain (general|math|code).")],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "--input",
            "-i",
            help="JSONL: `text` and `label` per line; for edu a numeric `score` (0-5) works too.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "--output", "-o", help="Model file to write (quantized .ftz).")],
    seed: Annotated[int, typer.Option(help="Training seed (training runs on one thread: reproducible).")] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 25,
    heldout: Annotated[float, typer.Option(min=0, max=0.9, help="Held-out share, split by a hash of the id.")] = 0.2,
) -> None:
    """Train one classifier on your labels; prints held-out precision/recall/F1.

    Use the model in a run with `classify.<task>_model: PATH` in the run config.
    """
    from edumix.classifiers.edu_crosslingual import MIN_JUDGED_ROWS, CrossLingual, crosslingual_path
    from edumix.classifiers.edu_signals import signals_path
    from edumix.classifiers.fasttext_model import TASK_LABELS, train
    from edumix.classifiers.linear_head import train_head
    from edumix.classifiers.models import companion_paths
    from edumix.classifiers.training_data import read_user_labels

    if task not in TASK_LABELS:
        _fail(f"--task must be one of {', '.join(TASK_LABELS)}")
    if not data.is_file():
        _fail(f"--data not found: {data}")
    try:
        rows = read_user_labels(data, task)
    except ValueError as e:
        _fail(str(e))
    out.parent.mkdir(parents=True, exist_ok=True)
    metrics = train(task, rows, out, seed=seed, epochs=epochs, heldout_fraction=heldout)
    typer.echo(metrics.table())
    typer.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")
    try:
        head = train_head(task, rows, out)
    except ValueError as e:  # e.g. edu labels that never vary: fastText is used alone
        for companion in companion_paths(out):  # never leave an older head beside the new model
            companion.unlink(missing_ok=True)
        typer.echo(f"no static-embedding head ({e}): {out.name} is used alone")
        return
    if head:
        typer.echo(f"wrote {head} (the static-embedding head, blended in when {out.name} is used)")
    if signals_path(out).is_file():
        typer.echo(f"wrote {signals_path(out)} (course-material and reading-level offsets, edu_signals)")
    if crosslingual_path(out).is_file():
        kept = ", ".join(CrossLingual.load(crosslingual_path(out)).judged) or "none"
        typer.echo(
            f"wrote {crosslingual_path(out)} (edu_crosslingual: scores every language but those with >= "
            f"{MIN_JUDGED_ROWS} of your rows, which keep {out.name}'s score: {kept})"
        )


@classifiers_app.command("annotate")
def classifiers_annotate(
    endpoint: Annotated[str, typer.Option(help="OpenAI-compatible server, e.g. http://localhost:8000")],
    model: Annotated[str, typer.Option(help="Model name the server expects.")],
    input_dir: Annotated[Path, typer.Option("--data", "--input", "-i", help="A run directory (its shards are read).")],
    out: Annotated[Path, typer.Option("--out", "--output", "-o", help="Labels JSONL (appended; a re-run resumes).")],
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 4,
    limit: Annotated[int | None, typer.Option(help="Label at most this many documents.")] = None,
    max_retries: Annotated[int, typer.Option(min=0)] = 5,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
) -> None:
    """Label documents' educational value (0-5) with an LLM, for `classifiers train --task edu`."""
    import os

    from edumix.classifiers.annotate import AnnotateConfig, annotate, failed_path, shard_documents
    from edumix.core.progress import progress_bar

    cfg = AnnotateConfig(
        endpoint=endpoint,
        model=model,
        api_key=os.environ.get(api_key_env),
        concurrency=concurrency,
        max_retries=max_retries,
    )
    try:
        docs = shard_documents(input_dir, limit)
        with progress_bar(total=limit, unit="doc", desc="annotate") as bar:
            counts = annotate(cfg, docs, out, progress=bar)
    except FileNotFoundError as e:
        _fail(str(e))
    typer.echo(f"{counts['labelled']} labelled, {counts['skipped']} already done, {counts['failed']} failed")
    if counts["failed"]:
        typer.echo(f"failures (tried again on the next run): {failed_path(out)}")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs --token-file.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    home: Annotated[Path, typer.Option(help="Jobs database and job directories.")] = Path("~/.edumix-serve"),
    token_file: Annotated[
        Path | None, typer.Option(help="File holding the bearer token every request must send.")
    ] = None,
    roots: Annotated[
        list[Path] | None, typer.Option("--root", help="Directory that run inputs may come from; repeat for more.")
    ] = None,
    max_jobs: Annotated[
        int, typer.Option(min=1, help="Curate runs (CPU jobs) at once; the rest wait in their FIFO queue.")
    ] = 1,
    max_trainings: Annotated[
        int,
        typer.Option(
            min=1,
            help="Trainings (GPU jobs) at once, in a queue of their own: neither kind waits for the other's slots.",
        ),
    ] = 1,
    db: Annotated[
        str | None,
        typer.Option(
            help="postgresql://user:password@host:port/database for the job table (default HOME/jobs.sqlite)."
        ),
    ] = None,
) -> None:
    """Serve a web UI and JSON API (/api, /openapi.json) that queue and run curate jobs.

    Inputs are local paths under --root, or `demo` (the generated demo crawl). See the README.
    """
    if host not in ("127.0.0.1", "localhost", "::1") and token_file is None:
        _fail(f"--host {host} is not loopback: serving on it needs --token-file")
    token = None
    if token_file is not None:
        from edumix.service.security import read_token

        try:
            token = read_token(token_file)
        except ValueError as e:
            _fail(str(e))
    from edumix.service.app import serve as run_server

    run_server(host, port, home.expanduser(), roots or [], token, max_jobs, db=db, max_trainings=max_trainings)


def _version(value: bool) -> None:
    if value:
        out.print(f"edumix {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """edumix: curation pipelines for LLM pretraining data."""


register_trainer_commands(app)  # tokenizer train, tokenize, pretrain, generate, export

if __name__ == "__main__":  # `python -m edumix.cli` (torchrun -m edumix.cli pretrain ...)
    app()
