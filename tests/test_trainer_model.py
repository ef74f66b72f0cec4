"""The trainer's model: document-masked attention, GQA, RoPE per document, KV-cache decoding,
the HF Llama export and int8 weights. Tiny dims, CPU, a few seconds in all."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import background
import pytest
import torch
import torch.nn.functional as F
from trainer_runs import tiny_config

from edumix.trainer.attention import DenseMask, DocsMask, FlexMask, KVCache, bucket_length, build_mask
from edumix.trainer.generate import generate
from edumix.trainer.model import ModelConfig, Transformer
from edumix.trainer.quantize import Int8Linear, linear_weight_bytes, quantize_int8

REPO = Path(__file__).resolve().parents[1]

V = 101


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def tiny(**kw) -> ModelConfig:
    return tiny_config(V, **kw)  # trainer_runs.TINY_MODEL


def packed(*lengths: int) -> torch.Tensor:
    return torch.cat([torch.arange(n) for n in lengths])  # (sum(lengths),)


# two rows of T=48: ragged documents (a 1-token one; row 1 starts inside a document whose
# beginning was in an earlier row, at position 7)
POSITIONS = torch.stack([packed(10, 1, 17, 20), torch.cat([torch.arange(7, 12), packed(33, 10)])])  # (2, 48)


def model_pair(cfg: ModelConfig, impl: str, dtype=torch.float64) -> tuple[Transformer, Transformer]:
    torch.manual_seed(0)
    a = Transformer(cfg).to(dtype)
    b = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"attn_impl": impl})).to(dtype)
    b.load_state_dict(a.state_dict())
    return a, b


def test_docs_attention_equals_dense_outputs_and_grads():
    torch.manual_seed(0)
    B, T, H, KV, hd = 2, 48, 4, 2, 8
    q, k, v = (torch.randn(B, T, h, hd, dtype=torch.float64, requires_grad=True) for h in (H, KV, KV))
    grad = torch.randn(B, T, H, hd, dtype=torch.float64)
    results = []
    for mask in (DocsMask.from_positions(POSITIONS), DenseMask.from_positions(POSITIONS)):
        out = mask.attend(q, k, v)  # (B, T, H, hd)
        dq, dk, dv = torch.autograd.grad(out, (q, k, v), grad)
        results.append((out, dq, dk, dv))
    for ours, ref in zip(*results, strict=True):
        torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_docs_layout_regroups_every_token_once_and_costs_sum_of_squares():
    mask = DocsMask.from_positions(POSITIONS)
    assert sum(n for n, _ in mask.groups) == 7  # 4 + 3 documents
    assert sorted(mask.gather[mask.inverse].tolist()) == list(range(96))  # every token regrouped once
    lengths = (100, 300, 24, 600)
    mask = DocsMask.from_positions(packed(*lengths)[None])  # (1, 1024)
    padded_cost = sum(n * L * L for n, L in mask.groups)
    assert padded_cost <= 1.25 * sum(n * n for n in lengths)  # what padding to the buckets adds
    assert padded_cost < 0.55 * 1024**2  # the dense mask pays T^2
    assert [bucket_length(n) for n in (1, 16, 17, 100, 1024, 1025)] == [16, 16, 32, 112, 1024, 1280]


def test_no_token_attends_across_documents():
    torch.manual_seed(0)
    model = Transformer(tiny(attn_impl="docs")).double()
    pos = packed(12, 20, 16)[None]  # (1, 48): documents [0, 12), [12, 32), [32, 48)
    idx = torch.randint(0, V, (1, 48))
    base = model(idx, pos)[0]
    poked = idx.clone()
    poked[0, 12:32] = (poked[0, 12:32] + 1) % V  # change document 2 only
    out = model(poked, pos)[0]
    torch.testing.assert_close(out[0, :12], base[0, :12])  # document 1: before it (causality)
    torch.testing.assert_close(out[0, 32:], base[0, 32:])  # document 3: after it, masked out
    assert (out[0, 12:32] - base[0, 12:32]).abs().max() > 1e-3  # document 2 itself did change


def test_gqa_equals_mha_with_repeated_kv_heads():
    torch.manual_seed(0)
    gqa = Transformer(tiny(n_heads=4, n_kv_heads=2)).double()
    mha = Transformer(tiny(n_heads=4, n_kv_heads=4)).double()
    sd = gqa.state_dict()
    hd, H, KV = 16, 4, 2
    for i in range(2):
        w = sd[f"layers.{i}.attn.wqkv.weight"]  # ((H + 2KV) * hd, C)
        q, k, v = w.split([H * hd, KV * hd, KV * hd])

        def rep(t):
            return t.view(KV, hd, -1).repeat_interleave(H // KV, dim=0).reshape(H * hd, -1)

        sd[f"layers.{i}.attn.wqkv.weight"] = torch.cat([q, rep(k), rep(v)])
    mha.load_state_dict(sd)
    idx = torch.randint(0, V, (2, 48))
    torch.testing.assert_close(gqa(idx, POSITIONS)[0], mha(idx, POSITIONS)[0])


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_model_docs_dense_and_flex_logits_agree():
    cfg = tiny()
    docs, dense = model_pair(ModelConfig.from_dict(cfg.to_dict() | {"attn_impl": "docs"}), "dense")
    idx = torch.randint(0, V, (2, 48))
    torch.testing.assert_close(docs(idx, POSITIONS)[0], dense(idx, POSITIONS)[0], rtol=1e-10, atol=1e-10)
    _, flex = model_pair(cfg, "flex", dtype=torch.float32)  # FlexAttention: forward-only on CPU
    with torch.no_grad():
        torch.testing.assert_close(flex(idx, POSITIONS)[0].double(), dense(idx, POSITIONS)[0], rtol=1e-4, atol=1e-4)
    assert isinstance(build_mask(POSITIONS, "flex", 48, torch.device("cpu")), FlexMask)
    assert isinstance(build_mask(POSITIONS, "auto", 48, torch.device("cpu")), DocsMask)  # auto on CPU


def test_loss_ignores_minus_100():
    torch.manual_seed(0)
    model = Transformer(tiny())
    idx = torch.randint(0, V, (3, 48))
    targets = torch.randint(0, V, (3, 48))
    targets[0, :20] = -100
    targets[1, 40:] = -100
    targets[2] = -100  # a row with nothing to learn
    pos = torch.cat([POSITIONS, POSITIONS[:1]])  # (3, 48)
    logits, loss = model(idx, pos, targets)
    keep = targets != -100
    torch.testing.assert_close(loss, F.cross_entropy(logits[keep], targets[keep]))  # mean over kept tokens
    _, two_rows = model(idx[:2], pos[:2], targets[:2])
    torch.testing.assert_close(loss, two_rows)  # the all-ignored row changes nothing
    loss.backward()
    assert model.tok_emb.weight.grad is not None and model.tok_emb.weight.grad.abs().sum() > 0


def test_rope_restarts_per_document():
    torch.manual_seed(0)
    model = Transformer(tiny()).double()
    first, second = torch.randint(0, V, (1, 15)), torch.randint(0, V, (1, 25))
    together = model(torch.cat([first, second], dim=1), packed(15, 25)[None])[0]  # (1, 40, V)
    alone = model(second)[0]  # (1, 25, V): at row start, positions None
    torch.testing.assert_close(together[:, 15:], alone)


def test_generate_with_cache_equals_without():
    torch.manual_seed(0)
    model = Transformer(tiny())
    prompt = torch.randint(0, V, (3, 7))
    seen = []
    cached = generate(model, prompt, 40, temperature=0, on_token=seen.append)
    reference = generate(model, prompt, 40, temperature=0, use_cache=False)
    assert cached.shape == (3, 47) and torch.equal(cached[:, :7], prompt)
    assert torch.equal(cached, reference)
    assert len(seen) == 40 and torch.equal(torch.stack(seen, dim=1), cached[:, 7:])
    with torch.no_grad():  # a prompt fed to the cache in two chunks (the shifted causal mask)
        cache = model.new_cache(3, 47)
        model(cached[:, :20], cache=cache)
        chunked = model(cached[:, 20:46], cache=cache)[0]  # (3, 26, V)
        torch.testing.assert_close(chunked, model(cached[:, :46])[0][:, 20:], rtol=1e-4, atol=1e-5)


def test_generate_sampling_and_eos():
    torch.manual_seed(0)
    model = Transformer(tiny())
    prompt = torch.randint(0, V, (2, 5))

    def draw(seed, **kw):
        return generate(model, prompt, 12, generator=torch.Generator().manual_seed(seed), **kw)

    assert torch.equal(draw(1, temperature=0.9, top_k=10, top_p=0.8), draw(1, temperature=0.9, top_k=10, top_p=0.8))
    top1 = draw(2, temperature=1.0, top_k=1)  # top_k=1 is greedy whatever the temperature
    assert torch.equal(top1, generate(model, prompt, 12, temperature=0))
    eos = int(top1[0, 5])  # row 0's first greedy token: it stops at once, row 1 runs on
    out = generate(model, prompt, 12, temperature=0, eos_id=eos)
    assert (out[0, 5:] == eos).all() and out.shape[1] <= 17
    with pytest.raises(ValueError):
        generate(model, prompt, 200)  # beyond max_seq_len


@pytest.mark.parametrize(("tie", "scaling"), [(False, 1.0), (True, 4.0)])
def test_hf_export_logits_match(tmp_path, tie, scaling):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    model = Transformer(tiny(tie_embeddings=tie, rope_scaling=scaling)).eval()
    out = transformers.utils.logging.disable_progress_bar() or tmp_path / "hf"
    from edumix.trainer.export_hf import export_hf

    export_hf(model, out, special_tokens={"bos": 1, "eos": 2})
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["num_key_value_heads"] == 2 and cfg["rope_theta"] == 500_000.0 and cfg["eos_token_id"] == 2
    assert cfg["rope_scaling"] == (None if scaling == 1.0 else {"rope_type": "linear", "factor": scaling})
    hf = transformers.LlamaForCausalLM.from_pretrained(out, attn_implementation="sdpa").eval()
    idx = torch.randint(0, V, (2, 100))
    with torch.no_grad():
        diff = (model(idx)[0] - hf(idx).logits).abs().max().item()
        # without a cache, HF turns packed position_ids into the same block-diagonal mask as ours
        hf_packed = hf(idx[:, :48], position_ids=POSITIONS, use_cache=False).logits
        diff_packed = (model(idx[:, :48], POSITIONS)[0] - hf_packed).abs().max().item()
    print(f"HF export max |logit diff| (tie={tie}, rope_scaling={scaling}): {diff:.2e}, packed {diff_packed:.2e}")
    assert diff < 1e-4 and diff_packed < 1e-4


def test_int8_weights_close_and_four_times_smaller():
    torch.manual_seed(0)
    model = Transformer(tiny(dim=128, n_heads=8, n_kv_heads=2)).eval()
    q = quantize_int8(copy.deepcopy(model))
    assert sum(isinstance(m, Int8Linear) for m in q.modules()) == 2 * 4 + 1  # wqkv, wo, w_gate_up, w_down; head
    ratio = linear_weight_bytes(model) / linear_weight_bytes(q)
    assert 3.8 < ratio <= 4.0  # int8 + one float scale per output channel
    idx = torch.randint(0, V, (2, 48))
    with torch.no_grad():
        ref, got = model(idx, POSITIONS)[0], q(idx, POSITIONS)[0]
    # tolerance: per-channel absmax int8 errs by <= scale/2 per weight; on these N(0, 0.02)
    # weights that is ~1% of the logits' range and keeps the greedy choice almost everywhere
    assert (got - ref).abs().max() <= 0.02 * ref.abs().max()
    assert F.cosine_similarity(got.flatten(), ref.flatten(), dim=0) > 0.999
    assert (got.argmax(-1) == ref.argmax(-1)).float().mean() > 0.9
    tied = quantize_int8(Transformer(tiny(tie_embeddings=True)))
    assert not isinstance(tied.lm_head, Int8Linear)  # a tied head stays shared and float
    assert generate(q, idx[:, :4], 5, temperature=0).shape == (2, 9)


def test_kv_cache_bytes_scale_with_kv_heads():
    gqa = Transformer(tiny(n_heads=8, n_kv_heads=2)).new_cache(2, 64)
    mha = Transformer(tiny(n_heads=8, n_kv_heads=8)).new_cache(2, 64)
    assert gqa.k[0].shape == (2, 2, 64, 8)  # (B, n_kv_heads, max_len, head_dim)
    assert mha.nbytes / gqa.nbytes == 8 / 2
    assert KVCache(2, 1, 2, 16, 8).nbytes == 2 * 2 * 2 * 16 * 8 * 4


def test_config_round_trip_and_counts():
    cfg = tiny(ffn_hidden=None)
    assert cfg.hidden == 256  # 8/3 * 64 rounded up to a multiple of 256
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError):
        ModelConfig.from_dict(cfg.to_dict() | {"typo": 1})
    model = Transformer(cfg)
    per_layer = 64 * (4 + 2 * 2) * 16 + 64 * 64 + 3 * 64 * 256 + 2 * 64
    assert model.num_params() == 2 * per_layer + 64
    assert model.num_params(non_embedding=False) == model.num_params() + 2 * V * 64
    assert model.flops_per_token(128) == 6 * (model.num_params() + V * 64) + 12 * 2 * 4 * 16 * 128


def _benchmark_job(workdir: Path) -> background.Job:
    cmd = [sys.executable, str(REPO / "benchmarks" / "trainer.py"), "--quick", "--threads", "1"]
    return background.Job(
        "trainer-benchmark-quick", [*cmd, "--json", str(workdir / "rows.json")], workdir / "out.txt", cwd=REPO
    )


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the benchmark script starts when collection ends (it needs nothing from the
    tests before it), on the core the suite leaves idle."""
    wanted = any(item.originalname == "test_benchmark_quick_smoke" for item in items)
    return [_benchmark_job(workdir)] if wanted and importlib.util.find_spec("transformers") else []


def test_benchmark_quick_smoke(tmp_path):
    """benchmarks/trainer.py --quick runs as a script (tests never import benchmarks/)."""
    pytest.importorskip("transformers")
    job = background.take("trainer-benchmark-quick") or _benchmark_job(tmp_path)
    returncode, table, stderr = job.wait(timeout=600)
    assert returncode == 0, stderr[-4000:]
    rows = json.loads(Path(job.argv[-1]).read_text())
    keys = {r["key"] for r in rows}
    assert {"train", "attention", "decode", "kv_cache"} <= keys
    assert all(r["ours"] > 0 and r["baseline"] > 0 for r in rows if r["key"] in ("train", "attention", "decode"))
    assert "ratio" in table and "decode emitted the same" in table
