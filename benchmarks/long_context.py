"""Memory and time of long rows on CPU, two tables, every baseline measured in the same run:

1. attention (`--what attention`): forward + backward of one attention layer at T = 4K, 8K,
   16K, 32K for causal SDPA (trainer/attention.CausalMask: one document per row), the
   document-masked CPU path (DocsMask: documents of --attn-doc-len tokens packed in the row, cost
   sum of doc_len^2) and blocksparse (trainer/blocksparse.BlocksparseMask, phi-3-small local +
   vertical-stride blocks, one document per row); the time and peak memory of each, and for
   blocksparse its active-block fraction (active (query, key) block pairs / the causal ones)
   beside its time / causal SDPA's: blocksparse time tracks that fraction when the two agree
   (their quotient, `time/active`, near 1; above 1 is the per-group gather + mask overhead);
2. training step (`--what step`): activation checkpointing and the chunked head +
   cross-entropy against the plain path, one whole model step at T = 8K, 16K, 32K.

    .venv/bin/python benchmarks/long_context.py                    # both tables (~15 min on 2 busy cores)
    .venv/bin/python benchmarks/long_context.py --quick            # T = 1K, 2K: about a minute
    .venv/bin/python benchmarks/long_context.py --what attention   # the attention table only
    .venv/bin/python benchmarks/long_context.py --what attention --kinds causal,blocksparse,blocksparse-sliding
    .venv/bin/python benchmarks/long_context.py --what step --vocab 32000 --lengths 8192,16384
    .venv/bin/python benchmarks/long_context.py --what step --doc-len 512   # packed 512-token documents

Attention shapes: tiny.yaml's (4 query heads, 2 KV heads, head_dim 32; --heads, --kv-heads,
--head-dim), batch 1, float32; blocksparse block 64, local 4 blocks, vertical stride 8
(--block, --local, --stride). Each (T, kind) runs in its own child process: warm-up at T=256,
then the peak resident set (VmHWM) is reset and one step at T (best of --reps) is measured;
the peak is minus the resident set before the step (q, k, v already allocated).

Step table. Model: trainer/configs/tiny.yaml's (dim 128, 4 layers, 4 heads / 2 KV heads, FFN 512), vocab
--vocab (2048 = the demo tokenizer's), float32 on CPU, random init. One row of T tokens, one
document (--doc-len 0: full causal attention, the worst case) or packed documents. A step is
forward + backward of `Transformer(idx, positions, targets)`. Modes: plain; `ckpt`
(activation_checkpointing); `chunk` (loss_chunk = --chunk tokens); `ckpt+chunk`.

Each (T, mode) runs in its own child process: it builds the model and batch, runs a short
warm-up step (T=256: thread pools, allocator), resets the peak resident set (VmHWM, through
/proc/self/clear_refs, Linux), runs ONE step at T and reports the seconds and the peak minus
the resident set before the step: the step's transient memory (activations, logits, gradients).
Ratios are plain / mode: > 1 means the mode uses less memory (or is faster). Nothing here is
a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/long_context.py`
    sys.path.insert(0, str(REPO))

import torch

from benchmarks.common import best_of_interleaved, print_table, ratio
from edumix.trainer.attention import CausalMask, DocsMask
from edumix.trainer.blocksparse import BlocksparseConfig, BlocksparseMask, SlidingBlocksparseMask
from edumix.trainer.flops import attn_pairs, full_pairs
from edumix.trainer.model import ModelConfig, Transformer

KINDS = ("causal", "docs", "blocksparse")  # the default table
EXTRA_KINDS = ("blocksparse-sliding",)  # on request (--kinds): head_sliding, KV head h's vertical blocks shifted by h
MODES = {"plain": (False, 0), "ckpt": (True, 0), "chunk": (False, 1), "ckpt+chunk": (True, 1)}
TINY = dict(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, rope_base=500_000.0)


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))


def _batch(T: int, vocab: int, doc_len: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, vocab, (1, T), generator=g)  # (1, T)
    targets = torch.randint(0, vocab, (1, T), generator=g)  # (1, T)
    positions = torch.arange(T)[None] % (doc_len or T)  # (1, T): restarts at each document
    return idx, positions, targets


def child(args: dict) -> dict:
    torch.set_num_threads(args["threads"])
    ckpt, chunked = MODES[args["mode"]]
    T, vocab = args["T"], args["vocab"]
    torch.manual_seed(0)  # the same weights in every mode
    model = Transformer(ModelConfig(vocab_size=vocab, max_seq_len=T, **TINY))
    model.activation_checkpointing, model.loss_chunk = ckpt, args["chunk"] if chunked else 0

    def step(batch) -> float:
        model.zero_grad(set_to_none=True)
        _, loss = model(*batch)
        loss.backward()
        return float(loss)

    step(_batch(256, vocab, min(args["doc_len"], 256)))  # warm-up outside the measurement
    batch = _batch(T, vocab, args["doc_len"])
    model.zero_grad(set_to_none=True)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    loss = step(batch)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "peak_bytes": max(0, _status_kib("VmHWM") - before) * 1024, "loss": loss}


def attention_mask(kind: str, T: int, doc_len: int, sp: BlocksparseConfig, heads: tuple[int, int] = (4, 2)):
    """(mask, pairs computed, causal pairs of one T-token document, active-block fraction or None).
    heads: (query, KV) heads, for blocksparse-sliding (a pattern per KV head; pairs and
    fraction averaged over the KV heads)."""
    causal_pairs = T * (T + 1) // 2
    if kind == "causal":
        return CausalMask(), causal_pairs, causal_pairs, None
    if kind == "docs":
        positions = torch.arange(T)[None] % doc_len  # (1, T): documents of doc_len tokens
        return DocsMask.from_positions(positions), attn_pairs(positions.numpy()), causal_pairs, None
    if kind == "blocksparse":
        bsm = BlocksparseMask.from_positions(None, T, torch.device("cpu"), sp)
        nb = bsm.total_blocks
        return bsm, bsm.pairs, causal_pairs, bsm.active_blocks / (nb * (nb + 1) // 2)
    if kind == "blocksparse-sliding":
        sliding = BlocksparseConfig(sp.block_size, sp.local_blocks, sp.vert_stride, sp.every, head_sliding=True)
        sbm = SlidingBlocksparseMask.from_positions(None, T, torch.device("cpu"), sliding, *heads)
        nb = sbm.total_blocks
        return sbm, sbm.pairs, causal_pairs, sbm.active_blocks / (nb * (nb + 1) // 2)
    raise ValueError(f"unknown attention kind {kind!r}, expected one of {KINDS + EXTRA_KINDS}")


def attention_child(args: dict) -> dict:
    """Forward + backward of one attention layer (q, k, v -> y; sum(y).backward()) at T.

    args["kinds"]: the time of each kind, all in this process, interleaved within each of
    `reps` rounds (best of), so load from other processes hits them alike. args["kind"]: the
    peak memory of one step of that kind (a process of its own, so nothing freed by another
    kind is reused)."""
    torch.set_num_threads(args["threads"])
    sp = BlocksparseConfig(block_size=args["block"], local_blocks=args["local"], vert_stride=args["stride"], every=0)
    H, KV, hd = args["heads"], args["kv_heads"], args["head_dim"]

    def qkv(T: int) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(0)
        return [torch.randn(1, T, h, hd, generator=g, requires_grad=True) for h in (H, KV, KV)]

    def step(mask, q, k, v) -> None:
        for t in (q, k, v):
            t.grad = None
        mask.attend(q, k, v).sum().backward()

    kinds = args.get("kinds") or [args["kind"]]
    for kind in kinds:  # warm-up outside the measurement: thread pools, allocator
        step(attention_mask(kind, 256, min(args["doc_len"], 128), sp, (H, KV))[0], *qkv(256))
    T = args["T"]
    built = {kind: attention_mask(kind, T, args["doc_len"], sp, (H, KV)) for kind in kinds}
    tensors = qkv(T)
    if "kinds" in args:
        fns = [lambda m=built[kind][0]: step(m, *tensors) for kind in kinds]
        secs = best_of_interleaved(max(1, args["reps"]), *fns, warmup=False)
        return {
            kind: {"seconds": t, "pairs_frac": built[kind][1] / built[kind][2], "active_frac": built[kind][3]}
            for kind, t in zip(kinds, secs)
        }
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    step(built[kinds[0]][0], *tensors)
    return {"seconds_alone": time.perf_counter() - t0, "peak_bytes": max(0, _status_kib("VmHWM") - before) * 1024}


def _spawn(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def attention_table(a: argparse.Namespace, lengths: list[int]) -> list[dict]:
    kinds = a.kinds.split(",")
    rows, records = [], []
    for T in lengths:
        spec = {
            "what": "attention",
            "T": T,
            "doc_len": a.attn_doc_len,
            "heads": a.heads,
            "kv_heads": a.kv_heads,
            "head_dim": a.head_dim,
            "block": a.block,
            "local": a.local,
            "stride": a.stride,
            "reps": a.reps,
            "threads": a.threads,
        }
        run = attention_child if a.in_process else _spawn
        res = run({**spec, "kinds": kinds})  # the times: interleaved in one process
        for kind in kinds:  # the peaks: one process each
            res[kind].update(run({**spec, "kind": kind}))
            records.append({"T": T, "kind": kind, **res[kind]})
        base = res.get("causal")
        for kind, r in res.items():
            t_ratio = r["seconds"] / base["seconds"] if base else None
            active = r["active_frac"]
            rows.append(
                [
                    T,
                    kind,
                    f"{r['seconds']:.3f}",
                    f"{r['peak_bytes'] / 2**20:,.0f}",
                    f"{r['pairs_frac']:.3f}",
                    "-" if active is None else f"{active:.3f}",
                    "n/a" if t_ratio is None else f"{t_ratio:.3f}",
                    "-" if active is None or t_ratio is None else f"{t_ratio / active:.2f}",
                ]
            )
    print_table(
        f"attention forward + backward, batch 1, H={a.heads} KV={a.kv_heads} hd={a.head_dim}, float32, "
        f"{a.threads} threads",
        ["T", "kind", "seconds", "peak MiB", "pairs / causal", "active blocks", "time / causal", "time / active"],
        rows,
        [
            "causal: one document per row, SDPA is_causal (the flash kernel skips the upper triangle)",
            f"docs: {a.attn_doc_len}-token documents packed in the row (DocsMask, the CPU path of document masking)",
            f"blocksparse: block {a.block}, local {a.local} blocks, vertical stride {a.stride}, one document "
            "(BlocksparseMask); active blocks = active (query, key) block pairs / causal block pairs",
            "blocksparse-sliding (--kinds): the same with head_sliding (SlidingBlocksparseMask, one layout per KV "
            "head's shift); pairs and active blocks averaged over the KV heads",
            f"seconds: best of {a.reps} rounds, the kinds interleaved in one process; peak: one step in a process of "
            "its own, VmHWM minus the resident set before it (q, k, v allocated)",
            "time / active: (blocksparse time / causal time) / active-block fraction; 1 = time tracks the fraction",
            "pairs / causal: (query, key) pairs computed / T(T+1)/2 (blocksparse: whole blocks, masked inside)",
        ],
        merge_repeats=True,
    )
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", default="attention,step", help="tables: attention, step (comma-separated)")
    ap.add_argument("--lengths", default="8192,16384,32768", help="step table lengths")
    ap.add_argument("--attn-lengths", default="4096,8192,16384,32768", help="attention table lengths")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"attention kinds, of {', '.join(KINDS + EXTRA_KINDS)}")
    ap.add_argument("--attn-doc-len", type=int, default=1024, help="document length of the docs kind")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=32)
    ap.add_argument("--block", type=int, default=64, help="blocksparse block size")
    ap.add_argument("--local", type=int, default=4, help="blocksparse local blocks")
    ap.add_argument("--stride", type=int, default=8, help="blocksparse vertical stride")
    ap.add_argument("--reps", type=int, default=2, help="attention: best of this many interleaved rounds")
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--doc-len", type=int, default=0, help="step table: 0 = one document per row")
    ap.add_argument("--chunk", type=int, default=4096, help="loss_chunk tokens")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="T = 1024, 2048 in both tables")
    ap.add_argument(
        "--in-process", action="store_true", help="attention cases in this process (faster; peaks not isolated)"
    )
    ap.add_argument("--json", type=Path, help="also write the attention records here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        spec = json.loads(a.child)
        print(json.dumps(attention_child(spec) if spec.get("what") == "attention" else child(spec)))
        return
    what = a.what.split(",")
    if "attention" in what:
        records = attention_table(a, [1024, 2048] if a.quick else [int(x) for x in a.attn_lengths.split(",")])
        if a.json:
            a.json.write_text(json.dumps(records, indent=1) + "\n")
    if "step" in what:
        step_table(a, [1024, 2048] if a.quick else [int(x) for x in a.lengths.split(",")])


def step_table(a: argparse.Namespace, lengths: list[int]) -> None:
    modes = a.modes.split(",")
    rows, notes = [], []
    for T in lengths:
        res = {}
        for mode in modes:
            spec = {
                "mode": mode,
                "T": T,
                "vocab": a.vocab,
                "doc_len": a.doc_len,
                "chunk": a.chunk,
                "threads": a.threads,
            }
            res[mode] = _spawn(spec)
        base = res.get("plain")
        for mode, r in res.items():
            mem_ratio = ratio(base["peak_bytes"], r["peak_bytes"]) if base else "n/a"
            time_ratio = ratio(base["seconds"], r["seconds"]) if base else "n/a"
            rows.append(
                [
                    T,
                    mode,
                    f"{r['peak_bytes'] / 2**20:,.0f}",
                    mem_ratio,
                    f"{r['seconds']:.2f}",
                    time_ratio,
                    f"{r['loss']:.4f}",
                ]
            )
        pos = _batch(T, 2, a.doc_len)[1].numpy()
        notes.append(f"T={T}: attention pairs run / PaLM's T^2 = {attn_pairs(pos) / full_pairs(1, T):.3f}")
    print_table(
        f"long-row training step, tiny model, vocab {a.vocab}, "
        f"{'one document' if not a.doc_len else f'{a.doc_len}-token documents'} per row, {a.threads} threads",
        ["T", "mode", "peak MiB", "memory ratio", "seconds", "speed ratio", "loss"],
        rows,
        notes + ["ratios: plain / mode (> 1: less memory or faster); loss: the same step, the same value"],
        merge_repeats=True,
    )


if __name__ == "__main__":
    main()
