"""Speed of the trainer's model on CPU, every baseline measured in the same run.

    .venv/bin/python benchmarks/trainer.py             # full run, 1 thread (~1 min)
    .venv/bin/python benchmarks/trainer.py --threads 2 # noisy on a shared machine
    .venv/bin/python benchmarks/trainer.py --quick     # seconds-long smoke run, tiny sizes, one process
    .venv/bin/python benchmarks/trainer.py --json rows.json  # also write the rows (key, metric, ours, ...)

One table; ratio > 1 means ours is better (faster, smaller). Models: "cpu" = the model of
trainer/configs/tiny.yaml (vocab 2048, dim 128, 4 layers, 4 heads / 2 KV heads, rope_base
1e4), "base" = vocab 8192, dim 256, 4 layers, 8 heads / 2 KV heads. Random init, float32.

1. **train**: tokens/s of one fwd+bwd+AdamW step (torch.optim.AdamW defaults, lr 3e-4) of
   `trainer.model.Transformer` vs transformers' `LlamaForCausalLM` loaded from our export with
   attn_implementation="sdpa". Same config, same batch of rows of packed documents (seeded
   lengths 32-400 tokens). HF gets the SAME document masking: our per-document positions go
   in as `position_ids` with use_cache=False, and its packed-sequence detection turns them into
   a dense (B, 1, T, T) block-diagonal causal mask (with a cache it silently falls back to
   causal attention across documents). Both losses are F.cross_entropy over (B*T, V) float32
   logits. Rows: the cpu model at 8 x 256 (tiny.yaml's batch), the base model at 4 x 1024,
   and the base model with one document per row (both plain causal SDPA, no mask): what is
   left without document masking.
2. **attention**: one attention layer, forward + backward, T=8192 holding 8 documents of 1024
   tokens, q (1, T, 8, 32), k/v (1, T, 2, 32) float32: `DocsMask` (per-document SDPA) vs
   `DenseMask` (SDPA with the full (T, T) block-diagonal causal boolean mask), masks built
   before timing. Each runs in its own child process; **attention_memory** is that child's
   peak resident set (VmHWM, reset through /proc/self/clear_refs after one warm-up call)
   minus its resident set at that moment: the transient memory of the timed calls.
3. **decode**: greedy tokens/s, batch 1, 32-token prompt, 128 new tokens, cpu model:
   `trainer.generate` (static KV cache) vs HF `generate(do_sample=False, use_cache=True)` (its
   default DynamicCache) on the exported weights; both must emit the same tokens (printed).
4. **kv_cache**: bytes of our static cache for the cpu model at 1024 tokens (GQA) vs the same
   model with n_kv_heads = n_heads (MHA).

Times: best of --repeat rounds (time.perf_counter), ours and the baseline interleaved in each
round so that load from other processes hits both alike; torch.set_num_threads(--threads).
Nothing here is a pass/fail threshold: the goal column is the issue's target.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/trainer.py`
    sys.path.insert(0, str(REPO))

import torch
import torch.nn.functional as F

from benchmarks.common import best_of_interleaved
from edumix.trainer.attention import DenseMask, DocsMask
from edumix.trainer.export_hf import export_hf
from edumix.trainer.generate import generate
from edumix.trainer.model import ModelConfig, Transformer

CPU_MODEL = dict(vocab_size=2048, dim=128, n_layers=4, n_heads=4, n_kv_heads=2, rope_base=10_000.0)
BASE_MODEL = dict(vocab_size=8192, dim=256, n_layers=4, n_heads=8, n_kv_heads=2)
FULL = dict(
    train=[
        ("train", "cpu", CPU_MODEL, 8, 256, True),
        ("train_base", "base", BASE_MODEL, 4, 1024, True),
        ("train_base_causal", "base", BASE_MODEL, 4, 1024, False),
    ],
    attn=dict(seq=8192, docs=8, heads=8, kv_heads=2, head_dim=32),
    decode=dict(model=CPU_MODEL, prompt=32, new_tokens=128),
    cache_len=1024,
    repeat=3,
)
TINY = dict(vocab_size=512, dim=64, n_layers=2, n_heads=4, n_kv_heads=2)
QUICK = dict(
    train=[("train", "tiny", TINY, 2, 128, True)],
    attn=dict(seq=512, docs=4, heads=4, kv_heads=2, head_dim=16),
    decode=dict(model=TINY, prompt=8, new_tokens=8),
    cache_len=128,
    repeat=1,
)


def packed_positions(batch: int, seq: int, gen: torch.Generator) -> torch.Tensor:
    rows = []
    for _ in range(batch):
        row: list[int] = []
        while len(row) < seq:
            row += range(int(torch.randint(32, 401, (1,), generator=gen)))
        rows.append(row[:seq])
    return torch.tensor(rows)  # (B, T)


def model_pair(dims: dict, max_seq_len: int, tmp: str):
    """Our model and HF's LlamaForCausalLM with the same (exported) weights."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    model = Transformer(ModelConfig(**dims, max_seq_len=max_seq_len))
    export_hf(model, tmp)
    return model, LlamaForCausalLM.from_pretrained(tmp, attn_implementation="sdpa")


def bench_train(dims: dict, B: int, T: int, packed: bool, repeat: int) -> tuple[float, float]:
    gen = torch.Generator().manual_seed(0)
    V = dims["vocab_size"]
    idx = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    pos = packed_positions(B, T, gen) if packed else None
    with tempfile.TemporaryDirectory() as tmp:
        model, hf = model_pair(dims, T, tmp)
    model.train(), hf.train()
    opt_ours, opt_hf = torch.optim.AdamW(model.parameters(), lr=3e-4), torch.optim.AdamW(hf.parameters(), lr=3e-4)

    def ours() -> None:
        _, loss = model(idx, pos, targets)
        loss.backward()
        opt_ours.step()
        opt_ours.zero_grad(set_to_none=True)

    def theirs() -> None:
        logits = hf(input_ids=idx, position_ids=pos, use_cache=False).logits.float()  # (B, T, V)
        F.cross_entropy(logits.view(B * T, V), targets.view(B * T)).backward()
        opt_hf.step()
        opt_hf.zero_grad(set_to_none=True)

    t_ours, t_hf = best_of_interleaved(repeat, ours, theirs)
    return B * T / t_ours, B * T / t_hf


def attention_child(variant: str, a: dict, repeat: int) -> dict:
    """Time and peak memory of one attention variant (run in a fresh process)."""
    T, H, KV, hd = a["seq"], a["heads"], a["kv_heads"], a["head_dim"]
    gen = torch.Generator().manual_seed(0)
    pos = torch.arange(T // a["docs"]).repeat(a["docs"])[None]  # (1, T): equal documents
    q = torch.randn(1, T, H, hd, generator=gen, requires_grad=True)
    k = torch.randn(1, T, KV, hd, generator=gen, requires_grad=True)
    v = torch.randn(1, T, KV, hd, generator=gen, requires_grad=True)
    grad = torch.randn(1, T, H, hd, generator=gen)
    mask = DocsMask.from_positions(pos) if variant == "docs" else DenseMask.from_positions(pos)

    def step() -> None:
        mask.attend(q, k, v).backward(grad)
        q.grad = k.grad = v.grad = None

    step()  # warm-up outside the measurement: one-time kernel and thread-pool set-up
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak RSS (VmHWM) to the current RSS
    rss_before = _status_kib("VmRSS")
    (secs,) = best_of_interleaved(repeat, step, warmup=False)
    return {"seconds": secs, "peak_bytes": max(0, _status_kib("VmHWM") - rss_before) * 1024}


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))


def bench_attention(p: dict, threads: int, in_process: bool) -> tuple[dict, dict]:
    if in_process:  # --quick: no child processes (the memory row is then not meaningful)
        return attention_child("docs", p["attn"], p["repeat"]), attention_child("dense", p["attn"], p["repeat"])
    out = []
    for variant in ("docs", "dense"):
        args = json.dumps({"attn": p["attn"], "repeat": p["repeat"]})
        cmd = [sys.executable, __file__, "--child", variant, "--threads", str(threads), "--params", args]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def bench_decode(d: dict, repeat: int) -> tuple[float, float, bool]:
    n = d["new_tokens"]
    with tempfile.TemporaryDirectory() as tmp:
        model, hf = model_pair(d["model"], d["prompt"] + n, tmp)
    model.eval(), hf.eval()
    prompt = torch.randint(0, d["model"]["vocab_size"], (1, d["prompt"]), generator=torch.Generator().manual_seed(1))
    outs: dict[str, torch.Tensor] = {}

    def ours() -> None:
        outs["ours"] = generate(model, prompt, n, temperature=0)

    def theirs() -> None:
        with torch.inference_mode():
            outs["hf"] = hf.generate(prompt, max_new_tokens=n, do_sample=False, use_cache=True)

    t_ours, t_hf = best_of_interleaved(repeat, ours, theirs)
    return n / t_ours, n / t_hf, torch.equal(outs["ours"], outs["hf"])


def kv_cache_bytes(dims: dict, kv_heads: int, length: int) -> int:
    model = Transformer(ModelConfig(**(dims | {"n_kv_heads": kv_heads}), max_seq_len=length))
    return model.new_cache(1, length).nbytes


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1: stable ratios)")
    ap.add_argument("--repeat", type=int, default=None, help="best of N rounds (default 3; 1 with --quick)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the table's rows to PATH as JSON")
    ap.add_argument("--child", choices=["docs", "dense"], help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        params = json.loads(args.params)
        print(json.dumps(attention_child(args.child, params["attn"], params["repeat"])))
        return []
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    p = dict(QUICK if args.quick else FULL)
    if args.repeat:
        p["repeat"] = args.repeat

    rows = []
    for key, name, dims, B, T, packed in p["train"]:
        ours, hf = bench_train(dims, B, T, packed, p["repeat"])
        docs = "packed docs, both doc-masked" if packed else "1 doc/row, both causal"
        rows.append(
            dict(
                key=key,
                metric=f"train tok/s, {name} model {B}x{T}, {docs}",
                ours=ours,
                baseline=hf,
                ratio=ours / hf,
                goal=">= 1.3x" if key == "train" else "-",
            )
        )
    docs, dense = bench_attention(p, args.threads, in_process=args.quick)
    a, mib = p["attn"], 1 << 20
    rows.append(
        dict(
            key="attention",
            metric=f"doc-masked attention fwd+bwd ms, T={a['seq']}, {a['docs']} docs",
            ours=docs["seconds"] * 1e3,
            baseline=dense["seconds"] * 1e3,
            ratio=dense["seconds"] / docs["seconds"],
            goal=">= 4x",
        )
    )
    rows.append(
        dict(
            key="attention_memory",
            metric="  same, peak memory MiB (RSS high-water delta)",
            ours=docs["peak_bytes"] / mib,
            baseline=dense["peak_bytes"] / mib,
            ratio=dense["peak_bytes"] / max(docs["peak_bytes"], 1),
            goal="-",
        )
    )
    dec_ours, dec_hf, same = bench_decode(p["decode"], p["repeat"])
    rows.append(
        dict(
            key="decode",
            metric=f"decode tok/s, greedy, batch 1, {p['decode']['new_tokens']} new",
            ours=dec_ours,
            baseline=dec_hf,
            ratio=dec_ours / dec_hf,
            goal=">= 1.5x",
        )
    )
    dm = p["decode"]["model"]
    gqa, mha = kv_cache_bytes(dm, dm["n_kv_heads"], p["cache_len"]), kv_cache_bytes(dm, dm["n_heads"], p["cache_len"])
    rows.append(
        dict(
            key="kv_cache",
            metric=f"KV cache MiB at {p['cache_len']} tokens, GQA vs MHA",
            ours=gqa / mib,
            baseline=mha / mib,
            ratio=mha / gqa,
            goal=f"= {dm['n_heads'] // dm['n_kv_heads']}x (heads/kv)",
        )
    )

    print(f"torch {torch.__version__}, {args.threads} thread(s), best of {p['repeat']}")
    print(f"{'metric':<62} {'ours':>10} {'baseline':>10} {'ratio':>7}  goal")
    for r in rows:
        print(f"{r['metric']:<62} {r['ours']:>10,.1f} {r['baseline']:>10,.1f} {r['ratio']:>6.2f}x  {r['goal']}")
    print(
        "baselines: HF LlamaForCausalLM (sdpa, same weights, same document mask) for train and decode; "
        "SDPA with a dense block-diagonal causal mask for attention; the MHA cache for kv_cache"
    )
    print(f"decode emitted the same greedy tokens as HF: {'yes' if same else 'NO'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
