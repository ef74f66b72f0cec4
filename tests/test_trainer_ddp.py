"""DDP: `torchrun --nproc_per_node=2 -m edumix.trainer.cli pretrain` (gloo, CPU) trains the same
model as one process with the same global batch.

Tolerance: the only difference is the order of float additions (gradients summed by
all-reduce across ranks, losses weighted per rank), ~1e-7 relative per step; over these 6
steps the losses agree to rtol 1e-5 (measured: max relative difference 4.4e-8).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from trainer_runs import SMALL

from edumix.trainer.config import load_train_config
from edumix.trainer.train import pretrain

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metrics(out: Path) -> tuple[list[float], dict]:
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in lines if r["type"] == "train"]
    evals = [r["eval_loss"] for r in lines if r["type"] == "eval"]
    return losses, evals[-1]


@pytest.mark.slow
def test_two_gloo_processes_match_one(run_dir, tokenizer_path, tmp_path):
    cfg_path = tmp_path / "small.yaml"
    cfg_path.write_text(SMALL)
    # One process: batch_size 4 as 2 micro-steps of 2 rows.
    single = tmp_path / "single"
    pretrain(
        load_train_config(cfg_path), run_dir, single, tokenizer_path, device="cpu", progress=False, log=lambda m: None
    )
    # Two processes: each 2 micro-steps of 1 row (the same 4 rows per step).
    ddp = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [
        str(torchrun),
        "--nproc_per_node=2",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
        "-m",
        "edumix.trainer.cli",
        "pretrain",
        "--phase",
        "1",
        "--data",
        str(run_dir),
        "--tokenizer",
        str(tokenizer_path),
        "--config",
        str(cfg_path),
        "--out",
        str(ddp),
        "--device",
        "cpu",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 process(es)" in proc.stderr
    (l1, e1), (l2, e2) = _metrics(single), _metrics(ddp)
    assert len(l1) == len(l2) == 6

    assert l2 == pytest.approx(l1, rel=1e-5)
    assert e2 == pytest.approx(e1, rel=1e-5)
    meta = json.loads((ddp / "step-00000006" / "meta.json").read_text())
    assert meta["world_size"] == 2
    # the DDP run's checkpoint resumes on one process (the loader state is rank-free)
    more = load_train_config(cfg_path, overrides={"steps": 8})
    r = pretrain(more, run_dir, ddp, tokenizer_path, resume=True, device="cpu", progress=False, log=lambda m: None)
    assert r.step == 8 and len(r.losses) == 2
