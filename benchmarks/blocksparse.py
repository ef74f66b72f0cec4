"""Blocksparse attention on CPU: the active-block fraction, the pairs computed and the time of
the blocksparse CPU path against dense causal SDPA (trainer/attention.CausalMask),
forward + backward, one document per row; and the KV-cache bytes a blocksparse model keeps.
Each T also has a `slide` row: head_sliding (KV head h's vertical blocks shifted by h;
SlidingBlocksparseMask, one layout per KV head), its active blocks averaged over the KV heads.

    .venv/bin/python benchmarks/blocksparse.py            # ~1 min, 1 thread
    .venv/bin/python benchmarks/blocksparse.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import time

import torch

from edumix.trainer.attention import CausalMask
from edumix.trainer.blocksparse import (
    BlocksparseConfig,
    BlocksparseMask,
    SlidingBlocksparseMask,
    cache_slots,
    kv_bytes,
)
from edumix.trainer.model import ModelConfig


def _time(fn, reps: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sp = BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2)
    slide = BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2, head_sliding=True)
    H, KV, hd = 8, 2, 64
    lengths = (512, 1024) if args.quick else (1024, 2048, 4096, 8192)
    reps = 1 if args.quick else 3
    print(f"blocksparse {sp}; H={H} KV={KV} hd={hd}, fwd+bwd, 1 thread, 1 document of T tokens")
    print(f"{'T':>6} {'':>5} {'active blocks':>14} {'of causal':>10} {'pairs vs T^2':>14} {'time vs dense':>13}")
    for T in lengths:
        g = torch.Generator().manual_seed(0)
        q, k, v = (torch.randn(1, T, h, hd, generator=g, requires_grad=True) for h in (H, KV, KV))
        positions = torch.arange(T)[None]
        docs = CausalMask()  # what the dense layers run for one document per row

        def run(mask, q=q, k=k, v=v):
            mask.attend(q, k, v).sum().backward()

        t_docs = _time(lambda m=docs: run(m), reps)
        pairs_docs = T * T  # one (T, T) SDPA (causal: the kernel skips about half of it)
        masks = {
            "": BlocksparseMask.from_positions(positions, T, q.device, sp),
            "slide": SlidingBlocksparseMask.from_positions(positions, T, q.device, slide, H, KV),
        }
        for name, bsm in masks.items():
            nb = bsm.total_blocks
            frac = bsm.active_blocks / (nb * (nb + 1) // 2)  # of the causal blocks
            t_bs = _time(lambda m=bsm: run(m), reps)
            print(
                f"{T:>6} {name:>5} {bsm.active_blocks:>6g}/{nb * nb:<7} {frac:>10.1%} "
                f"{bsm.pairs / pairs_docs:>14.2f} {t_bs / t_docs:>13.2f}"
            )
    cfg = ModelConfig(
        vocab_size=32000, dim=2048, n_layers=24, n_heads=16, n_kv_heads=4, max_seq_len=8192, blocksparse=sp
    )
    print(f"KV cache, {cfg.n_layers} layers (half blocksparse), KV={cfg.n_kv_heads}, hd={cfg.head_dim}, bf16, batch 1:")
    slide_cfg = ModelConfig.from_dict(cfg.to_dict() | {"blocksparse": slide})
    for L in (2048, 8192):
        dense, sparse = kv_bytes(cfg, batch=1, length=L)
        sliding = kv_bytes(slide_cfg, batch=1, length=L)[1]
        static, static_slide = cache_slots(L, sp), cache_slots(L, slide, cfg.n_kv_heads)
        print(
            f"  {L:>5} tokens: dense {dense / 2**20:.0f} MiB, blocksparse needs {sparse / 2**20:.0f} MiB "
            f"({1 - sparse / dense:.0%} saved), with head_sliding {sliding / 2**20:.0f} MiB; a blocksparse layer's "
            f"static cache holds {static} of {L} tokens per KV head ({static_slide} with head_sliding)"
        )


if __name__ == "__main__":
    main()
