"""Check Beam options before anything is staged or any cloud call is made.

A bad option on DataflowRunner otherwise fails late and slowly: an invalid temp bucket
makes Beam look for a default bucket (minutes of GCS retries without credentials), a
local input path only fails once workers are up, and `--dry_run=False` quietly means
true. Every rule here raises PipelineOptionsError with the fix in the message; the CLI
exits 2 with it.

The same module turns a submitted or dry-run job into a short description, because a
job that was only built (dry run) or handed to Dataflow without waiting (flex template
launch, --no_wait_until_finish) has no report.json to summarise yet.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apache_beam.io.filesystem import FileSystem
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)
from apache_beam.options.pipeline_options_validator import (
    PipelineOptionsValidator as BeamRules,
)
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2

from edumix.core.config import ConfigError, RunConfig, load_config

# Beam's DirectRunner first tries PrismRunner, which downloads a binary at start (fails
# offline). FnApiRunner is the in-process direct runner it falls back to, used directly.
DEFAULT_RUNNER = "FnApiRunner"
DATAFLOW = frozenset({"DataflowRunner", "TestDataflowRunner"})
# Portable runners: workers run in SDK containers on the cluster unless LOOPBACK puts
# them in this process.
PORTABLE = frozenset({"FlinkRunner", "SparkRunner", "PortableRunner", "KafkaStreamsRunner"})
_KNOWN_RUNNERS = {p.rsplit(".", 1)[-1].lower(): p.rsplit(".", 1)[-1] for p in StandardOptions.ALL_KNOWN_RUNNERS}
_ALIASES = {"direct": DEFAULT_RUNNER, "directrunner": DEFAULT_RUNNER}  # pipelines.curate.beam_options applies it

# Config fields naming a file that workers open with plain open()/Path: a gs:// value
# cannot work there, and a local path exists on a remote worker only inside a custom
# SDK container. (section, field); fields a config version lacks are skipped.
WORKER_FILE_FIELDS = (
    ("filters", "dirty_words_file"),
    ("classify", "quality_model"),
    ("classify", "edu_model"),
    ("classify", "domain_model"),
    ("mix", "tokenizer"),
)
_FALSE_WORDS = {"", "false", "0", "no", "off", "none"}


class PipelineOptionsError(ValueError):
    pass


@dataclass(frozen=True)
class LaunchPlan:
    runner: str  # canonical class name, e.g. DataflowRunner
    remote: bool  # workers cannot read this machine's files
    dry_run: bool  # build the Dataflow job, submit nothing, touch no cloud service
    waits: bool  # run_curate waits for the job and reads report.json afterwards
    has_image: bool = False  # workers run a custom SDK container (--sdk_container_image)


def is_remote_path(path: str) -> bool:
    return FileSystems.get_scheme(path) is not None


def resolve_runner(value: str | None) -> str:
    """Beam's own name lookup (case-insensitive, `Runner` suffix optional, or a dotted
    class path), done without instantiating the runner."""
    if not value:
        return DEFAULT_RUNNER
    key = value.lower()
    if key in _ALIASES:
        return _ALIASES[key]
    name = _KNOWN_RUNNERS.get(key) or _KNOWN_RUNNERS.get(key + "runner")
    if name:
        return name
    if "." in value:
        module, cls = value.rsplit(".", 1)
        try:
            getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as e:
            raise PipelineOptionsError(f"--runner={value}: cannot import it ({e})") from e
        return cls
    known = ", ".join(sorted(set(_KNOWN_RUNNERS.values())))
    raise PipelineOptionsError(f"--runner={value} is not a Beam runner; known runners: {known}")


def validate_pipeline_options(
    beam_args: Sequence[str],
    inputs: Sequence[str],
    output: str,
    *,
    config: RunConfig | None = None,
    config_path: str | os.PathLike | None = None,
) -> LaunchPlan:
    """Check runner options and paths together; raise PipelineOptionsError on the first
    problem. Reads option strings and local files, never a cloud service; hands the options
    to Beam's filesystems, so listing the inputs, checking the output and reading a remote
    config use the run's endpoints and credentials (--s3_endpoint_url ...), as its workers do."""
    args = list(beam_args)
    dry_run = _dry_run_flag(args)
    options = PipelineOptions(args)
    _check_known(options)
    FileSystems.set_options(options)
    runner = resolve_runner(options.view_as(StandardOptions).runner)
    env = (options.view_as(PortableOptions).environment_type or "").upper()
    remote = runner in DATAFLOW or (runner in PORTABLE and env != "LOOPBACK")
    if dry_run and runner not in DATAFLOW:
        raise PipelineOptionsError(
            f"--dry_run only works with DataflowRunner; {runner} would ignore it and run the pipeline for real"
        )
    if runner in DATAFLOW:
        _check_dataflow(options)
    if dry_run:
        _check_dry_run_stays_offline(options.view_as(SetupOptions))
    _check_staging_files(options.view_as(SetupOptions))
    _check_paths(runner, remote, inputs, output)
    _check_s3_options(args, options, [*inputs, output])
    if config_path is not None:
        _check_config_path(str(config_path), dry_run)
    gcp = options.view_as(GoogleCloudOptions)
    no_wait = options.view_as(StandardOptions).no_wait_until_finish
    waits = not (dry_run or gcp.template_location or (remote and no_wait))
    has_image = bool(options.view_as(WorkerOptions).sdk_container_image)
    plan = LaunchPlan(runner=runner, remote=remote, dry_run=dry_run, waits=waits, has_image=has_image)
    if config is not None:
        validate_config_files(config, plan)
    return plan


def _check_known(options: PipelineOptions) -> None:
    """An option no Beam options class declares is an error: Beam would only log that it
    discards it, and a mistyped --direct_num_workers would run on one worker unnoticed."""
    beam_log = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_log.level
    beam_log.setLevel(logging.ERROR)  # Beam's own "Discarding unparseable args" warning
    try:
        unknown = set(options.get_all_options(retain_unknown_options=True)) - set(options.get_all_options())
    finally:
        beam_log.setLevel(level)
    if unknown:
        names = ", ".join(f"--{name}" for name in sorted(unknown))
        raise PipelineOptionsError(
            f"unknown option(s) {names}: neither an edumix option nor a Beam pipeline option "
            "(edumix's are in the command's --help; Beam's in apache_beam.options.pipeline_options)"
        )


def validate_config_files(config: RunConfig, plan: LaunchPlan) -> None:
    """The files a run's workers will open, checked against where the workers run: the
    half of the validation that needs the loaded config (read after the options pass)."""
    if plan.remote:
        _check_worker_files(config, plan.runner, plan.has_image)
    else:
        _check_local_files(config)


def _dry_run_flag(args: list[str]) -> bool:
    """Beam stores --dry_run as a string and tests its truth: `--dry_run=False` is a dry run."""
    values = [a.split("=", 1)[1] if "=" in a else None for a in args if a.split("=", 1)[0] == "--dry_run"]
    if not values:
        return False
    value = values[-1]
    if value is None:
        raise PipelineOptionsError("--dry_run needs a value: --dry_run=True")
    if value.strip().lower() in _FALSE_WORDS:
        raise PipelineOptionsError(
            f"--dry_run={value}: Beam treats any --dry_run value as true; leave the option out for a real run"
        )
    return True


def _check_dry_run_stays_offline(setup: SetupOptions) -> None:
    """Staging steps Beam runs even for a dry run that would reach a package index or a
    container builder."""
    if setup.requirements_file and setup.requirements_cache != "skip":
        raise PipelineOptionsError(
            "--dry_run with --requirements_file: Beam would pip-download the requirements; "
            "add --requirements_cache=skip"
        )
    if setup.prebuild_sdk_container_engine:
        raise PipelineOptionsError("--dry_run with --prebuild_sdk_container_engine would build and push an image")


def _check_dataflow(options: PipelineOptions) -> None:
    gcp = options.view_as(GoogleCloudOptions)
    if not gcp.project:
        raise PipelineOptionsError("DataflowRunner needs --project=PROJECT_ID")
    if re.fullmatch(BeamRules.PROJECT_NUMBER_PATTERN, gcp.project):
        raise PipelineOptionsError(f"--project={gcp.project} is a project number; give the project ID")
    if not re.fullmatch(BeamRules.PROJECT_ID_PATTERN, gcp.project):
        raise PipelineOptionsError(f"--project={gcp.project} is not a valid project ID")
    if not gcp.region:
        raise PipelineOptionsError("DataflowRunner needs --region (e.g. --region=us-central1)")
    if gcp.job_name and not re.fullmatch(BeamRules.JOB_PATTERN, gcp.job_name):
        raise PipelineOptionsError(
            f"--job_name={gcp.job_name}: use lowercase letters, digits and '-', starting with a letter"
        )
    locations = {k: getattr(gcp, k) for k in ("temp_location", "staging_location") if getattr(gcp, k)}
    if not locations:
        # Beam would otherwise look up or create a default bucket: a GCS call at launch.
        raise PipelineOptionsError("DataflowRunner needs --temp_location=gs://BUCKET/tmp (or --staging_location)")
    for name, value in locations.items():
        problem = _gcs_path_problem(value)
        if problem:
            raise PipelineOptionsError(f"--{name}={value}: {problem}")
    setup = options.view_as(SetupOptions)
    if not (options.view_as(WorkerOptions).sdk_container_image or setup.setup_file or setup.extra_packages):
        # The default worker image holds Beam only: every bundle would fail to import edumix.
        raise PipelineOptionsError(
            "DataflowRunner workers need edumix installed: pass --sdk_container_image=IMAGE "
            "(built from deploy/dataflow/Dockerfile), --setup_file=./setup.py, "
            "or --extra_package=dist/edumix-VERSION-py3-none-any.whl"
        )


def _gcs_path_problem(path: str) -> str | None:
    """Beam's own gs:// rules (scheme, bucket name, an object part), as one message."""
    match = re.match(BeamRules.GCS_URI, path, re.DOTALL)
    if match is None or match.group("SCHEME").lower() != BeamRules.GCS_SCHEME:
        return "must be a gs://BUCKET/PATH location"
    bucket = match.group("BUCKET")
    if not re.fullmatch(BeamRules.GCS_BUCKET, bucket):
        return f"{bucket!r} is not a valid bucket name (3+ characters: lowercase letters, digits, '-', '_', '.')"
    if match.group("OBJECT") is None:
        return f"give a folder inside the bucket, e.g. gs://{bucket}/tmp"
    return None


def _check_staging_files(setup: SetupOptions) -> None:
    if setup.setup_file:
        path = Path(setup.setup_file)
        if not path.is_file():
            raise PipelineOptionsError(f"--setup_file={setup.setup_file}: no such file")
        if path.name not in ("setup.py", "pyproject.toml"):
            raise PipelineOptionsError(f"--setup_file={setup.setup_file}: Beam needs a setup.py or pyproject.toml")
        if path.name == "pyproject.toml" and importlib.util.find_spec("build") is None:
            raise PipelineOptionsError(
                f"--setup_file={setup.setup_file}: Beam builds a pyproject.toml with the 'build' package, "
                "which is not installed; pip install build, or pass --setup_file=./setup.py"
            )
    if setup.requirements_file and not Path(setup.requirements_file).is_file():
        raise PipelineOptionsError(f"--requirements_file={setup.requirements_file}: no such file")
    for package in setup.extra_packages or ():
        if not is_remote_path(package) and not Path(package).is_file():
            raise PipelineOptionsError(f"--extra_package={package}: no such file (build it: pip wheel . -w dist)")


def _check_paths(runner: str, remote: bool, inputs: Sequence[str], output: str) -> None:
    schemes = {cls.scheme() for cls in FileSystem.get_all_subclasses()} - {None}
    for flag, path in [*(("--input", p) for p in inputs), ("--output", output)]:
        scheme = FileSystems.get_scheme(path)
        if scheme is not None and scheme not in schemes:
            raise PipelineOptionsError(
                f"{flag} {path}: no Beam filesystem for {scheme}:// (available: {', '.join(sorted(schemes))})"
            )
        if scheme == "gs":
            problem = _gcs_path_problem(path)
            if problem and "folder inside" not in problem:
                raise PipelineOptionsError(f"{flag} {path}: {problem}")
        if runner in DATAFLOW and scheme is None:
            raise PipelineOptionsError(
                f"{flag} {path}: DataflowRunner's workers cannot read or write this machine's files; "
                "use a gs://BUCKET/... path (copy local files up with `gcloud storage cp`)"
            )
        if runner in DATAFLOW and scheme != "gs":
            raise PipelineOptionsError(
                f"{flag} {path}: edumix on Dataflow reads and writes gs:// only "
                f"(the worker image has apache-beam[gcp], not the {scheme} filesystem's extras)"
            )
        if remote and scheme is None:
            raise PipelineOptionsError(
                f"{flag} {path}: {runner}'s workers cannot read or write this machine's files; use a path "
                "every worker can reach (gs://, s3://, hdfs://), or --environment_type=LOOPBACK for a local cluster"
            )
        if scheme == "s3" and not _has_boto3():
            raise PipelineOptionsError(
                f"{flag} {path}: s3:// needs Beam's S3 filesystem, which needs boto3: pip install 'edumix[aws]'"
            )


def _check_s3_options(args: list[str], options: PipelineOptions, paths: list[str]) -> None:
    """Beam's multi_processing workers build their S3 client from default options: --s3_*
    values reach the launcher's listing but not the reads and writes (checked with Beam 2.77:
    the workers fall back to AWS's own endpoint and find no credentials). The AWS_* variables
    reach them, as child processes inherit the environment."""
    given = sorted({a.split("=", 1)[0] for a in args if a.startswith("--s3_")})
    mode = options.view_as(DirectOptions).direct_running_mode
    if given and mode == "multi_processing" and any(FileSystems.get_scheme(p) == "s3" for p in paths):
        raise PipelineOptionsError(
            f"{', '.join(given)} do not reach --direct_running_mode=multi_processing workers; set AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL_S3 in the environment instead"
        )


def _has_boto3() -> bool:
    from apache_beam.io.aws.clients.s3 import boto3_client  # Beam's S3 client: boto3 is None without it

    return boto3_client.boto3 is not None


def _check_config_path(path: str, dry_run: bool) -> None:
    if dry_run and is_remote_path(path):
        raise PipelineOptionsError(
            f"--config {path}: a dry run reads nothing from cloud storage; give a local copy of the config"
        )


def _worker_files(config: RunConfig):
    """(section.field, path) of every file a worker will open that the config names."""
    for section, field in WORKER_FILE_FIELDS:
        value = getattr(getattr(config, section, None), field, None)
        if value is not None:
            yield f"{section}.{field}", str(value)


def _check_worker_files(config: RunConfig, runner: str, has_image: bool) -> None:
    for name, value in _worker_files(config):
        if is_remote_path(value):
            scheme = FileSystems.get_scheme(value)
            raise PipelineOptionsError(
                f"{name}={value}: workers open this file with open(), which cannot read {scheme}://; "
                "bake it into the SDK container (deploy/dataflow/Dockerfile) and give its absolute path there"
            )
        if not (has_image and os.path.isabs(value)):
            raise PipelineOptionsError(
                f"{name}={value}: {runner}'s workers cannot read this machine's files; bake the file into a custom "
                "SDK container (deploy/dataflow/Dockerfile), pass --sdk_container_image, and give its absolute "
                "path inside the image (leave it unset to use the shipped default)"
            )


def _check_local_files(config: RunConfig) -> None:
    """A local run: every file the workers will open must exist now, not fail in a worker."""
    for name, value in _worker_files(config):
        if not is_remote_path(value) and not os.path.isfile(value):
            raise PipelineOptionsError(f"{name}={value}: no such file")


def load_run_config(path: str | os.PathLike | None) -> RunConfig:
    """load_config for a local path or a gs:// (any Beam filesystem) YAML; the flex
    template's `config` parameter is such a URL, read by the launcher."""
    if path is None or not is_remote_path(str(path)):
        return load_config(path)
    url = str(path)
    with tempfile.TemporaryDirectory(prefix="edumix-config-") as tmp:
        local = Path(tmp) / (url.rstrip("/").rsplit("/", 1)[-1] or "config.yaml")
        try:
            with FileSystems.open(url) as src:
                local.write_bytes(src.read())
        except Exception as e:
            raise ConfigError(f"cannot read config {url}: {e}") from e
        try:
            return load_config(local)
        except ConfigError as e:
            raise ConfigError(str(e).replace(str(local), url)) from e


def describe_job(pipeline, plan: LaunchPlan) -> dict[str, Any]:
    """What a job that was built or submitted without waiting looks like: its name, id
    (none for a dry run or a template), worker images and top-level steps."""
    runner = pipeline.runner
    proto = getattr(runner, "proto_pipeline", None) or pipeline.to_runner_api()
    components = proto.components
    images = {
        beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
        for env in components.environments.values()
        if env.urn == common_urns.environments.DOCKER.urn
    }
    result = pipeline.result
    job_id = None
    if not plan.dry_run and getattr(result, "has_job", False):
        job_id = result.job_id()
    gcp = pipeline.options.view_as(GoogleCloudOptions)
    dataflow_job = getattr(runner, "job", None)  # DataflowRunner's job description, also on a dry run
    return {
        "job": {
            "runner": plan.runner,
            "dry_run": plan.dry_run,
            "job_name": dataflow_job.proto.name if dataflow_job is not None else gcp.job_name,
            "job_id": job_id,
            "project": gcp.project,
            "region": gcp.region,
            "template_location": gcp.template_location,
            "worker_images": sorted(images),
            "transforms": len(components.transforms),
            "steps": top_level_steps(proto),
        }
    }


def top_level_steps(proto) -> list[str]:
    """Labels of the pipeline's top-level transforms, in graph order. Beam wraps them in
    one unnamed root composite when it writes the runner API proto."""
    transforms = proto.components.transforms
    ids = list(proto.root_transform_ids)
    while len(ids) == 1 and not transforms[ids[0]].spec.urn and transforms[ids[0]].unique_name in ("", ids[0]):
        ids = list(transforms[ids[0]].subtransforms)
    return [transforms[t].unique_name for t in ids]


def format_job(job: dict[str, Any], output: str) -> str:
    if job["dry_run"]:
        head = f"dry run: {job['runner']} job {job['job_name']} built, not submitted; nothing was read or written"
    elif job["job_id"]:
        head = f"submitted {job['runner']} job {job['job_id']} ({job['job_name']}) in {job['project']}/{job['region']}"
    else:
        head = f"{job['runner']} job {job['job_name']} handed over ({job['template_location'] or 'not waiting'})"
    lines = [
        head,
        f"  {len(job['steps'])} steps ({job['transforms']} transforms): {', '.join(job['steps'])}",
        f"  worker image: {', '.join(job['worker_images']) or '(runner default)'}",
    ]
    if not job["dry_run"]:
        lines.append(f"  report.json and manifest.json appear in {output} when the job finishes")
    return "\n".join(lines)
