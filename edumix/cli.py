"""The `edumix` command line. Every command has --help; the README documents each."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from edumix import __version__
from edumix.config import ConfigError

app = typer.Typer(
    help="Curate LLM pretraining data on Apache Beam and prove it on a compact model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


class UsageError(ValueError):
    pass


def split_beam_args(extra: list[str]) -> list[str]:
    """Beam options pass through as given; `--key value` becomes `--key=value`. A bare
    word that is no option's value is an error, not a silently ignored input file."""
    args: list[str] = []
    for token in extra:
        if token.startswith("-"):
            args.append(token)
        elif args and args[-1].startswith("--") and "=" not in args[-1]:
            args[-1] = f"{args[-1]}={token}"
        else:
            raise UsageError(
                f"unexpected argument {token!r}: give each input as --input PATH "
                "(repeat --input, or quote a glob: --input 'crawl/*.warc.gz')"
            )
    return args


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def print_summary(report: dict[str, Any], output: str, full_stats: bool = False) -> None:
    """The funnel, the top drop reasons, per-stage numbers, the accounting identity and,
    for runs with a mix, target vs achieved per phase. Token numbers carry their kind."""
    estimate = report.get("token_count") == "estimate"
    unit = "≈ est. tokens" if estimate else "tokens"
    tokens = any(row.get("tokens_out") is not None for row in report["stages"])
    table = Table(title=f"edumix run: {output}", show_lines=False)
    for col in ("stage", "in", "dropped", "out", "drop %", "reasons") + ((f"out, {unit}",) if tokens else ()):
        table.add_column(col, justify="left" if col == "stage" else "right")
    reasons_all = []
    for row in report["stages"]:
        reasons = report["dropped"].get(row["stage"], {})
        reasons_all += [(row["stage"], r, n) for r, n in reasons.items()]
        cells = [row["stage"], f"{row['in']:,}", f"{row['dropped']:,}", f"{row['out']:,}",
                 f"{100 * row.get('drop_rate', 0):.1f}", str(len(reasons) or "")]  # fmt: skip
        if tokens:
            cells.append("–" if row.get("tokens_out") is None else f"{row['tokens_out']:,}")
        table.add_row(*cells)
    out.print(table)
    if reasons_all:
        shown = len(reasons_all) if full_stats else min(10, len(reasons_all))
        top = Table(title=f"top drop reasons ({shown} of {len(reasons_all)})", title_justify="left")
        for col in ("stage", "reason", "dropped", "% of input"):
            top.add_column(col, justify="left" if col in ("stage", "reason") else "right")
        for stage, reason, n in sorted(reasons_all, key=lambda x: (-x[2], x[0], x[1]))[:shown]:
            share = 100 * n / report["input_records"] if report["input_records"] else 0.0
            top.add_row(stage, reason, f"{n:,}", f"{share:.1f}")
        out.print(top)
    for stage, stats in report.get("stats", {}).items():
        shown = stats if full_stats else {k: v for k, v in stats.items() if not isinstance(v, dict)}
        if shown:
            out.print(f"  {stage}: {_flat(shown)}", highlight=False)
    ok = "[green]holds[/]" if report["accounting_ok"] else "[bold red]BROKEN[/]"
    out.print(
        f"{report['input_files']} file(s), {report['input_records']:,} input records = "
        f"{report['kept']:,} kept + {report['dropped_total']:,} dropped: accounting {ok}"
    )
    shards = report["shards"]
    kept_tokens = f", {report['kept_tokens']:,} {unit}" if report.get("kept_tokens") is not None else ""
    out.print(f"{shards['files']} shard file(s), {shards['bytes']:,} bytes{kept_tokens}, in {output}/shards/", highlight=False)
    mix = report.get("mix") or {}
    for phase, info in sorted((mix.get("phases") or {}).items(), key=lambda kv: (len(kv[0]), kv[0])):
        targets, achieved = info.get("targets") or {}, info.get("achieved") or {}
        shortfall, by_domain = info.get("shortfall") or {}, info.get("domain_tokens") or {}
        budget = info.get("budget_tokens")
        title = (f"mix phase {phase}: tiers {','.join(info.get('tiers') or [])}, {info.get('tokens', 0):,} {unit} "
                 f"(budget {'auto' if budget is None else f'{budget:,}'})")  # fmt: skip
        t = Table(title=title, title_justify="left")
        for col in ("domain", "target %", "achieved %", unit, "shortfall", "max epochs"):
            t.add_column(col, justify="left" if col == "domain" else "right")
        for d in list(targets) + [d for d in achieved if d not in targets]:
            epochs = max((c.get("epochs") or 0 for c in info.get("cells") or [] if c.get("domain") == d), default=None)
            t.add_row(
                d, f"{100 * targets.get(d, 0):.1f}", f"{100 * achieved.get(d, 0):.1f}",
                f"{by_domain[d]:,}" if d in by_domain else "–",
                f"[red]{shortfall[d]:,}[/]" if shortfall.get(d) else "0",
                "–" if epochs is None else (f"[yellow]{epochs:.2f}[/]" if epochs > 1 + 1e-6 else f"{epochs:.2f}"),
            )  # fmt: skip
        out.print(t)


def _flat(stats: dict[str, Any], prefix: str = "") -> str:
    parts = []
    for key, value in stats.items():
        if isinstance(value, dict):
            parts.append(f"{prefix}{key}{{{_flat(value)}}}")
        else:
            parts.append(f"{prefix}{key}={value:g}" if isinstance(value, float) else f"{prefix}{key}={value}")
    return ", ".join(parts)


def _curate(
    inputs: list[str], output: str, config: str | Path | None, extra: list[str], overwrite: bool,
    dirty_words_file: Path | None = None,
) -> dict:  # fmt: skip
    from pipelines.curate import OutputExists, run_curate
    from pipelines.options import PipelineOptionsError, load_run_config, validate_pipeline_options
    from pipelines.read import InputError

    try:
        beam_args = split_beam_args(extra)
        validate_pipeline_options(beam_args, inputs, output, config_path=config)  # before reading a gs:// config
        cfg = load_run_config(config)
        if dirty_words_file is not None:
            if not dirty_words_file.is_file():
                raise ConfigError(f"--dirty-words-file not found: {dirty_words_file}")
            filters = cfg.filters.model_copy(update={"dirty_words_file": str(dirty_words_file)})
            cfg = cfg.model_copy(update={"filters": filters})
        return run_curate(inputs, output, cfg, beam_args, overwrite=overwrite)
    except (UsageError, ConfigError, InputError, OutputExists, PipelineOptionsError) as e:
        _fail(str(e))


@app.command(context_settings=_PASSTHROUGH)
def curate(
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Option("--input", "-i", help="File or glob (local or gs://); repeat for more. "
                     "WARC/ARC/WET (.gz), JSONL (.gz/.zst) or Parquet."),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Run directory (local or gs://).")],
    config: Annotated[str | None, typer.Option("--config", "-c", help="Run config YAML (local or gs://).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a previous run in --output.")] = False,
    dirty_words_file: Annotated[
        Path | None, typer.Option(help="Extra dirty words, one a line, added to the shipped list.")
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
    from pipelines.options import format_job

    _setup_logging(verbose)
    report = _curate(inputs, output, config, ctx.args, overwrite, dirty_words_file)
    if "job" in report:  # dry run, or a job not waited for: no report.json yet
        out.print(format_job(report["job"], output), highlight=False)
        return
    print_summary(report, output)


@app.command(context_settings=_PASSTHROUGH)
def demo(
    ctx: typer.Context,
    output: Annotated[str, typer.Option("--output", "-o", help="Demo directory (replaced).")] = "edumix-demo",
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
    print_summary(report, run_dir)


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
        Path | None, typer.Option("--html-out", help="Where to write it (default RUN_DIR/report.html; needed for gs://).")
    ] = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open report.html in the default browser.")] = False,
) -> None:
    """Summarise a finished run (its report.json) and write RUN_DIR/report.html.

    The page works offline: funnel, removal ledger, scores, mix, dedup, PII.
    --compare adds what changed against another run.
    """
    from pipelines.report import REPORT, read_json
    from pipelines.report_compare import compare_runs, compare_tables

    try:
        data = read_json(run_dir, REPORT)
    except (OSError, ValueError) as e:
        _fail(f"cannot read {run_dir}/{REPORT}: {e}")
    cmp = None
    if compare:
        try:
            cmp = compare_runs(run_dir, compare)
        except (OSError, ValueError) as e:
            _fail(f"cannot read {compare}/{REPORT}: {e}")
    print_summary(data, run_dir, full_stats=stats)
    for table in compare_tables(cmp) if cmp else []:
        out.print(table)
    if html or open_page:
        from pipelines.report_html import write_report_html

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
    data: Annotated[Path, typer.Option(help="JSONL with `text` and `label` per line.")],
    out: Annotated[Path, typer.Option(help="Model file to write (quantized .ftz).")],
    seed: Annotated[int, typer.Option(help="Training seed (training runs on one thread: reproducible).")] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 25,
    heldout: Annotated[float, typer.Option(help="Held-out share, split by a hash of the text.")] = 0.2,
) -> None:
    """Train one classifier on your labels; prints held-out precision/recall/F1.

    Use the model in a run with `classify.<task>_model: PATH` in the run config.
    """
    import json

    from classifiers.fasttext_model import TASK_LABELS, Example, train

    if task not in TASK_LABELS:
        _fail(f"--task must be one of {', '.join(TASK_LABELS)}")
    if not data.is_file():
        _fail(f"--data not found: {data}")
    rows = []
    with open(data, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                rows.append(Example(text=obj["text"], label=str(obj["label"]), key=obj.get("id") or obj["text"]))
            except (ValueError, KeyError, TypeError) as e:
                _fail(f"{data}:{n}: expected a JSON object with text and label ({e})")
    bad = sorted({r.label for r in rows} - set(TASK_LABELS[task]))
    if bad:
        _fail(f"labels {bad} are not {task} labels ({', '.join(TASK_LABELS[task])})")
    out.parent.mkdir(parents=True, exist_ok=True)
    metrics = train(task, rows, out, seed=seed, epochs=epochs, heldout_fraction=heldout)
    typer.echo(metrics.table())
    typer.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")


@classifiers_app.command("annotate")
def classifiers_annotate(
    endpoint: Annotated[str, typer.Option(help="OpenAI-compatible server, e.g. http://localhost:8000")],
    model: Annotated[str, typer.Option(help="Model name the server expects.")],
    input_dir: Annotated[Path, typer.Option("--input", help="A run directory (its shards are read).")],
    out: Annotated[Path, typer.Option(help="Labels JSONL (appended; a re-run resumes).")],
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 4,
    limit: Annotated[int | None, typer.Option(help="Label at most this many documents.")] = None,
    max_retries: Annotated[int, typer.Option(min=0)] = 5,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
) -> None:
    """Label documents' educational value (0-5) with an LLM, for `classifiers train --task edu`."""
    import os

    from classifiers.annotate import AnnotateConfig, annotate, failed_path, shard_documents
    from pipelines.progress import progress_bar

    cfg = AnnotateConfig(
        endpoint=endpoint, model=model, api_key=os.environ.get(api_key_env),
        concurrency=concurrency, max_retries=max_retries,
    )  # fmt: skip
    try:
        docs = shard_documents(input_dir, limit)
        with progress_bar(total=limit, unit="doc", desc="annotate") as bar:
            counts = annotate(cfg, docs, out, progress=bar)
    except FileNotFoundError as e:
        _fail(str(e))
    typer.echo(f"{counts['labelled']} labelled, {counts['skipped']} already done, {counts['failed']} failed")
    if counts["failed"]:
        typer.echo(f"failures (tried again on the next run): {failed_path(out)}")


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


from trainer.cli import register as _register_trainer  # noqa: E402 (the trainer's commands join this app)

_register_trainer(app)

if __name__ == "__main__":  # `python -m edumix.cli` (torchrun -m edumix.cli pretrain ...)
    app()
