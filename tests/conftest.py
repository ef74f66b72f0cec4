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
