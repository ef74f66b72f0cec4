"""Fast inference: int4 weights, batch generation with left padding, the compiled static-cache
decode step, and `edumix generate --int4 / --compile` on a tiny checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from trainer_runs import tiny_model
from typer.testing import CliRunner

from edumix.cli import app
from edumix.trainer.config import load_train_config
from edumix.trainer.generate import Decoder, generate, generate_batch
from edumix.trainer.model import Transformer
from edumix.trainer.quantize import (
    Int4Linear,
    Int8Linear,
    is_int4_artifact,
    linear_weight_bytes,
    load_int4,
    quantize_int4,
    quantize_int8,
    save_int4,
)
from edumix.trainer.train import pretrain

V = 96


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def tiny(**kw) -> Transformer:
    return tiny_model(V, **kw)  # trainer_runs.TINY_MODEL, seeded


def prompts(*lengths: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(1)
    return [torch.randint(0, V, (n,), generator=g).tolist() for n in lengths]


@pytest.mark.parametrize("group_size", [32, 64, 128])
@pytest.mark.parametrize("layout", [None, "dequant"])  # None = torch's int4 kernel on CPU
def test_int4_round_trip_error_is_within_half_a_step(group_size, layout):
    torch.manual_seed(0)
    lin = nn.Linear(256, 96, bias=True)
    q = Int4Linear(lin, group_size, layout)
    assert q.layout == (layout or "cpu")
    w = lin.weight.detach().view(96, -1, group_size)  # (N, K/g, g)
    step = (w.amax(-1) - w.amin(-1)) / 15  # (N, K/g)
    err = (q.dequantize().view_as(w) - w).abs().amax(-1)
    assert (err <= step / 2 + w.abs().amax(-1) / 128).all()  # half a step, plus bf16 scales/zeros
    x = torch.randn(3, 5, 256)
    ref = x @ q.dequantize().T + lin.bias
    torch.testing.assert_close(q(x), ref, atol=0.05, rtol=0.02)  # bf16 activations in the kernel


def test_int4_kernel_and_dequant_layouts_agree():
    model = tiny()
    a, b = quantize_int4(tiny(), 32), quantize_int4(tiny(), 32, layout="dequant")
    idx = torch.randint(0, V, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref, la, lb = model(idx)[0], a(idx)[0], b(idx)[0]
    torch.testing.assert_close(la, lb, atol=0.03, rtol=0.0)
    assert (la - ref).norm() < 0.25 * ref.norm()  # 4 bits on random N(0, 0.02) weights: ~10-15% off


def test_int4_weight_bytes_about_a_quarter_of_bf16_and_tied_head_stays_shared():
    bf16 = linear_weight_bytes(tiny(dim=128).to(torch.bfloat16))
    for g, expect in ((32, 5 / 16), (64, 4.5 / 16), (128, 4.25 / 16)):  # 4 bits + a bf16 scale and zero per group
        ratio = linear_weight_bytes(quantize_int4(tiny(dim=128).to(torch.bfloat16), g)) / bf16
        assert ratio == pytest.approx(expect, rel=0.01)
    tied = quantize_int4(tiny(tie_embeddings=True))
    assert isinstance(tied.lm_head, nn.Linear) and tied.lm_head.weight is tied.tok_emb.weight
    assert sum(isinstance(m, Int4Linear) for m in tied.modules()) == 2 * 4  # wqkv, wo, w_gate_up, w_down
    assert isinstance(quantize_int8(tiny()).lm_head, nn.Module)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_int8_matches_its_dequantized_weights_and_float(dtype):
    """The CPU kernel runs in bf16 activations (fast) and returns the input's dtype."""
    torch.manual_seed(0)
    lin = nn.Linear(256, 96, bias=True)
    q = Int8Linear(lin)
    deq = q.weight_int8.float() * q.scale[:, None]  # (N, K)
    assert (deq - lin.weight).abs().max() <= q.scale.max() / 2 + 1e-7  # half a step per channel
    x = torch.randn(3, 5, 256)
    y = q(x.to(dtype))
    assert y.dtype == dtype and y.shape == (3, 5, 96)
    torch.testing.assert_close(y.float(), x @ deq.T + lin.bias.detach(), atol=0.03, rtol=0.02)
    assert "scale_bf16" not in q.state_dict()  # derived, not saved


def test_int8_model_logits_close_to_float():
    model = tiny(dim=128)
    idx = torch.randint(0, V, (2, 32), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref, got = model(idx)[0], quantize_int8(tiny(dim=128))(idx)[0]  # (2, 32, V)
    assert (got - ref).norm() < 0.03 * ref.norm()
    assert (got.argmax(-1) == ref.argmax(-1)).float().mean() > 0.9  # random weights: near-ties are common


def test_int4_rejects_a_group_that_does_not_divide():
    with pytest.raises(ValueError, match="group_size"):
        Int4Linear(nn.Linear(48, 32), 32)


@pytest.mark.parametrize("tie", [False, True])
def test_batch_equals_each_prompt_alone(tie):
    model = tiny(tie_embeddings=tie)
    ps = prompts(5, 1, 12, 7)
    alone = [generate(model, torch.tensor([p]), 20, temperature=0)[0].tolist() for p in ps]
    assert generate_batch(model, ps, 20, temperature=0) == alone


def test_batch_stops_each_row_at_its_own_eos():
    model = tiny()
    ps = prompts(5, 1, 12)
    free = generate_batch(model, ps, 20, temperature=0)
    eos = free[0][5 + 3]  # row 0's 4th new token
    alone = [generate(model, torch.tensor([p]), 20, temperature=0, eos_id=eos)[0].tolist() for p in ps]
    got = generate_batch(model, ps, 20, temperature=0, eos_id=eos)
    assert got == alone and len(got[0]) == 5 + 4


def test_batch_sampling_is_seeded_and_a_decoder_reuses_its_cache():
    model = tiny()
    dec = Decoder(model)
    ps = prompts(3, 9)
    run = [dec.generate(ps, 10, top_k=20, generator=torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert run[0] == run[1] != run[2]
    kv = dec.kv
    dec.generate(prompts(4, 2), 10, temperature=0)
    assert dec.kv is kv  # same batch and length bucket: the static cache is reused
    with pytest.raises(ValueError, match="max_seq_len"):
        dec.generate(ps, 200)


@pytest.mark.slow  # torch.compile on CPU: ~30-60 s
def test_compiled_decode_equals_eager():
    model = tiny()
    ps = prompts(5, 1, 12)
    eager = generate_batch(model, ps, 16, temperature=0)
    dec = Decoder(model, compile=True)
    assert dec.generate(ps, 16, temperature=0) == eager
    assert dec.generate(ps[:1] * 3, 16, temperature=0) == [eager[0]] * 3  # new prompts, same shapes


TINY_YAML = """\
model: {dim: 64, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 128, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 2, grad_accum: 1}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 1}
steps: 2
eval_every: 2
eval_batches: 1
ckpt_every: 2
log_every: 1
"""


@pytest.fixture(scope="module")
def tiny_ckpt(run_dir, tokenizer_path, tmp_path_factory):
    """A 2-step checkpoint of a tiny model on the shared trainer run directory (the tests only
    read it: trained once for the module)."""
    tmp = tmp_path_factory.mktemp("tiny_ckpt")
    yaml = tmp / "t.yaml"
    yaml.write_text(TINY_YAML)
    pretrain(load_train_config(yaml), run_dir, tmp / "ck", tokenizer_path, progress=False, log=lambda m: None)
    return tmp / "ck"


def test_cli_generate_int4(tiny_ckpt):
    runner = CliRunner()
    base = ["generate", "--ckpt", str(tiny_ckpt), "--prompt", "the river", "--max-new-tokens", "6"]
    outs = {}
    for extra in (["--temperature", "0"], ["--int4", "--group-size", "32", "--temperature", "0"], ["--int4"]):
        result = runner.invoke(app, [*base, "--no-stream", *extra])
        assert result.exit_code == 0, result.output + repr(result.exception)
        outs[" ".join(extra)] = result.output
    assert all(o.startswith("the river") for o in outs.values())
    bad = runner.invoke(app, [*base, "--int8", "--int4"])
    assert bad.exit_code == 2 and "--int8" in bad.output and "--int4" in bad.output
    bad = runner.invoke(app, [*base, "--int4", "--group-size", "48"])
    assert bad.exit_code == 2 and "group" in bad.output


@pytest.mark.slow  # compiles the decode step
def test_cli_generate_compile_equals_no_compile(tiny_ckpt):
    runner = CliRunner()
    base = ["generate", "--ckpt", str(tiny_ckpt), "--prompt", "the river", "--max-new-tokens", "6"]
    outs = [runner.invoke(app, [*base, "--temperature", "0", flag]) for flag in ("--no-compile", "--compile")]
    assert all(r.exit_code == 0 for r in outs), [r.output for r in outs]
    assert outs[0].output == outs[1].output


# --------------------------------------------------------------------------- blocksparse in the Decoder

SPARSE = dict(block_size=4, local_blocks=2, vert_stride=3, every=2)  # layer 0 sparse, layer 1 dense


def no_cache(model: Transformer, ps: list[list[int]], n: int) -> list[list[int]]:
    """The reference: each prompt alone, the whole sequence re-run every step (no cache)."""
    return [generate(model, torch.tensor([p]), n, temperature=0, use_cache=False)[0].tolist() for p in ps]


def test_blocksparse_batch_equals_the_no_cache_forward():
    model = tiny(blocksparse=SPARSE, n_layers=3)  # sparse, dense, sparse
    ps = prompts(13, 1, 6, 22)  # pads 9, 21, 16, 0: block boundaries fall mid-slot for most rows
    ref = no_cache(model, ps, 30)  # up to position 51: 13 blocks, several past the local window
    assert generate_batch(model, ps, 30, temperature=0) == ref
    dense = tiny(n_layers=3)  # same weights (same seed), no block rule: the rule must matter
    assert no_cache(dense, ps, 30) != ref


def test_blocksparse_every_layer_sparse_and_eos():
    model = tiny(blocksparse=SPARSE | {"every": 0})
    ps = prompts(9, 3)
    ref = no_cache(model, ps, 20)
    eos = ref[0][9 + 5]
    got = generate_batch(model, ps, 20, temperature=0, eos_id=eos)
    assert got == [r[: r.index(eos, len(p)) + 1] if eos in r[len(p) :] else r for p, r in zip(ps, ref)]


@pytest.mark.slow  # torch.compile on CPU
def test_blocksparse_compiled_decoder_equals_the_no_cache_forward():
    model = tiny(blocksparse=SPARSE, n_layers=3)
    ps = prompts(13, 1, 6, 22)
    assert Decoder(model, compile=True).generate(ps, 30, temperature=0) == no_cache(model, ps, 30)


# --------------------------------------------------------------------------- int4 artifacts


@pytest.mark.parametrize("tie", [False, True])
def test_int4_artifact_round_trip_equals_quantize_at_load(tmp_path, tie):
    model = tiny(tie_embeddings=tie)
    save_int4(model, tmp_path / "a", 32)
    loaded, cfg = load_int4(tmp_path / "a")
    assert cfg["group_size"] == 32 and is_int4_artifact(tmp_path / "a")
    at_load = quantize_int4(tiny(tie_embeddings=tie), 32)
    for (name, a), (_, b) in zip(loaded.state_dict().items(), at_load.state_dict().items()):
        assert torch.equal(a, b), name  # the same packed buffers for this device's kernel
    assert not tie or loaded.lm_head.weight is loaded.tok_emb.weight
    ps = prompts(5, 11)
    assert generate_batch(loaded, ps, 12, temperature=0) == generate_batch(at_load, ps, 12, temperature=0)
    weights = tmp_path / "a" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="corrupt"):
        load_int4(tmp_path / "a")
