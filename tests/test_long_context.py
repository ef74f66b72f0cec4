"""The long-context phase: chunked head + cross-entropy, activation checkpointing, the
sequence-length curriculum, --phase long from a checkpoint, and MFU counted two ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from edumix.cli import app
from edumix.trainer import checkpoint as ckpt_io
from edumix.trainer.config import TrainConfigError, load_train_config
from edumix.trainer.loss import chunked_linear_cross_entropy
from edumix.trainer.model import ModelConfig, Transformer
from edumix.trainer.train import pretrain

V = 96
quiet = dict(progress=False, log=lambda m: None)


def _model(**kw) -> Transformer:
    torch.manual_seed(0)
    cfg = dict(vocab_size=V, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=256) | kw
    return Transformer(ModelConfig(**cfg)).double()  # float64: differences are the method's, not rounding


def _batch(B: int = 2, T: int = 48):
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    targets[0, :5] = -100  # ignored targets (document ends, padding)
    targets[1, -3:] = -100
    positions = torch.cat([torch.arange(20), torch.arange(T - 20)]).repeat(B, 1)  # two documents per row
    return idx, positions, targets


def _loss_and_grads(model: Transformer, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    _, loss = model(*batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("tie", [False, True])
def test_chunked_ce_matches_the_plain_loss_and_gradients(tie):
    model, batch = _model(tie_embeddings=tie), _batch()
    ref_loss, ref_grads = _loss_and_grads(model, batch)
    for chunk in (7, 32, 96, 1000):  # uneven, even, exactly B*T, larger than B*T
        model.loss_chunk = chunk
        loss, grads = _loss_and_grads(model, batch)
        assert torch.allclose(loss, ref_loss, rtol=1e-12, atol=1e-12)
        for n in ref_grads:
            assert torch.allclose(grads[n], ref_grads[n], rtol=1e-9, atol=1e-12), n
    with torch.no_grad():  # eval: the same loss, no gradient work
        assert torch.allclose(model(*batch)[1], ref_loss, rtol=1e-12)
    assert model(*batch)[0] is None  # the logits are never built


def test_chunked_ce_function_against_cross_entropy_float32():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(37, 16, generator=g, requires_grad=True)
    w = torch.randn(50, 16, generator=g, requires_grad=True)
    t = torch.randint(0, 50, (37,), generator=g)
    t[::5] = -100
    ref = F.cross_entropy(h @ w.t(), t, ignore_index=-100)
    gh, gw = torch.autograd.grad(ref * 3.0, (h, w))  # a scaled loss, as grad accumulation uses
    out = chunked_linear_cross_entropy(h, w, t, 8)
    ch, cw = torch.autograd.grad(out * 3.0, (h, w))
    assert (
        torch.allclose(out, ref, rtol=1e-5) and torch.allclose(ch, gh, atol=1e-5) and torch.allclose(cw, gw, atol=1e-5)
    )
    with pytest.raises(ValueError, match="chunk"):
        chunked_linear_cross_entropy(h, w, t, 0)


def test_activation_checkpointing_gives_the_same_gradients():
    model, batch = _model(), _batch()
    ref_loss, ref_grads = _loss_and_grads(model, batch)
    model.activation_checkpointing, model.loss_chunk = True, 16
    loss, grads = _loss_and_grads(model, batch)
    assert torch.allclose(loss, ref_loss, rtol=1e-12)
    assert all(torch.allclose(grads[n], ref_grads[n], rtol=1e-9, atol=1e-12) for n in ref_grads)


BASE = """\
model: {dim: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 128, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 4, grad_accum: 2}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2}
steps: 4
eval_every: 0
eval_batches: 1
ckpt_every: 2
log_every: 1
phases:
  long:
    steps: 5
    model: {max_seq_len: 256, rope_base: 160000.0}
    data: {seq_len: 256, batch_size: 2}
    long:
      curriculum: [{until_step: 2, seq_len: 64, batch_size: 4}, {until_step: 3, seq_len: 128}]
    activation_checkpointing: true
    loss_chunk: 48
"""


@pytest.fixture(scope="module")
def long_yaml(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.yaml"
    path.write_text(BASE)
    return path


@pytest.fixture(scope="module")
def p1(run_dir, tokenizer_path, long_yaml) -> Path:
    """A short phase-1 run the long phase continues."""
    out = long_yaml.parent / "p1"
    pretrain(load_train_config(long_yaml, 1), run_dir, out, tokenizer_path, **quiet)
    return out


def test_curriculum_config(long_yaml, tmp_path):
    cfg = load_train_config(long_yaml, "long")
    assert [cfg.stage_at(s) for s in range(5)] == [(64, 4), (64, 4), (128, 2), (256, 2), (256, 2)]
    assert cfg.long.data_phase == 1 and cfg.activation_checkpointing and cfg.loss_chunk == 48
    plain = load_train_config(long_yaml, 1)  # the new keys stay out of phase 1's dump and hash
    assert {"long", "activation_checkpointing", "loss_chunk"}.isdisjoint(plain.model_dump())
    assert [plain.stage_at(s) for s in (0, 9)] == [(32, 4), (32, 4)]
    bad = {
        "until_step values must increase": "[{until_step: 3, seq_len: 64}, {until_step: 3, seq_len: 128}]",
        r"long.curriculum\[0\].seq_len \(512\) exceeds model.max_seq_len": "[{until_step: 2, seq_len: 512}]",
        "batch_size .* divisible by data.grad_accum": "[{until_step: 2, seq_len: 64, batch_size: 3}]",
    }
    for message, stages in bad.items():
        path = tmp_path / "bad.yaml"
        path.write_text(BASE.replace(BASE.split("curriculum: ")[1].splitlines()[0], stages))
        with pytest.raises(TrainConfigError, match=message):
            load_train_config(path, "long")


def _train_lines(out: Path) -> list[dict]:
    return [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["type"] == "train"]


def test_long_phase_from_a_checkpoint_with_curriculum_and_exact_resume(
    run_dir, tokenizer_path, long_yaml, p1, tmp_path
):
    cfg = load_train_config(long_yaml, "long")
    whole = pretrain(cfg, run_dir, tmp_path / "a", tokenizer_path, phase="long", init=p1, peak_tflops=1.0, **quiet)
    lines = _train_lines(tmp_path / "a")
    assert [r["seq_len"] for r in lines] == [64, 64, 128, 256, 256]
    assert [r["tokens"] for r in lines] == [256, 512, 768, 1280, 1792]  # 4x64, 4x64, 2x128, 2x256, 2x256
    for r in lines:  # document masking: far fewer pairs than PaLM's T x T, so a lower MFU
        assert 0 < r["attn_pairs_frac"] < 0.5 and 0 < r["mfu_attn_actual"] < r["mfu"]
    meta = ckpt_io.read_meta(tmp_path / "a")
    assert meta["phase"] == "long" and meta["lineage"]["data_phase"] == 1
    assert meta["model_config"]["rope_base"] == 160000.0 and meta["model_config"]["max_seq_len"] == 256
    assert meta["lineage"]["init_from"]["step"] == 4
    # stopped inside the curriculum (after step 2, before T goes 64 -> 128), resumed: the same losses
    first = pretrain(cfg, run_dir, tmp_path / "b", tokenizer_path, phase="long", init=p1, stop_after=2, **quiet)
    rest = pretrain(cfg, run_dir, tmp_path / "b", tokenizer_path, phase="long", init=p1, resume=True, **quiet)
    assert first.losses + rest.losses == whole.losses


def test_pretrain_cli_phase_long(run_dir, long_yaml, p1, tmp_path, monkeypatch):
    monkeypatch.setenv("EDUMIX_PROGRESS", "0")
    runner = CliRunner()
    args = ["pretrain", "--data", str(run_dir), "--config", str(long_yaml), "--out", str(tmp_path / "long")]
    missing = runner.invoke(app, [*args, "--phase", "long"])
    assert missing.exit_code != 0 and "--init" in missing.output
    bad = runner.invoke(app, [*args, "--phase", "longer", "--init", str(p1)])
    assert bad.exit_code != 0 and "positive integer or 'long'" in bad.output
    ok = runner.invoke(app, [*args, "--phase", "long", "--init", str(p1), "--steps", "3", "--rope-base", "320000"])
    assert ok.exit_code == 0, ok.output
    meta = ckpt_io.read_meta(tmp_path / "long")
    assert meta["phase"] == "long" and meta["step"] == 3 and meta["model_config"]["rope_base"] == 320000.0
    assert "curriculum: <2: T=64 x 4, <3: T=128 x 2, then T=256 x 2 rows" in ok.output
    assert "MFU n/a (give --peak-tflops) (" in ok.output and "of T^2 attended)" in ok.output


def test_long_context_benchmark_attention_table_runs(tmp_path):
    """benchmarks/long_context.py's attention table on a toy length (a script: tests never
    import benchmarks/). No timing threshold: the fractions are exact, the seconds are not."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "attn.json"
    cmd = [
        sys.executable, str(repo / "benchmarks" / "long_context.py"), "--what", "attention", "--attn-lengths", "512",
        "--attn-doc-len", "128", "--threads", "1", "--in-process", "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = {r["kind"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"causal", "docs", "blocksparse"} and all(r["seconds"] > 0 for r in rows.values())
    assert rows["causal"]["pairs_frac"] == 1.0 and rows["causal"]["active_frac"] is None
    assert rows["docs"]["pairs_frac"] == pytest.approx(4 * 128 * 129 / (512 * 513))  # four 128-token documents
    # 8 blocks of 64: 36 causal block pairs, 1+2+3+4*5 = 26 in the local window (i - j < 4); stride 8 adds none
    assert rows["blocksparse"]["active_frac"] == pytest.approx(26 / 36)
    assert "time / active" in proc.stdout
