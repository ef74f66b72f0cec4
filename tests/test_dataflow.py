"""Dataflow readiness, offline: option checks, the job a dry run builds, and the pickles
Dataflow ships to workers.

Anything that builds a Dataflow job runs in a child process (`python tests/test_dataflow.py
OUT.json`) under a hard timeout, with credentials pointed at nothing and the network cut
inside the child, so a regression that reaches for GCS fails fast instead of retrying for
minutes. The child records every attempted network or credential call; none is allowed.
It starts as soon as collection ends (tests/background.py): it needs nothing from the tests
before it, and runs on the core they leave idle.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tarfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import background
import pytest
from layout_helpers import SETUPTOOLS, package_folder, top_folders

REPO = Path(__file__).resolve().parents[1]
BUCKET = "gs://edumix-test-bucket"
IMAGE = "us-central1-docker.pkg.dev/edumix-test/edumix/edumix-dataflow:0.1.0"
DATAFLOW = [
    "--runner=DataflowRunner",
    "--project=edumix-test",
    "--region=us-central1",
    f"--temp_location={BUCKET}/tmp",
    f"--sdk_container_image={IMAGE}",
]
INPUTS = [f"{BUCKET}/crawl/*.warc.gz"]
OUTPUT = f"{BUCKET}/run"
MAX_PAYLOAD = 1 << 20  # a DoFn pickle this big carries data (one shipped model is ~1.4 MB)
# Types that must be created in setup() on the worker, never pickled with the graph.
RESOURCE_MODULES = ("fasttext", "spacy", "presidio_analyzer", "presidio_anonymizer", "tokenizers", "_io", "io")


# -- option checks: every message ---------------------------------------------------------


def _validate(args, inputs=INPUTS, output=OUTPUT, **kw):
    from edumix.pipelines.options import validate_pipeline_options

    return validate_pipeline_options(args, inputs, output, **kw)


def _no(flag: str) -> list[str]:
    return [a for a in DATAFLOW if not a.startswith(flag)]


REJECTED = [
    (["--runner=DataFlowRuner"], INPUTS, OUTPUT, "is not a Beam runner; known runners: .*DataflowRunner"),
    (["--runner=no_such_module.SomeRunner"], INPUTS, OUTPUT, "cannot import it"),
    (_no("--project"), INPUTS, OUTPUT, "DataflowRunner needs --project"),
    ([*_no("--project"), "--project=123456789"], INPUTS, OUTPUT, "is a project number; give the project ID"),
    ([*_no("--project"), "--project=My_Project"], INPUTS, OUTPUT, "is not a valid project ID"),
    (_no("--region"), INPUTS, OUTPUT, r"DataflowRunner needs --region"),
    ([*DATAFLOW, "--job_name=Edumix_Run"], INPUTS, OUTPUT, "--job_name=Edumix_Run: use lowercase"),
    (_no("--temp_location"), INPUTS, OUTPUT, "needs --temp_location=gs://BUCKET/tmp"),
    ([*_no("--temp_location"), "--temp_location=/tmp/beam"], INPUTS, OUTPUT, "must be a gs://BUCKET/PATH"),
    ([*_no("--temp_location"), "--temp_location=gs://b/tmp"], INPUTS, OUTPUT, "'b' is not a valid bucket name"),
    (
        [*_no("--temp_location"), f"--staging_location={BUCKET}/st", "--temp_location=gs://Bad_Bucket/t"],
        INPUTS,
        OUTPUT,
        "--temp_location=gs://Bad_Bucket/t: 'Bad_Bucket' is not a valid bucket",
    ),
    ([*_no("--temp_location"), f"--temp_location={BUCKET}"], INPUTS, OUTPUT, "give a folder inside the bucket"),
    (_no("--sdk_container_image"), INPUTS, OUTPUT, "workers need edumix installed: pass --sdk_container_image"),
    ([*DATAFLOW, "--setup_file=./no_such/setup.py"], INPUTS, OUTPUT, "--setup_file=./no_such/setup.py: no such file"),
    ([*DATAFLOW, f"--setup_file={REPO / 'README.md'}"], INPUTS, OUTPUT, "Beam needs a setup.py or pyproject.toml"),
    ([*DATAFLOW, "--requirements_file=no_such.txt"], INPUTS, OUTPUT, "--requirements_file=no_such.txt: no such file"),
    (
        [*DATAFLOW, "--extra_package=dist/edumix-9.9.9-py3-none-any.whl"],
        INPUTS,
        OUTPUT,
        "--extra_package=dist/edumix-9.9.9-py3-none-any.whl: no such file",
    ),
    (DATAFLOW, ["crawl/*.warc.gz"], OUTPUT, "--input crawl/.*DataflowRunner's workers cannot read"),
    (DATAFLOW, INPUTS, "runs/local", "--output runs/local: DataflowRunner's workers cannot read or write"),
    (DATAFLOW, ["s3://edumix/crawl/*.warc.gz"], OUTPUT, "reads and writes gs:// only"),
    ([], ["gcs://edumix-test-bucket/crawl/x.warc.gz"], "out", r"no Beam filesystem for gcs://"),
    ([], ["gs://Edumix/crawl/x.warc.gz"], "out", "'Edumix' is not a valid bucket name"),
    (["--runner=FlinkRunner"], ["crawl/x.warc.gz"], "out", "FlinkRunner's workers cannot read or write"),
    (["--dry_run=True"], ["crawl/x.warc.gz"], "out", "--dry_run only works with DataflowRunner"),
    ([*DATAFLOW, "--dry_run=False"], INPUTS, OUTPUT, "Beam treats any --dry_run value as true"),
    ([*DATAFLOW, "--dry_run"], INPUTS, OUTPUT, r"--dry_run needs a value: --dry_run=True"),
    (
        [*DATAFLOW, "--dry_run=True", f"--requirements_file={REPO / 'pyproject.toml'}"],
        INPUTS,
        OUTPUT,
        "Beam would pip-download the requirements; add --requirements_cache=skip",
    ),
    (
        [*DATAFLOW, "--dry_run=True", "--prebuild_sdk_container_engine=cloud_build"],
        INPUTS,
        OUTPUT,
        "would build and push an image",
    ),
]


@pytest.mark.parametrize(("args", "inputs", "output", "message"), REJECTED)
def test_rejected_options_name_the_fix(args, inputs, output, message):
    from edumix.pipelines.options import PipelineOptionsError

    with pytest.raises(PipelineOptionsError, match=message):
        _validate(args, inputs, output)


def test_pyproject_setup_file_needs_build_package():
    import importlib.util

    from edumix.pipelines.options import PipelineOptionsError

    args = [*DATAFLOW, f"--setup_file={REPO / 'pyproject.toml'}"]
    if importlib.util.find_spec("build") is None:
        with pytest.raises(PipelineOptionsError, match="with the 'build' package, which is not installed"):
            _validate(args)
    else:
        assert _validate(args).runner == "DataflowRunner"


def test_dry_run_refuses_a_cloud_config():
    from edumix.pipelines.options import PipelineOptionsError

    with pytest.raises(PipelineOptionsError, match="a dry run reads nothing from cloud storage"):
        _validate([*DATAFLOW, "--dry_run=True"], config_path=f"{BUCKET}/configs/run.yaml")
    assert _validate(DATAFLOW, config_path=f"{BUCKET}/configs/run.yaml").dry_run is False


def _config_with(section: str, field: str, value: str):
    from edumix.core.config import RunConfig

    cfg = RunConfig()
    return cfg.model_copy(update={section: getattr(cfg, section).model_copy(update={field: value})})


@pytest.mark.parametrize(
    ("section", "field"),
    [("filters", "dirty_words_file"), ("classify", "edu_model"), ("classify", "quality_model"), ("mix", "tokenizer")],
)
def test_files_workers_open_must_be_inside_the_image(section, field):
    from edumix.core.config import RunConfig
    from edumix.pipelines.options import PipelineOptionsError

    if not hasattr(getattr(RunConfig(), section, None), field):
        pytest.skip(f"this config has no {section}.{field}")
    with pytest.raises(PipelineOptionsError, match=f"{section}.{field}=gs://.*cannot read gs://"):
        _validate(DATAFLOW, config=_config_with(section, field, f"{BUCKET}/models/x"))
    with pytest.raises(PipelineOptionsError, match=f"{section}.{field}=models/x: DataflowRunner's workers cannot"):
        _validate(DATAFLOW, config=_config_with(section, field, "models/x"))
    setup_only = [*_no("--sdk_container_image"), f"--setup_file={REPO / 'setup.py'}"]
    with pytest.raises(PipelineOptionsError, match="bake the file into a custom SDK container"):
        _validate(setup_only, config=_config_with(section, field, "/opt/models/x"))
    # An absolute path with a custom image refers to a file baked into that image.
    assert _validate(DATAFLOW, config=_config_with(section, field, "/opt/models/x")).remote
    # Local runners read local files.
    # a local run reads them from this machine: they must exist before the run starts
    with pytest.raises(PipelineOptionsError, match=f"{section}.{field}=models/x: no such file"):
        _validate([], ["crawl/x.warc.gz"], "out", config=_config_with(section, field, "models/x"))
    here = __file__  # any existing file
    assert not _validate([], ["crawl/x.warc.gz"], "out", config=_config_with(section, field, here)).remote


def test_accepted_options_and_the_plan():
    plan = _validate([], ["crawl/*.warc.gz"], "runs/r1")
    assert (plan.runner, plan.remote, plan.dry_run, plan.waits) == ("FnApiRunner", False, False, True)
    assert _validate(["--runner=DirectRunner"], ["crawl/x.warc.gz"], "out").runner == "FnApiRunner"
    assert _validate(["--runner=direct"], ["crawl/x.warc.gz"], "out").runner == "FnApiRunner"
    # gs:// output with the local runner is fine (FileSystems writes it with local credentials).
    assert not _validate([], ["crawl/x.warc.gz"], OUTPUT).remote
    # A portable runner whose workers run in this process may read local files.
    loop = _validate(["--runner=flink", "--environment_type=LOOPBACK"], ["crawl/x.warc.gz"], "out")
    assert (loop.runner, loop.remote) == ("FlinkRunner", False)
    plan = _validate(DATAFLOW)
    assert (plan.runner, plan.remote, plan.dry_run, plan.waits) == ("DataflowRunner", True, False, True)
    assert _validate(["--runner=dataflow", *DATAFLOW[1:]]).runner == "DataflowRunner"
    assert _validate([*_no("--sdk_container_image"), f"--setup_file={REPO / 'setup.py'}"]).remote
    assert _validate([*_no("--temp_location"), f"--staging_location={BUCKET}/staging"]).remote
    assert _validate([*DATAFLOW, "--no_wait_until_finish"]).waits is False
    dry = _validate([*DATAFLOW, "--dry_run=True"])
    assert (dry.dry_run, dry.waits) == (True, False)
    reqs = f"--requirements_file={REPO / 'pyproject.toml'}"  # any existing file
    assert _validate([*DATAFLOW, "--dry_run=True", reqs, "--requirements_cache=skip"]).dry_run


def test_config_from_a_beam_filesystem(tmp_path):
    """The flex template's config parameter is a URL: read through Beam's FileSystems
    (here a LocalFileSystem registered under a test scheme), errors name the URL."""
    from apache_beam.io.localfilesystem import LocalFileSystem

    from edumix.core.config import ConfigError
    from edumix.pipelines.options import load_run_config

    class _TestScheme(LocalFileSystem):
        @classmethod
        def scheme(cls):
            return "edumixtest"

        def open(self, path, *args, **kwargs):
            return super().open(path.removeprefix("edumixtest://"), *args, **kwargs)

    good, bad = tmp_path / "run.yaml", tmp_path / "bad.yaml"
    good.write_text("output:\n  docs_per_shard: 123\n")
    bad.write_text("output:\n  docs_per_shrd: 1\n")
    assert load_run_config(f"edumixtest://{good}").output.docs_per_shard == 123
    with pytest.raises(ConfigError, match=f"edumixtest://{bad}: invalid config: output.docs_per_shrd"):
        load_run_config(f"edumixtest://{bad}")
    with pytest.raises(ConfigError, match="cannot read config edumixtest://"):
        load_run_config(f"edumixtest://{tmp_path}/missing.yaml")
    assert load_run_config(good).output.docs_per_shard == 123


# -- staging without a custom container ---------------------------------------------------


def test_setup_file_stages_code_and_shipped_models(tmp_path):
    """Beam's own staging step (the sdist it builds for --setup_file=./setup.py) carries
    every package and every package-data file pyproject.toml declares."""
    from apache_beam.runners.portability.stager import Stager

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, src / name)
    for pkg in top_folders():
        shutil.copytree(REPO / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    out.mkdir()
    with redirect_stderr(io.StringIO()):
        tarball = Stager._build_setup_package(str(src / "setup.py"), str(out))
    with tarfile.open(tarball) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = {
        str(path.relative_to(REPO))
        for pkg, globs in SETUPTOOLS["package-data"].items()
        for pattern in globs
        for path in (REPO / package_folder(pkg)).glob(pattern)
    }
    assert expected and expected <= names, expected - names
    assert "pipelines/options.py" in names and "pipelines/curate.py" in names


# -- the Dataflow job, built by a dry run in a child process -------------------------------


def _probe(out_path: str) -> None:
    """Runs in the child: every Dataflow-facing entry point in dry-run mode, then the
    pickle checks on the job proto. Writes what it saw as JSON."""
    import socket

    attempts: list[str] = []

    def blocked(*args, **_):
        attempts.append(f"network {args[:2]}")
        raise OSError("network blocked by tests/test_dataflow.py")

    socket.getaddrinfo = blocked
    socket.create_connection = blocked
    from apache_beam.internal.gcp import auth

    def no_credentials(*_, **__):
        attempts.append("credentials")
        raise RuntimeError("credentials requested during a dry run")

    auth.get_service_credentials = no_credentials

    import apache_beam as beam
    from apache_beam.internal import cloudpickle_pickler, dill_pickler
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.portability import common_urns, python_urns
    from apache_beam.portability.api import beam_runner_api_pb2 as pb
    from apache_beam.runners import create_runner
    from typer.testing import CliRunner

    from edumix.cli import app
    from edumix.core.config import RunConfig
    from edumix.pipelines.curate import CurateJob, beam_options, curate_graph
    from edumix.pipelines.options import top_level_steps
    from edumix.pipelines.read import InputFile

    found: dict = {}
    cli = CliRunner()
    t = time.perf_counter()
    res = cli.invoke(app, ["curate", "--input", INPUTS[0], "--output", OUTPUT, *DATAFLOW, "--dry_run=True"])
    found["cli"] = {"exit": res.exit_code, "output": res.output, "seconds": time.perf_counter() - t}
    res = cli.invoke(app, ["curate", "--input", "crawl/local.warc.gz", "--output", OUTPUT, *DATAFLOW])
    found["cli_local_input"] = {"exit": res.exit_code, "output": res.output}

    sys.path.insert(0, str(REPO / "deploy" / "dataflow"))
    import main as launcher

    buf = io.StringIO()
    t = time.perf_counter()
    with redirect_stdout(buf):
        rc = launcher.main(
            [f"--input={INPUTS[0]},{BUCKET}/more/*.jsonl.gz", f"--output={OUTPUT}", *DATAFLOW[1:], "--dry_run=True"]
        )
    found["launcher"] = {"exit": rc, "output": buf.getvalue(), "seconds": time.perf_counter() - t}

    # The job proto Dataflow would receive, built by the same functions run_curate uses.
    job = CurateJob([InputFile(INPUTS[0], 0)], OUTPUT, RunConfig())
    t = time.perf_counter()
    p = beam.Pipeline(options=beam_options([*DATAFLOW, "--dry_run=True"]))
    curate_graph(p, job)
    proto = p.run().job.proto_pipeline
    found["dry_run_seconds"] = time.perf_counter() - t
    found["steps"] = top_level_steps(proto)
    t = time.perf_counter()
    local = beam.Pipeline(runner="FnApiRunner")
    curate_graph(local, job)
    found["local_steps"] = top_level_steps(local.to_runner_api())
    found["local_build_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    found["images"] = sorted(
        pb.DockerPayload.FromString(e.payload).container_image
        for e in proto.components.environments.values()
        if e.urn == common_urns.environments.DOCKER.urn
    )

    combine_urns = {
        common_urns.composites.COMBINE_PER_KEY.urn,
        common_urns.composites.COMBINE_GLOBALLY.urn,
        common_urns.combine_components.COMBINE_GROUPED_VALUES.urn,
    }
    payloads, failures, resources, dill_failures = [], [], [], []
    for t_proto in proto.components.transforms.values():
        urn, name = t_proto.spec.urn, t_proto.unique_name
        if urn == common_urns.primitives.PAR_DO.urn:
            do_fn = pb.ParDoPayload.FromString(t_proto.spec.payload).do_fn
            if do_fn.urn != python_urns.PICKLED_DOFN_INFO:  # a runner-known DoFn, no pickle
                found.setdefault("unpickled_dofn_urns", {}).setdefault(do_fn.urn, []).append(name)
                continue
            blob = do_fn.payload
        elif urn in combine_urns:
            blob = pb.CombinePayload.FromString(t_proto.spec.payload).combine_fn.payload
        elif urn == "beam:transform:pickled_python:v1":
            blob = t_proto.spec.payload
        else:
            continue
        try:
            obj = cloudpickle_pickler.loads(blob)
        except Exception as e:  # noqa: BLE001 - recorded, the test shows them
            failures.append(f"{name}: {type(e).__name__}: {e}")
            continue
        payloads.append((name, len(blob)))
        resources += [f"{name}: {r}" for r in _resources(obj)]
        if name == "WriteReport":
            found["report_stages"] = obj[2]["stages"]  # ParDo payload: (fn, args, kwargs, ...)
        try:
            dill_pickler.loads(dill_pickler.dumps(obj))
        except Exception as e:  # noqa: BLE001
            dill_failures.append(f"{name}: {type(e).__name__}: {e}")
    found["payloads"] = len(payloads)
    found["largest_payload"] = max(payloads, key=lambda nb: nb[1])
    found["unpickle_failures"] = failures
    found["dill_failures"] = dill_failures
    found["captured_resources"] = resources
    found["pickle_seconds"] = time.perf_counter() - t
    rebuilt = beam.Pipeline.from_runner_api(proto, create_runner("FnApiRunner"), PipelineOptions())
    found["roundtrip_steps"] = top_level_steps(rebuilt.to_runner_api())
    files = [Path(f) for m in list(sys.modules.values()) if isinstance(f := getattr(m, "__file__", None), str)]
    found["repo_modules"] = sorted(
        {
            f.relative_to(REPO).parts[0]
            for f in files
            if f.is_absolute() and f.is_relative_to(REPO) and not f.is_relative_to(Path(sys.prefix))
        }
    )
    found["attempts"] = attempts
    Path(out_path).write_text(json.dumps(found, indent=1))


def _resources(obj, depth: int = 0, seen: set | None = None) -> list[str]:
    """Objects of RESOURCE_MODULES reachable through attributes and containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    module = type(obj).__module__.split(".")[0]
    if module in RESOURCE_MODULES:
        return [f"{type(obj).__module__}.{type(obj).__qualname__}"]
    if isinstance(obj, (str, bytes, int, float, bool, type(None), type)):
        return []
    children = []
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    found = []
    for child in children:
        found += _resources(child, depth + 1, seen)
    return found


def test_resource_scan_sees_a_captured_file_handle(tmp_path):
    with open(tmp_path / "x", "w") as fh:
        holder = type("Holder", (), {})()
        holder.state = {"files": [fh]}
        assert _resources(("fn", [], {"kw": holder})) == ["_io.TextIOWrapper"]
    assert _resources(("fn", [], {"kw": {"path": str(tmp_path)}})) == []


def _probe_job(workdir: Path) -> background.Job:
    """The child that runs _probe, credentials pointed at nothing in `workdir`."""
    empty = workdir / "gcloud"
    empty.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GOOGLE_APPLICATION_CREDENTIALS": str(empty / "no-such-key.json"),
        "CLOUDSDK_CONFIG": str(empty),  # no gcloud user credentials either
        "NO_GCE_CHECK": "True",  # google-auth: do not probe the GCE metadata server
    }
    env.pop("EDUMIX_SDK_CONTAINER_IMAGE", None)
    argv = [sys.executable, __file__, str(workdir / "probe.json")]
    return background.Job("dataflow-probe", argv, workdir / "probe.log", cwd=REPO, env=env)


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the probe child starts when collection ends (it needs nothing from the
    tests before it), so the `probe` fixture usually finds it done."""
    return [_probe_job(workdir)] if any("probe" in item.fixturenames for item in items) else []


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    job = background.take("dataflow-probe") or _probe_job(tmp_path_factory.mktemp("dataflow"))
    t = time.perf_counter()
    returncode, _, stderr = job.wait(timeout=120)  # a hard timeout, counted from here
    assert returncode == 0, stderr[-4000:]
    found = json.loads(Path(job.argv[-1]).read_text())
    found["waited_seconds"] = time.perf_counter() - t  # the child usually ran while earlier tests did
    shown = ("steps", "largest_payload", "payloads", "unpickled_dofn_urns")
    print(
        json.dumps({k: round(v, 2) if "seconds" in k else v for k, v in found.items() if "seconds" in k or k in shown})
    )
    return found


@pytest.mark.slow
def test_dry_run_touches_no_network_and_no_credentials(probe):
    assert probe["attempts"] == []


@pytest.mark.slow
def test_cli_dry_run_builds_the_dataflow_job(probe):
    cli = probe["cli"]
    assert cli["exit"] == 0, cli["output"]
    text = " ".join(cli["output"].split())  # rich wraps long lines
    assert "dry run: DataflowRunner job" in text and "built, not submitted" in text
    assert f"worker image: {IMAGE}" in text
    assert ", ".join(probe["steps"]) in text


@pytest.mark.slow
def test_job_graph_holds_every_stage(probe):
    """Expected names come from the code: the report's stage list (pickled into the
    WriteReport step), the mix stage when the config has one, and the writers."""
    from edumix.core.config import RunConfig

    steps = probe["steps"]
    lowered = {s.lower() for s in steps}
    stages = probe["report_stages"]
    assert stages[:2] == ["read", "extract"] and len(stages) >= 10
    missing = [s for s in stages if s.lower() not in lowered]
    assert not missing, (missing, steps)
    if getattr(getattr(RunConfig(), "mix", None), "enabled", False):
        assert "mix" in steps
    for writer in ("WriteShards", "WriteRejected", "WriteReport"):
        assert writer in steps
    # Dataflow's overrides and graph optimisation keep every top-level step of the graph.
    assert sorted(steps) == sorted(probe["local_steps"])


@pytest.mark.slow
def test_job_runs_on_the_custom_container(probe):
    assert probe["images"] == [IMAGE]


@pytest.mark.slow
def test_flex_template_launcher_builds_the_same_job(probe):
    launched = probe["launcher"]
    assert launched["exit"] == 0, launched["output"]
    assert "dry run: DataflowRunner job" in launched["output"]
    assert ", ".join(probe["steps"]) in launched["output"]


@pytest.mark.slow
def test_local_input_on_dataflow_exits_2_before_any_gcs_call(probe):
    rejected = probe["cli_local_input"]
    assert rejected["exit"] == 2
    assert "DataflowRunner's workers cannot read" in " ".join(rejected["output"].split())


@pytest.mark.slow
def test_graph_pickles_cleanly(probe):
    """Every DoFn, CombineFn and pickled transform Dataflow would ship unpickles with Beam's
    default pickler (cloudpickle), also survives dill, carries no model or open file,
    and the whole graph round-trips through the runner API."""
    assert probe["payloads"] > 50
    assert probe["unpickle_failures"] == []
    assert probe["dill_failures"] == []
    assert probe["captured_resources"] == []
    name, size = probe["largest_payload"]
    assert size < MAX_PAYLOAD, f"{name} pickles to {size} bytes"
    assert sorted(probe["roundtrip_steps"]) == sorted(probe["steps"])


@pytest.mark.slow
def test_dockerfile_copies_every_package_the_launcher_imports(probe):
    from test_deploy_static import copied_paths

    copied = {p.rstrip("/").split("/")[0] for p in copied_paths()}
    loaded = set(probe["repo_modules"]) - {"tests", "deploy"}
    assert loaded and loaded <= copied, loaded - copied


if __name__ == "__main__":
    _probe(sys.argv[1])
