"""Tests see edumix as it is installed: `python -m pytest` puts the checkout's root on
sys.path, where the bare folder names (filters, pipelines, ...) would import as top-level
packages and hide a module that only works from the checkout (a `resources.files("filters")`
once did). Dropping the root keeps every import going through `edumix.*`."""

import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import background
import pytest

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT]


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (the trainer's tests: `pytestmark = usefixtures(...)`).
    Tiny matmuls gain nothing from threads, and on a busy machine a second OpenMP thread
    waiting for a core can stall each one for milliseconds."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Child processes test modules start ahead of their tests (tests/background.py).
_WORKDIRS: list[Path] = []


def pytest_collection_finish(session):
    from shared_data import SHARED

    if session.config.option.collectonly:
        return
    by_module: dict = {}
    for item in session.items:
        if getattr(item, "module", None) is not None:
            by_module.setdefault(item.module, []).append(item)

    def workdir(name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"edumix-{name}-"))
        _WORKDIRS.append(path)
        return path

    jobs = []  # in collection order: the job needed first runs first
    for module, items in by_module.items():
        names = {name for item in items for name in item.fixturenames}
        if "real_run" in names and (SHARED / "warc").is_dir() and not any(j.name == "real-run" for j in jobs):
            jobs.append(_real_run_job(workdir("real-run")))
        if "demo_crawl" in names and not any(j.name == "demo-mix-run" for j in jobs):
            jobs.append(_demo_mix_job(workdir("demo-mix-run")))
        jobs_for = getattr(module, "background_jobs", None)
        if jobs_for is not None:
            jobs += jobs_for(items, workdir(module.__name__))
    background.submit(jobs)


def pytest_sessionfinish(session):
    background.stop_all()
    for workdir in _WORKDIRS:
        shutil.rmtree(workdir, ignore_errors=True)


# Session fixtures the trainer's tests share: one run and one tokenizer trained on it.
@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    from trainer_runs import make_run

    return make_run(tmp_path_factory.mktemp("trainer_run"))


@pytest.fixture(scope="session")
def tokenizer_path(run_dir, tmp_path_factory) -> Path:
    from edumix.trainer.tokenizer import train_tokenizer

    return train_tokenizer(run_dir, 400, tmp_path_factory.mktemp("tok") / "tokenizer.json", progress=False)


# One real curate run of the demo crawl with a mix (no dedup: more documents per cell), shared
# by the mix pipeline tests and the reader interop tests (tests/test_interop.py). It is
# `edumix curate` in a child process started when collection ends (tests/background.py).
DEMO_MIX_CONFIG = {"dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")}}


def _demo_mix_job(workdir: Path) -> background.Job:
    from beam_helpers import curate_job

    from edumix.demo import write_demo_crawl

    workdir.mkdir(parents=True, exist_ok=True)
    write_demo_crawl(workdir / "demo.warc.gz")
    return curate_job("demo-mix-run", [workdir / "demo.warc.gz"], workdir, DEMO_MIX_CONFIG)


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory) -> Path:
    """The demo crawl (120 pages, seed 0) demo_mix_run curates."""
    job = background.take("demo-mix-run") or background.register(_demo_mix_job(tmp_path_factory.mktemp("mix")))
    return Path(job.argv[job.argv.index("--input") + 1])


@pytest.fixture(scope="session")
def demo_mix_run(demo_crawl) -> tuple[Path, dict]:
    """(run directory, report) of `curate` on the demo crawl."""
    from beam_helpers import finished_run

    run, report, _ = finished_run(background.take("demo-mix-run"))  # queued or registered by demo_crawl
    return run, report


class CliDemo(NamedTuple):
    """What `edumix demo --output ROOT` wrote, and what it printed."""

    root: Path
    crawl: Path  # ROOT/crawl/demo-crawl.warc.gz
    run: Path  # ROOT/run, curated with the default config
    output: str


@pytest.fixture(scope="session")
def cli_demo(tmp_path_factory) -> CliDemo:
    """`edumix demo`, the README's first command, run once through the CLI: checked by
    tests/test_demo_run.py, annotated in tests/test_annotate.py, the in-process reference of
    the 2-worker run in tests/test_progress.py. Tests read it and never write into it (copy
    it first)."""
    from typer.testing import CliRunner

    from edumix.cli import app

    root = tmp_path_factory.mktemp("cli_demo")
    result = CliRunner().invoke(app, ["demo", "--output", str(root)])
    assert result.exit_code == 0, result.output
    return CliDemo(root, root / "crawl" / "demo-crawl.warc.gz", root / "run", result.output)


# One curate run over every shared crawl file (beam_helpers.real_inputs), shared by
# tests/test_pipeline.py (which runs the same inputs again, in-process and on 2 workers, and
# compares) and the real-crawl report of tests/test_report_html.py. Read-only, like cli_demo.
# It is `edumix curate` in a child process started when collection ends (tests/background.py).
def _real_run_job(workdir: Path) -> background.Job:
    from beam_helpers import REAL_RUN_CONFIG, curate_job, real_inputs

    config = REAL_RUN_CONFIG.model_dump(mode="json", exclude_defaults=True)
    return curate_job("real-run", real_inputs(), workdir, config)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory) -> tuple[Path, dict]:
    """(run directory, report) of `curate` on beam_helpers.real_inputs() with REAL_RUN_CONFIG."""
    from beam_helpers import REAL_RUN_CONFIG, finished_run

    job = background.take("real-run") or _real_run_job(tmp_path_factory.mktemp("real_run"))
    run, report, _ = finished_run(job)
    assert report["config_hash"] == REAL_RUN_CONFIG.config_hash()
    return run, report
