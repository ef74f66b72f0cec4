"""`edumix curate`: read -> the registry's stages -> shards + ledger + report + manifest.

Each stage is one composite PTransform returning {"docs", "dropped"}, listed in
`registry.REGISTRY`. Every drop from every stage flows into one ledger and one count,
which is what makes the accounting exact.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from edumix.core.config import RunConfig
from edumix.core.hashing import input_fingerprint, recipe_hash
from edumix.core.progress import DROPPED as DROPPED_KIND
from edumix.core.progress import FILES as FILES_KIND
from edumix.core.progress import OUT as OUT_KIND
from edumix.core.progress import RunMonitor, worker_bars_off
from edumix.core.run_dir import (
    CARD,
    MANIFEST,
    MIX_MANIFEST,
    REPORT,
    RUN_OUTPUTS,
    TIMING,
    dataset_card,
    read_json,
    to_json,
    write_text_atomic,
)
from edumix.core.stages import READ
from edumix.core.stop import removed_on_stop, stops_deferred
from edumix.filters.tokens import TokenCounter

from .accounting import (
    AccountingError,
    accounting_problem,
    add_token_funnel,
    build_manifest,
    build_mix_manifest,
    build_report,
    mix_report,
)
from .memo import NAMESPACE as MEMO_NAMESPACE
from .memo import MemoPlan, code_fingerprint, reuse_summary
from .mix import CountTokens, DropTokens, MixShards
from .options import DEFAULT_RUNNER, LaunchPlan, describe_job, resolve_runner, validate_pipeline_options
from .read import FILES, InputFile, ReadDocuments, expand_inputs
from .registry import enabled_stages, memo_plan
from .stage import DROPPED, STATS, CountProgress
from .write import WriteRejected, WriteShards

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurateJob:
    inputs: list[InputFile]
    output: str
    config: RunConfig
    memo: MemoPlan | None = None  # the per-document stages' cache (curate --cache)

    @property
    def fingerprint(self) -> str:
        return input_fingerprint(self.inputs)


def curate_graph(p: beam.Pipeline, job: CurateJob, progress_dir: str | None = None) -> list[str]:
    """Build the run's graph; returns the funnel stages in order. With `progress_dir`, every
    stage's outputs are also counted there as they flow (edumix.core.progress)."""
    cfg = job.config
    stages: list[str] = []
    drops, stats = [], []

    def stage(name: str, result: dict[str, Any]):
        stages.append(name)
        drops.append(result[DROPPED])
        if STATS in result:  # the reader reports none
            stats.append(result[STATS])
        if progress_dir is not None:
            _ = result["docs"] | f"Progress{name}Out" >> CountProgress(progress_dir, name, OUT_KIND)
            _ = result[DROPPED] | f"Progress{name}Dropped" >> CountProgress(progress_dir, name, DROPPED_KIND)
        return result["docs"]

    read = p | "Read" >> ReadDocuments(job.inputs, cfg.read)
    docs = stage(READ, read)
    if progress_dir is not None:
        _ = read[FILES] | f"Progress{READ}Files" >> CountProgress(progress_dir, READ, FILES_KIND)
    for name, transform in enabled_stages(cfg, memo=job.memo):
        docs = stage(name, docs | name >> transform)

    counted = docs | "tokens" >> CountTokens(cfg.mix)  # drops nothing: not a funnel stage
    docs = counted["docs"]
    stats.append(counted[STATS])
    if cfg.mix.enabled:
        mix = docs | "mix" >> MixShards(job.output, cfg.mix, cfg.output)
    else:
        mix = {key: p | f"NoMix{key}" >> beam.Create([]) for key in ("files", "plan", "table")}

    dropped = drops | "AllDrops" >> beam.Flatten()
    stat_sums = (
        (stats or [p | "NoStats" >> beam.Create([])])
        | "AllStats" >> beam.Flatten()
        | "SumStats" >> beam.CombinePerKey(sum)
    )
    shards = docs | "WriteShards" >> WriteShards(job.output, cfg.output)
    ledger_pii = cfg.pii if cfg.pii.enabled and not cfg.output.rejected_raw_text else None
    rejected = dropped | "WriteRejected" >> WriteRejected(job.output, cfg.output, ledger_pii)
    counts = (
        dropped | "DropKey" >> beam.Map(lambda d: ((d.stage, d.reason), 1)) | "CountDrops" >> beam.CombinePerKey(sum)
    )
    as_list = beam.pvalue.AsList
    _ = (
        p
        | "Once" >> beam.Create([None])
        | "WriteReport"
        >> beam.Map(
            _write_run_files,
            job=job,
            stages=stages,
            file_stats=as_list(read[FILES]),
            counts=as_list(counts),
            stats=as_list(stat_sums),
            shards=as_list(shards),
            rejected=as_list(rejected),
            drop_tokens=as_list(dropped | "DropTokens" >> DropTokens(cfg.mix)),
            mix_files=as_list(mix["files"]),
            mix_plan=as_list(mix["plan"]),
            mix_table=as_list(mix["table"]),
        )
    )
    return stages


def _write_run_files(
    _, job, stages, file_stats, counts, stats, shards, rejected, drop_tokens, mix_files, mix_plan, mix_table
) -> None:
    cfg = job.config
    report = build_report(stages, file_stats, counts, shards, cfg.config_hash(), job.fingerprint, stats)
    token_label = TokenCounter.label_for(cfg.mix.tokenizer)
    tier_cuts = {"A": cfg.classify.tier_a, "B": cfg.classify.tier_b}
    add_token_funnel(report, dict(drop_tokens), token_label, tier_cuts)
    mix_manifest = None
    if cfg.mix.enabled:
        recipe = recipe_hash(report["config_hash"], report["input_fingerprint"], token_label)
        mix_manifest = build_mix_manifest(report, recipe, token_label, mix_plan[0], mix_files)
        report["mix"] = mix_report(mix_manifest, mix_table)
    write_text_atomic(job.output, REPORT, to_json(report))
    if not report["accounting_ok"]:
        raise AccountingError(f"accounting broken: {accounting_problem(report)}")
    if mix_manifest is not None:
        write_text_atomic(job.output, MIX_MANIFEST, to_json(mix_manifest))
    phases = [p for p, info in (mix_manifest or {}).get("phases", {}).items() if info["cells"]]
    write_text_atomic(job.output, CARD, dataset_card(sorted(phases, key=int), bool(shards), bool(rejected)))
    manifest = build_manifest(report, cfg.model_dump(mode="json"), job.inputs, shards, rejected)
    manifest["card"] = CARD
    if mix_manifest is not None:
        manifest["mix"] = MIX_MANIFEST
    write_text_atomic(job.output, MANIFEST, to_json(manifest))  # last: marks the run complete


def beam_options(beam_args: list[str]) -> PipelineOptions:
    """Beam's options with the runner named the way options.resolve_runner reads it: no
    runner, or any spelling of DirectRunner, is the FnApiRunner."""
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if resolve_runner(standard.runner) == DEFAULT_RUNNER:
        if standard.runner and standard.runner != DEFAULT_RUNNER:
            log.info("using FnApiRunner for %s (DirectRunner would try to download Prism)", standard.runner)
        standard.runner = DEFAULT_RUNNER
    return options


class OutputExists(RuntimeError):
    pass


class CacheError(ValueError):
    pass


def _memo_counters(result) -> list[tuple[str, int]]:
    if result is None:
        return []
    query = result.metrics().query(MetricsFilter().with_namespace(MEMO_NAMESPACE))
    totals: dict[str, int] = {}
    for c in query["counters"]:
        totals[c.key.metric.name] = totals.get(c.key.metric.name, 0) + int(c.committed or 0)
    return sorted(totals.items())


def reuse_line(reuse: dict[str, Any]) -> str:
    """How much of the work came from the cache, in one line."""
    stages = ", ".join(f"{s} {n['reused']:,}/{n['reused'] + n['computed']:,}" for s, n in reuse["stages"].items())
    return (
        f"cache: {reuse['files_reused']} of {reuse['files']} input files reused whole, not recomputed; "
        f"documents reused per stage: {stages or 'none'}"
    )


def _run_files(output: str) -> list[str]:
    # Globs over files, not directory checks: object stores (gs://) have no directories.
    patterns = [FileSystems.join(output, name) for name in RUN_OUTPUTS]
    return sorted(m.path for result in FileSystems.match(patterns) for m in result.metadata_list)


def prepare_output(output: str, overwrite: bool) -> None:
    """Refuse to mix two runs in one directory; with overwrite, remove only edumix's files
    (a crashed run's staging files included)."""
    present = _run_files(output)
    if present and not overwrite:
        shown = ", ".join(present[:3]) + (f" and {len(present) - 3} more" if len(present) > 3 else "")
        raise OutputExists(f"{output} already holds a run ({shown}); pass --overwrite to replace it")
    if present:
        FileSystems.delete(present)
    if "://" not in output:
        os.makedirs(output, exist_ok=True)


def remove_staging_files(output: str) -> None:
    """The half-written `NAME.tmp-<id>` files an interrupted run leaves in its directory
    (every write goes to one and is renamed into place when complete)."""
    if "://" in output:
        matches = FileSystems.match([FileSystems.join(output, "**.tmp-*")])[0].metadata_list
        staging = [m.path for m in matches]
    else:
        staging = [os.path.join(d, f) for d, _, files in os.walk(output) for f in files if ".tmp-" in f]
    if staging:
        log.info("removing %d staging file(s) of the interrupted run in %s", len(staging), output)
        FileSystems.delete(staging)


def run_curate(
    inputs: list[str],
    output: str,
    config: RunConfig,
    beam_args: list[str] = (),
    overwrite: bool = False,
    plan: LaunchPlan | None = None,
    progress: bool | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    cache: str | None = None,
) -> dict[str, Any]:
    """Run the pipeline to completion and return the report; for a dry run or a job not
    waited for (flex template, --no_wait_until_finish), return describe_job's summary.
    `plan` is the launcher's validated plan; without one the options are checked here.
    A local run shows one progress line (`progress`: edumix.core.progress's rule), keeps
    RUN/.progress.json while it executes, passes each reading to `on_progress` (the last
    one has status "done"), and writes RUN/timing.json at the end. With `cache` (a local
    directory), the per-document stages keep their results there and reuse what an earlier
    run computed (pipelines.memo); timing.json's `reuse` says how much."""
    if plan is None:  # before any GCS call
        plan = validate_pipeline_options(beam_args, inputs, output, config=config)
    options = beam_options(list(beam_args))
    # Live counts need workers on this machine: the local runner, waited for.
    local = options.view_as(StandardOptions).runner == DEFAULT_RUNNER and plan.waits and not plan.dry_run
    if cache is not None and (not local or "://" in cache):
        raise CacheError(f"--cache {cache}: the cache is a local directory for the local runner")
    if plan.dry_run:  # no globbing, no output check, no report: each would call GCS
        files = [InputFile(pattern, 0) for pattern in inputs]
    else:
        files = expand_inputs(list(inputs), config.read.paths_prefix)
        prepare_output(output, overwrite)
    memo = memo_plan(config, cache, code_fingerprint()) if cache is not None else None
    job = CurateJob(files, output, config, memo)
    log.info("curating %d files (%d bytes) into %s", len(files), sum(f.size for f in files), output)
    p = monitor = None

    def leave_nothing() -> None:  # what a stopped run would leave behind (edumix.core.stop)
        if monitor is not None:
            monitor.discard()
        remove_staging_files(output)
        if p is not None:
            shutil.rmtree(p.local_tempdir, ignore_errors=True)  # Beam leaves it when interrupted

    try:
        with removed_on_stop(leave_nothing):
            p = beam.Pipeline(options=options)
            monitor = RunMonitor([], len(files), output, show=progress, on_update=on_progress) if local else None
            with worker_bars_off() if monitor is not None else contextlib.nullcontext():
                if monitor is not None:  # on screen from now: building the graph imports every stage's code
                    monitor.start()
                with p:
                    with stops_deferred():  # its imports run inside C++ extensions (edumix.core.stop)
                        stages = curate_graph(p, job, monitor.directory if monitor is not None else None)
                    if monitor is not None:
                        monitor.stages = stages
    except BaseException:  # a failure, Ctrl-C, or SIGTERM (the CLI turns it into SystemExit)
        try:
            if monitor is not None:
                monitor.close("failed")
        finally:  # even if the last reading fails (workers stopped mid-write)
            leave_nothing()
        raise
    if monitor is not None:
        final = monitor.close()
        timing = stage_timing(final, getattr(p, "result", None))
        if memo is not None:
            timing["reuse"] = reuse_summary(_memo_counters(getattr(p, "result", None)))
            log.info(reuse_line(timing["reuse"]))
        write_text_atomic(output, TIMING, to_json(timing))
    if not plan.waits:
        return describe_job(p, plan)
    return read_json(output, REPORT)


EXECUTION_MSECS = "metric:ptransform_execution_time:total_msecs:v1"


def stage_timing(record: dict[str, Any], result) -> dict[str, Any]:
    """timing.json: per stage, wall seconds (first document in to last out, from the live
    counts) and CPU seconds: Beam's execution time of the stage's own transforms (the
    worker thread's time inside them, downstream work excluded), summed over workers.
    Transforms outside the funnel (tokens, writes, mix, the counters) are under `other`."""
    msecs: dict[str, int] = {}
    try:
        counters = result.monitoring_metrics().query()["counters"] if result is not None else []
    except Exception as e:  # noqa: BLE001 - a runner without execution-time metrics
        log.info("no execution-time metrics from the runner: %s", e)
        counters = []
    for m in counters:
        if m.key.metric.name == EXECUTION_MSECS and m.key.step:
            top = m.key.step.split("/", 1)[0]
            msecs[top] = msecs.get(top, 0) + int(m.committed or 0)
    labels = {READ: "Read"}
    rows = []
    for row in record.get("stages") or []:
        name = row["stage"]
        label = labels.get(name, name)
        cpu = msecs.pop(label, None)
        rows.append(
            {
                "stage": name,
                "documents_in": row["in"],
                "wall_s": row.get("wall_s", 0.0),
                "cpu_s": round(cpu / 1000, 3) if cpu is not None else None,
            }
        )
    other: dict[str, float] = {}
    for label, ms in msecs.items():
        if label.startswith("ref_") and not ms:  # Beam's internal PCollection nodes
            continue
        key = "progress" if label.startswith("Progress") else label
        other[key] = round(other.get(key, 0.0) + ms / 1000, 3)
    return {
        "total_wall_s": record.get("elapsed_s"),
        "workers": record.get("workers"),
        "stages": rows,
        "other_cpu_s": dict(sorted(other.items())),
    }
