"""Memory and time of one long-row training step: activation checkpointing and the chunked
head + cross-entropy against the plain path, every baseline measured in the same run.

    .venv/bin/python benchmarks/long_context.py                    # T = 8K, 16K, 32K (~10 min on 2 busy cores)
    .venv/bin/python benchmarks/long_context.py --quick            # T = 1K, 2K: seconds
    .venv/bin/python benchmarks/long_context.py --vocab 32000 --lengths 8192,16384
    .venv/bin/python benchmarks/long_context.py --doc-len 512      # packed 512-token documents

Model: trainer/configs/tiny.yaml's (dim 128, 4 layers, 4 heads / 2 KV heads, FFN 512), vocab
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

from benchmarks.common import print_table, ratio
from edumix.trainer.flops import attn_pairs, full_pairs
from edumix.trainer.model import ModelConfig, Transformer

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="8192,16384,32768")
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--doc-len", type=int, default=0, help="0 = one document per row")
    ap.add_argument("--chunk", type=int, default=4096, help="loss_chunk tokens")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="T = 1024, 2048")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return
    lengths = [1024, 2048] if a.quick else [int(x) for x in a.lengths.split(",")]
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
            out = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=True
            )
            res[mode] = json.loads(out.stdout.strip().splitlines()[-1])
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
