"""One launch sequence for a curate run, shared by `edumix curate`/`demo` and the Dataflow
flex-template launcher: split the Beam options, check them (before any cloud call), load
the config once, check the files its workers will open, then run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edumix.core.config import ConfigError
from edumix.pipelines.curate import CacheError, OutputExists, run_curate
from edumix.pipelines.options import (
    PipelineOptionsError,
    load_run_config,
    validate_config_files,
    validate_pipeline_options,
)
from edumix.pipelines.read import InputError, s3_problem


class UsageError(ValueError):
    pass


class OutputPathError(ValueError):
    """--output names something that is not, and cannot become, a run directory."""


# Everything a launch can refuse with a one-line message (the CLI exits 2 with it).
LAUNCH_ERRORS = (UsageError, ConfigError, InputError, OutputExists, OutputPathError, PipelineOptionsError, CacheError)


def check_output_dir(output: str) -> None:
    """A local --output must be a directory, or one that can be created: checked before the
    run starts, so a file in the way is one line, not a traceback from deep in the run.
    Object stores (gs://) have no directories to check; an s3:// bucket is reached once, so
    a missing bucket or credential is one line rather than minutes of Beam's retries."""
    if output.startswith("s3://"):
        problem = s3_problem(output)
        if problem and problem.startswith("no bucket"):
            problem += " (create it first: Beam's S3 filesystem writes objects, not buckets)"
        if problem:
            raise OutputPathError(f"--output {output}: {problem}")
        return
    if "://" in output:
        return
    path = Path(output)
    if path.is_symlink() and not path.exists():
        raise OutputPathError(f"--output {output} is a broken symbolic link")
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"--output {output} is a file, not a directory")
    parent = path
    while not parent.exists():  # the nearest existing ancestor is where makedirs would start
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent != path and not parent.is_dir():
        raise OutputPathError(f"--output {output} cannot be created: {parent} is a file, not a directory")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        what = "is not writable" if parent == path else f"cannot be created: no write permission in {parent}"
        raise OutputPathError(f"--output {output} {what}")


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


@dataclass(frozen=True)
class CurateRequest:
    inputs: list[str]
    output: str
    beam_args: list[str]  # already split (split_beam_args), launcher defaults included
    config_path: str | Path | None = None
    overwrite: bool = False
    dirty_words_file: Path | None = None
    cache: str | None = None  # the per-document stages' cache directory (resumable runs)


def launch_curate(request: CurateRequest) -> dict[str, Any]:
    """Validate once and run; returns the report, or describe_job's summary for a job that
    was only built or not waited for. Raises one of LAUNCH_ERRORS on bad input."""
    r = request
    plan = validate_pipeline_options(r.beam_args, r.inputs, r.output, config_path=r.config_path)
    cfg = load_run_config(r.config_path)  # after the path checks: a gs:// config is read only now
    if r.dirty_words_file is not None:
        if not r.dirty_words_file.is_file():
            raise ConfigError(f"--dirty-words-file not found: {r.dirty_words_file}")
        filters = cfg.filters.model_copy(update={"dirty_words_file": str(r.dirty_words_file)})
        cfg = cfg.model_copy(update={"filters": filters})
    validate_config_files(cfg, plan)
    if not plan.dry_run:
        check_output_dir(r.output)
    return run_curate(r.inputs, r.output, cfg, r.beam_args, overwrite=r.overwrite, plan=plan, cache=r.cache)
