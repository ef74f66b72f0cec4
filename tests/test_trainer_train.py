"""Training loop, exact resume, crash-safe checkpoints, phase 2 and the trainer CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from trainer_runs import SMALL, make_run  # SMALL: also imported from here by test_checkpoint_integrity.py
from typer.testing import CliRunner

from edumix.cli import app
from edumix.trainer import checkpoint as ckpt_io
from edumix.trainer.config import load_train_config
from edumix.trainer.train import TrainError, lr_at, pretrain

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_yaml(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def _train_lines(out: Path) -> list[dict]:
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in lines if r["type"] == "train"]


def test_lr_schedules(small_yaml):
    cos = load_train_config(small_yaml, overrides={"steps": 100, "optim": {"warmup_steps": 10}})
    lrs = [lr_at(s, cos) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-3) and lrs[9] == pytest.approx(1e-2)
    assert all(a >= b - 1e-15 for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] == pytest.approx(1e-3)
    wsd = load_train_config(small_yaml, overrides={"steps": 100, "optim": {"warmup_steps": 10, "schedule": "wsd"}})
    lrs = [lr_at(s, wsd) for s in range(100)]
    assert lrs[10:80] == [1e-2] * 70  # stable until the last 20%
    assert lrs[-1] == pytest.approx(1e-3) and all(a > b for a, b in zip(lrs[79:], lrs[80:]))


def test_resume_is_bit_identical(run_dir, tokenizer_path, small_yaml, tmp_path):
    cfg = load_train_config(small_yaml)
    whole = pretrain(cfg, run_dir, tmp_path / "a", tokenizer_path, progress=False, log=lambda m: None)
    first = pretrain(cfg, run_dir, tmp_path / "b", tokenizer_path, stop_after=3, progress=False, log=lambda m: None)
    rest = pretrain(cfg, run_dir, tmp_path / "b", tokenizer_path, resume=True, progress=False, log=lambda m: None)
    assert len(whole.losses) == 6 and first.losses + rest.losses == whole.losses  # exact, not approx
    assert whole.losses[-1] < whole.losses[0]
    a, b = (load_file(tmp_path / d / "step-00000006" / "model.safetensors") for d in "ab")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["step"] for r in _train_lines(tmp_path / "b")] == [1, 2, 3, 4, 5, 6]
    meta = ckpt_io.read_meta(tmp_path / "b")
    assert meta["step"] == 6 and meta["lineage"]["config_hash"] == "c0ffee0000000000"
    assert meta["tokenizer_sha256"] == ckpt_io.read_meta(tmp_path / "a")["tokenizer_sha256"]
    assert (tmp_path / "b" / "step-00000006" / "tokenizer.json").is_file()
    with pytest.raises(TrainError, match="--resume"):
        pretrain(cfg, run_dir, tmp_path / "a", tokenizer_path, progress=False, log=lambda m: None)


def test_failed_checkpoint_write_keeps_the_previous_one(run_dir, tokenizer_path, small_yaml, tmp_path, monkeypatch):
    cfg = load_train_config(small_yaml)
    real, calls = ckpt_io._write_state, []

    def failing(state, path):
        calls.append(path)
        if len(calls) == 2:  # the step-6 checkpoint: model written, trainer state not
            raise OSError("disk full")
        real(state, path)

    monkeypatch.setattr(ckpt_io, "_write_state", failing)
    out = tmp_path / "run"
    with pytest.raises(OSError, match="disk full"):
        pretrain(cfg, run_dir, out, tokenizer_path, progress=False, log=lambda m: None)
    assert (out / "latest").read_text().strip() == "step-00000003"
    assert [p.name for p in ckpt_io.list_checkpoints(out)] == ["step-00000003"]
    assert ckpt_io.load_state(out)["step"] == 3
    monkeypatch.setattr(ckpt_io, "_write_state", real)
    done = pretrain(cfg, run_dir, out, tokenizer_path, resume=True, progress=False, log=lambda m: None)
    assert done.step == 6 and not list(out.glob(".tmp-*"))


def test_sigkill_during_checkpoint_write_keeps_the_previous_one(run_dir, tokenizer_path, small_yaml, tmp_path):
    out = tmp_path / "run"
    script = textwrap.dedent(f"""
        import os, signal
        from edumix.trainer import checkpoint as c
        from edumix.trainer.config import load_train_config
        from edumix.trainer.train import pretrain
        real, n = c._write_meta, []
        def killed(meta, path):
            n.append(1)
            if len(n) == 2:  # second checkpoint: weights and optimizer state on disk, meta half-written
                path.write_text('{{"step": ')
                os.kill(os.getpid(), signal.SIGKILL)
            real(meta, path)
        c._write_meta = killed
        pretrain(load_train_config({str(small_yaml)!r}), {str(run_dir)!r}, {str(out)!r}, {str(tokenizer_path)!r},
                 progress=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert list(out.glob(".tmp-step-00000006-*"))  # the interrupted write
    assert ckpt_io.resolve_checkpoint(out).name == "step-00000003"
    model, meta = ckpt_io.load_model_from_checkpoint(out)
    assert meta["step"] == 3 and ckpt_io.load_state(out)["step"] == 3


def test_phase2_starts_from_phase1_weights_with_longer_context(run_dir, tokenizer_path, small_yaml, tmp_path):
    p1 = pretrain(
        load_train_config(small_yaml), run_dir, tmp_path / "p1", tokenizer_path, progress=False, log=lambda m: None
    )
    cfg2 = load_train_config(small_yaml, 2, {"data": {"seq_len": 64}, "model": {"rope_scaling": 2.0}})
    p2 = pretrain(
        cfg2,
        run_dir,
        tmp_path / "p2",
        tokenizer_path,
        phase=2,
        init=tmp_path / "p1",
        progress=False,
        log=lambda m: None,
    )
    assert len(p2.losses) == 4 and p2.losses[0] < p1.losses[0] - 0.2  # not a fresh model
    meta = ckpt_io.read_meta(tmp_path / "p2")
    assert meta["model_config"]["rope_scaling"] == 2.0 and meta["phase"] == 2
    assert meta["lineage"]["init_from"]["step"] == 6
    state = ckpt_io.load_state(tmp_path / "p2")
    assert state["optimizer"]["state"][0]["step"] == 4  # a fresh optimizer, 4 steps old
    other = tmp_path / "other.json"
    from edumix.trainer.tokenizer import train_tokenizer

    train_tokenizer(run_dir, 300, other, progress=False)
    with pytest.raises(TrainError, match="another tokenizer"):
        pretrain(cfg2, run_dir, tmp_path / "p2b", other, phase=2, init=tmp_path / "p1", progress=False)


def test_cli_errors_are_clear(run_dir, tokenizer_path, small_yaml, tmp_path):
    runner = CliRunner()

    def fails(args: list[str], needle: str) -> None:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert needle in result.output, result.output

    base = ["pretrain", "--config", str(small_yaml), "--out", str(tmp_path / "o")]
    fails([*base, "--data", str(tmp_path / "missing")], "run directory not found")
    fails([*base, "--data", str(tmp_path)], "no manifest.json")
    fails([*base, "--data", str(run_dir)], "tokenizer.json is required")
    fails([*base, "--data", str(run_dir), "--tokenizer", str(tmp_path / "t.json")], "tokenizer not found")
    fails([*base, "--data", str(run_dir), "--tokenizer", str(tokenizer_path), "--phase", "2"], "--init")
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("lr: 1.0e-2", "lr: -1"))
    fails(
        [
            "pretrain",
            "--data",
            str(run_dir),
            "--tokenizer",
            str(tokenizer_path),
            "--config",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
        "optim.lr",
    )
    fails(["generate", "--ckpt", str(tmp_path / "nothing"), "--prompt", "hi"], "checkpoint not found")
    fails(["export", "--ckpt", str(tmp_path), "--out", str(tmp_path / "x")], "no checkpoint in")


@pytest.mark.slow
def test_end_to_end_cli(tmp_path, small_yaml):
    """Run dir -> tokenizer -> phase 1 -> phase 2 -> generate -> export, through the CLI."""
    runner = CliRunner()
    run = make_run(tmp_path, docs=160, seed=5)
    tok = tmp_path / "tok" / "tokenizer.json"

    def ok(args: list[str]) -> str:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    assert "400 tokens" in ok(["tokenizer", "train", "--data", str(run), "--vocab-size", "400", "--out", str(tok)])
    assert "phase 1:" in ok(["tokenize", "--data", str(run), "--tokenizer", str(tok), "--phase", "1"])
    ok(
        [
            "pretrain",
            "--phase",
            "1",
            "--data",
            str(run),
            "--tokenizer",
            str(tok),
            "--config",
            str(small_yaml),
            "--out",
            str(tmp_path / "p1"),
            "--steps",
            "30",
        ]
    )
    losses = [r["loss"] for r in _train_lines(tmp_path / "p1")]
    assert len(losses) == 30 and sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5
    ok(
        [
            "pretrain",
            "--phase",
            "2",
            "--data",
            str(run),
            "--config",
            str(small_yaml),
            "--out",
            str(tmp_path / "p2"),
            "--init",
            str(tmp_path / "p1"),
            "--seq-len",
            "64",
            "--rope-scaling",
            "2",
        ]
    )
    assert ckpt_io.read_meta(tmp_path / "p2")["model_config"]["rope_scaling"] == 2.0
    for extra in ([], ["--no-stream", "--int8", "--top-k", "20", "--top-p", "0.9"], ["--chat"]):
        ok(["generate", "--ckpt", str(tmp_path / "p2"), "--prompt", "the river", "--max-new-tokens", "8", *extra])
    ok(["export", "--ckpt", str(tmp_path / "p2"), "--format", "hf", "--out", str(tmp_path / "hf")])
    exported = json.loads((tmp_path / "hf" / "tokenizer_config.json").read_text())
    assert "<|assistant|>" in exported["chat_template"] and (tmp_path / "hf" / "config.json").is_file()
    check_hf_export_generates_as_edumix(tmp_path / "hf", ok, tmp_path / "p2")


def check_hf_export_generates_as_edumix(hf_dir, ok, ckpt) -> None:
    """HF tools fed as training was (BOS first) give edumix's greedy tokens; the card names the mix."""
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(hf_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    prompt = "the river"
    enc = tok(prompt, return_tensors="pt")
    assert enc["input_ids"][0, 0].item() == tok.bos_token_id == model.generation_config.bos_token_id
    assert tok(prompt, add_special_tokens=False)["input_ids"] == enc["input_ids"][0, 1:].tolist()
    ours = ok(
        [
            "generate",
            "--ckpt",
            str(ckpt),
            "--prompt",
            prompt,
            "--max-new-tokens",
            "8",
            "--temperature",
            "0",
            "--no-stream",
        ]
    )
    hf_ids = model.generate(**enc, max_new_tokens=8, do_sample=False)[0, enc["input_ids"].shape[1] :]
    eos = model.generation_config.eos_token_id
    hf_text = prompt + tok.decode([t for t in hf_ids.tolist() if t != eos], skip_special_tokens=True)
    piped = transformers.pipeline("text-generation", model=model, tokenizer=tok)(
        prompt, max_new_tokens=8, do_sample=False
    )
    assert ours.strip() == hf_text.strip() == piped[0]["generated_text"].strip()
    card = (hf_dir / "README.md").read_text()
    assert "pipeline_tag: text-generation" in card and "recipe hash" in card
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in hf_dir.iterdir())


def test_cli_module_entry_point_runs():
    """`python -m edumix.trainer.cli` is what torchrun launches (-m edumix.trainer.cli pretrain ...)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "edumix.trainer.cli", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "pretrain" in proc.stdout


def test_trainer_commands_have_help():
    runner = CliRunner()
    for command in (["tokenizer", "train"], ["tokenize"], ["pretrain"], ["generate"], ["export"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_release_compile_workers_is_safe_any_time():
    """pretrain calls it when a compiled run ends; with no pool started (or twice) it does nothing."""
    from edumix.trainer.train import release_compile_workers

    release_compile_workers()
    release_compile_workers()
