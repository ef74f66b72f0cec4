"""TensorBoard event files beside metrics.jsonl (`edumix pretrain --tensorboard`): the scalars
read back with tensorboard's own EventAccumulator equal the JSON lines; a resume continues the
same curves; without the package, one clear line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edumix.cli import app
from edumix.trainer.config import load_train_config
from edumix.trainer.train import TrainError, pretrain

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

TINY = """\
model: {dim: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 64, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 4, eval_fraction: 0.05}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2}
steps: 6
eval_every: 3
eval_batches: 1
ckpt_every: 3
log_every: 1
"""
quiet = dict(progress=False, log=lambda m: None)


def _scalars(out: Path) -> dict[str, dict[int, float]]:
    acc = event_accumulator.EventAccumulator(str(out), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def _records(out: Path, kind: str) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


@pytest.fixture(scope="module")
def yaml_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tb") / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_scalars_equal_metrics_jsonl_and_resume_continues(run_dir, tokenizer_path, yaml_path, tmp_path):
    cfg = load_train_config(yaml_path)
    out = tmp_path / "p1"
    pretrain(cfg, run_dir, out, tokenizer_path, stop_after=4, tensorboard=True, **quiet)
    pretrain(cfg, run_dir, out, tokenizer_path, resume=True, tensorboard=True, **quiet)  # from step 3
    assert list(out.glob("events.out.tfevents.*")), sorted(p.name for p in out.iterdir())
    tb = _scalars(out)
    train = _records(out, "train")
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]  # step 4 of the first run was dropped
    assert sorted(tb["train/loss"]) == [1, 2, 3, 4, 5, 6]  # ... and purged from the events
    for r in train:  # float32 in the event file
        for key in ("loss", "lr", "tokens_per_s", "grad_norm"):
            assert tb[f"train/{key}"][r["step"]] == pytest.approx(r[key], rel=1e-6), (key, r["step"])
    assert "train/mfu" not in tb  # no known peak on CPU: null in the JSON, no point in TensorBoard
    evals = _records(out, "eval")
    assert [r["step"] for r in evals] == [3, 6]
    for r in evals:
        assert r["eval_loss"]
        for domain, v in r["eval_loss"].items():
            assert tb[f"eval/loss/{domain}"][r["step"]] == pytest.approx(v, rel=1e-6)
        assert tb["eval/loss_mean"][r["step"]] == pytest.approx(r["eval_loss_mean"], rel=1e-6)


def test_off_by_default_and_one_line_without_the_package(run_dir, tokenizer_path, yaml_path, tmp_path, monkeypatch):
    cfg = load_train_config(yaml_path, overrides={"steps": 1})
    pretrain(cfg, run_dir, tmp_path / "off", tokenizer_path, **quiet)
    assert not list((tmp_path / "off").glob("events.out.tfevents.*"))
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    with pytest.raises(TrainError, match=r"pip install 'edumix\[tensorboard\]'"):
        pretrain(cfg, run_dir, tmp_path / "none", tokenizer_path, tensorboard=True, **quiet)
    assert not (tmp_path / "none").exists()  # stopped before anything ran
    args = ["pretrain", "--data", str(run_dir), "--config", str(yaml_path), "--out", str(tmp_path / "cli")]
    r = CliRunner().invoke(app, [*args, "--tokenizer", str(tokenizer_path), "--steps", "1", "--tensorboard"])
    assert r.exit_code == 2 and "needs the tensorboard package" in r.output
