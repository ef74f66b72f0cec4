"""Tests see edumix as it is installed: `python -m pytest` puts the checkout's root on
sys.path, where the bare folder names (filters, pipelines, ...) would import as top-level
packages and hide a module that only works from the checkout (a `resources.files("filters")`
once did). Dropping the root keeps every import going through `edumix.*`."""

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT]


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
# by the mix pipeline tests and the reader interop tests (tests/test_interop.py).
DEMO_MIX_CONFIG = {"dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")}}


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory) -> Path:
    from edumix.demo import write_demo_crawl

    path = tmp_path_factory.mktemp("mixcrawl") / "demo.warc.gz"
    write_demo_crawl(path)
    return path


@pytest.fixture(scope="session")
def demo_mix_run(demo_crawl, tmp_path_factory) -> tuple[Path, dict]:
    """(run directory, report) of `curate` on the demo crawl."""
    from edumix.core.config import RunConfig
    from edumix.pipelines.curate import run_curate

    out = tmp_path_factory.mktemp("mix") / "run"
    report = run_curate([str(demo_crawl)], str(out), RunConfig.model_validate(DEMO_MIX_CONFIG))
    return out, report
