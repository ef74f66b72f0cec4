"""Curate runs submitted to Google Cloud Dataflow from the service.

The child command is the CLI's own (`edumix curate ... --runner=DataflowRunner ...`), so a
run from the service is exactly a run from a terminal. Before anything is written or
queued, the options go through the CLI's own checks (pipelines.options.
validate_pipeline_options: no network, no credentials), with the run's RunConfig, so a bad
option is a 422 naming it rather than a job that fails later.

Extra Beam options are an allow-list, not a pass-through: the server runs the child with
its own credentials on its own machine, so an option that makes Beam read, run or upload a
server file (--setup_file, --requirements_file, --extra_package, --sdk_location), write one
(--dataflow_job_file), send the credentials elsewhere (--dataflow_endpoint, any *_endpoint)
or carry a secret of its own (--s3_secret_access_key, --azure_connection_string) is
refused. Allowed: the options of Beam's GoogleCloudOptions, WorkerOptions, DebugOptions and
StandardOptions, less those and less the ones the form has a field for.

What the child printed is how the server learns about the job: a dry run (or a run not
waited for, --no_wait_until_finish) ends with the job description the CLI prints
(pipelines.options.format_job); a submitted job's id comes from Beam's "Created job with
id" log line (the child runs with -v for it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edumix.core.config import RunConfig

DATAFLOW = "dataflow"
LOCAL = "local"
GS_PATH = r"^gs://[^\s\x00]{3,1000}$"
NO_SPACE = r"^[^\s\x00]+$"  # one command-line argument: no whitespace, no control characters
MAX_OPTIONS = 32
# Options the form has a field for (given there, not in `options`), and what each field is.
FIELDS = (
    "project",
    "region",
    "temp_location",
    "staging_location",
    "service_account_email",
    "max_num_workers",
    "sdk_container_image",
)
# Allowed option classes' options that touch the server's files, endpoints or auth, or make
# no sense for a batch curate job.
REFUSED = {
    "help": "not an option",
    "dataflow_endpoint": "it would send this server's credentials to another endpoint",
    "no_auth": "a job is submitted with this server's credentials",
    "dataflow_job_file": "it writes a file on this server",
    "runner": "the runner is the form's choice",
    "streaming": "curate is a batch pipeline",
    "dry_run": "use the dry_run field",
}
OPTION_RE = re.compile(r"^--([a-z][a-z0-9_]{0,63})(=[^\s\x00]{0,2000})?$")
SUBMITTED_RE = re.compile(r"Created job with id: \[([A-Za-z0-9_:.-]{1,200})\]")
JOB_HEAD_RE = re.compile(r"^(dry run: \S+ job |submitted \S+ job |\S+Runner job \S+ handed over)")


class DataflowSpec(BaseModel):
    """A Dataflow run's options (the CLI's `--runner=DataflowRunner ...`)."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(
        min_length=1, max_length=100, pattern=NO_SPACE, description="The Google Cloud project ID (--project)."
    )
    region: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9-]{0,62}$", description="e.g. us-central1 (--region)."
    )
    temp_location: str = Field(
        min_length=1,
        max_length=1000,
        pattern=NO_SPACE,
        description="gs://BUCKET/PATH for Beam's temporary files (--temp_location).",
    )
    output: str = Field(
        pattern=GS_PATH, description="The run directory, gs://BUCKET/PATH: workers write the shards and report there."
    )
    staging_location: str | None = Field(
        None, max_length=1000, pattern=NO_SPACE, description="gs://BUCKET/PATH (--staging_location)."
    )
    service_account_email: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9._%+-]{1,100}@[A-Za-z0-9.-]{1,100}$",
        description="The workers' service account (--service_account_email).",
    )
    max_num_workers: int | None = Field(None, ge=1, le=4000, description="Autoscaling's ceiling (--max_num_workers).")
    sdk_container_image: str | None = Field(
        None,
        max_length=500,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,499}$",
        description="The worker image with edumix installed (deploy/dataflow/Dockerfile); Dataflow needs it.",
    )
    dry_run: bool = Field(False, description="Build the Dataflow job and print it; submit nothing (--dry_run=True).")
    overwrite: bool = Field(False, description="Replace a run already in `output` (curate --overwrite).")
    options: list[str] = Field(
        [],
        max_length=MAX_OPTIONS,
        description="More Beam options, each --key=value (or a bare --flag): options of Beam's GoogleCloudOptions, "
        "WorkerOptions, DebugOptions and StandardOptions, e.g. --machine_type=n2-highmem-4, --experiments=X, "
        "--no_wait_until_finish. Options reading or writing this server's files or endpoints are refused.",
    )

    @field_validator("options")
    @classmethod
    def _each_option(cls, values: list[str]) -> list[str]:
        for value in values:
            problem = option_problem(value)
            if problem:
                raise ValueError(problem)
        return values


def _allowed_options() -> dict[str, str]:
    """--name -> Beam's options class, of every option an extra may set."""
    from apache_beam.options.pipeline_options import DebugOptions, GoogleCloudOptions, StandardOptions, WorkerOptions

    allowed: dict[str, str] = {}
    for cls in (GoogleCloudOptions, WorkerOptions, DebugOptions, StandardOptions):
        parser = argparse.ArgumentParser(add_help=False)
        cls._add_argparse_args(parser)
        for action in parser._actions:
            for flag in action.option_strings:
                allowed[flag.removeprefix("--")] = cls.__name__
    return allowed


_ALLOWED: dict[str, str] | None = None


def option_problem(value: str) -> str | None:
    """Why an extra option is refused, or None."""
    global _ALLOWED
    match = OPTION_RE.match(value)
    if match is None:
        return f"{value[:80]!r}: give each option as --key=value (or a bare --flag), no spaces"
    name = match.group(1)
    if name in FIELDS:
        return f"--{name}: use the {name} field"
    if name in REFUSED:
        return f"--{name} is not allowed here: {REFUSED[name]}"
    if _ALLOWED is None:
        _ALLOWED = _allowed_options()
    if name not in _ALLOWED:
        return (
            f"--{name} is not allowed here: extra options are those of Beam's GoogleCloudOptions, WorkerOptions, "
            "DebugOptions and StandardOptions (options that read or write this server's files, such as "
            "--setup_file or --extra_package, are refused: use sdk_container_image)"
        )
    return None


def beam_args(spec: DataflowSpec) -> list[str]:
    """The Beam options of the child command, in a fixed order."""
    args = ["--runner=DataflowRunner"]
    for name in FIELDS:
        value = getattr(spec, name)
        if value is not None:
            args.append(f"--{name}={value}")
    args += spec.options
    if spec.dry_run:
        args.append("--dry_run=True")
    return args


class OptionsRefused(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


_validate_lock = threading.Lock()


def validate(spec: DataflowSpec, inputs: list[str], config: RunConfig) -> list[str]:
    """The CLI's own checks of the options, inputs, output and the config's worker files,
    before anything is written; returns the Beam args. OptionsRefused names the field."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    from edumix.pipelines.options import PipelineOptionsError, validate_pipeline_options

    args = beam_args(spec)
    for path in inputs:
        if any(ord(c) < 32 or c == "\x7f" for c in path):
            raise OptionsRefused(f"{path[:200]!r} holds a control character", "inputs")
        if not path.startswith("gs://"):
            raise OptionsRefused(
                f"{path[:200]!r}: a Dataflow run reads gs:// inputs (its workers read them, not this server); "
                "copy local files up with `gcloud storage cp`",
                "inputs",
            )
    stderr = io.StringIO()
    # FileSystems' options are process-wide: the check sets them, and they are reset after.
    with _validate_lock:
        try:
            with contextlib.redirect_stderr(stderr):  # argparse's usage text on a bad value
                validate_pipeline_options(args, inputs, spec.output, config=config)
        except (PipelineOptionsError, ValueError, TypeError) as e:  # Beam's own parsing, too
            raise OptionsRefused(str(e), _field_of(str(e), spec)) from e
        except SystemExit as e:  # Beam's argparse: a value of the wrong type
            lines = [x for x in stderr.getvalue().splitlines() if "error:" in x]
            message = lines[-1].split("error:", 1)[1].strip() if lines else "invalid Beam option value"
            raise OptionsRefused(message, _field_of(message, spec)) from e
        finally:
            FileSystems.set_options(PipelineOptions([]))
    return args


def _field_of(message: str, spec: DataflowSpec) -> str:
    """The request field a validator message is about (its first --option)."""
    if re.match(r"^[a-z]+\.[a-z_]+=", message):  # a config field the workers open
        return "config_yaml." + message.split("=", 1)[0]
    match = re.search(r"--([a-z_]+)", message)
    name = match.group(1) if match else ""
    if name in FIELDS:
        return f"dataflow.{name}"
    if name == "input":
        return "inputs"
    if name == "output":
        return "dataflow.output"
    if name == "dry_run":
        return "dataflow.dry_run"
    return "dataflow.options"


def job_from_log(log_path: Path, spec: dict[str, Any], max_bytes: int = 4_000_000) -> dict[str, Any] | None:
    """What the child reported about its Dataflow job: the printed description (format_job,
    a dry run or a job not waited for) and the job id Beam logged when it created the job."""
    try:
        with open(log_path, "rb") as fh:
            text = fh.read(max_bytes).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    found: dict[str, Any] = {"job_id": None, "description": None, "console_url": None}
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]  # each attempt's command
    lines = lines[starts[-1] + 1 :] if starts else lines
    for i, line in enumerate(lines):
        if JOB_HEAD_RE.match(line):
            found["description"] = "\n".join([line, *_takewhile_indented(lines[i + 1 :])])
        submitted = SUBMITTED_RE.search(line)
        if submitted:
            found["job_id"] = submitted.group(1)
    if found["job_id"] is None and found["description"]:
        head = re.match(r"^submitted \S+ job (\S+) ", found["description"])
        found["job_id"] = head.group(1) if head else None
    if found["job_id"]:
        df = spec.get("dataflow") or {}
        found["console_url"] = (
            f"https://console.cloud.google.com/dataflow/jobs/{df.get('region')}/{found['job_id']}"
            f"?project={df.get('project')}"
        )
        found["cancel_command"] = f"gcloud dataflow jobs cancel {found['job_id']} --region={df.get('region')}"
    if not (found["job_id"] or found["description"]):
        return None
    return found


def _takewhile_indented(lines: list[str]):
    for line in lines:
        if not line.startswith("  "):
            return
        yield line
