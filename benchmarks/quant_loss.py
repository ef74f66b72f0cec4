"""Held-out loss of a trained checkpoint, float vs int8 vs int4 weight-only quantization.

    .venv/bin/python benchmarks/quant_loss.py [--ckpt CKPT --data RUN] [--seq-len 256] [--max-rows 64]

Without --ckpt it builds one: the demo crawl, a 2,048-piece tokenizer and a tiny.yaml phase-1
training through the CLI (a few minutes on CPU). The held-out documents are the ones the
training held out (`data.eval_fraction` of the checkpoint's config, the same hash split), packed
as the trainer's evaluation packs them; the loss is the token mean per domain and overall.
Issue 18's target: int4 within 2% of the float model's held-out loss.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/quant_loss.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import print_table
from edumix.trainer.checkpoint import open_checkpoint
from edumix.trainer.data import TokenStore, ensure_tokenized, eval_rows, heldout_masks
from edumix.trainer.distributed import Dist
from edumix.trainer.quantize import linear_weight_bytes, quantize_int4, quantize_int8
from edumix.trainer.tokenizer import TextTokenizer
from edumix.trainer.train import evaluate


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "edumix.cli", *args], check=True, stdout=subprocess.DEVNULL)


def train_demo_checkpoint(work: Path, steps: int) -> tuple[Path, Path]:
    """(checkpoint, run) of a tiny phase-1 model trained on the demo crawl."""
    _cli("demo", "-o", str(work / "demo"))
    run = work / "demo" / "run"
    tok = work / "tokenizer.json"
    _cli("tokenizer", "train", "--data", str(run), "--out", str(tok), "--vocab-size", "2048")
    cfg = REPO / "trainer" / "configs" / "tiny.yaml"
    out = work / "ckpt"
    _cli(
        "pretrain", "--phase", "1", "--data", str(run), "--tokenizer", str(tok), "--config", str(cfg),
        "--out", str(out), "--steps", str(steps),
    )  # fmt: skip
    return out, run


def heldout_loss(model: torch.nn.Module, rows, dtype: torch.dtype | None) -> dict[str, float]:
    """Token-mean loss per domain and over all held-out tokens (`dtype`: autocast dtype)."""
    import contextlib

    ctx = torch.autocast("cpu", dtype=dtype) if dtype is not None else contextlib.nullcontext()
    per_domain = evaluate(model, rows, micro=8, dist=Dist(), autocast=ctx)
    tokens = {d: int((r["targets"] != -100).sum()) for d, r in rows.items()}
    per_domain["all"] = sum(per_domain[d] * tokens[d] for d in tokens) / sum(tokens.values())
    return per_domain


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", type=Path, help="a checkpoint directory (or a training --out)")
    ap.add_argument("--data", type=Path, help="the run the checkpoint trained on")
    ap.add_argument("--phase", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300, help="training steps when no --ckpt is given")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--max-rows", type=int, default=64, help="held-out rows per domain")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        if args.ckpt is None:
            ckpt, run = train_demo_checkpoint(Path(tmp), args.steps)
        elif args.data is None:
            ap.error("--ckpt needs --data (the run it trained on)")
        else:
            ckpt, run = args.ckpt, args.data
        ck = open_checkpoint(ckpt)
        tokenizer = TextTokenizer(ck.tokenizer_path)
        store = TokenStore(ensure_tokenized(run, args.phase, tokenizer, Path(tmp) / "tokens", progress=False))
        fraction = ck.meta.get("train_config", {}).get("data", {}).get("eval_fraction", 0.01)
        rows = eval_rows(store, heldout_masks(store, fraction), args.seq_len, args.max_rows)
        base = ck.build_model().float().eval()
        variants = [("float32", base, None), ("int8", quantize_int8(copy.deepcopy(base)), None)]
        for g in (32, 64, 128):  # int4 kernels take bf16 activations
            variants.append((f"int4 g{g}", quantize_int4(copy.deepcopy(base).to(torch.bfloat16), g), torch.bfloat16))
        variants.insert(1, ("bf16 weights", copy.deepcopy(base).to(torch.bfloat16), torch.bfloat16))
        results = [(name, heldout_loss(m, rows, dt), linear_weight_bytes(m)) for name, m, dt in variants]
    ref = results[0][1]["all"]
    n_tok = sum(int((r["targets"] != -100).sum()) for r in rows.values())
    table = [
        [name, f"{loss['all']:.4f}", f"{(loss['all'] / ref - 1) * 100:+.2f}%", f"{nbytes / results[0][2]:.2f}x"]
        for name, loss, nbytes in results
    ]
    print_table(
        f"held-out loss, {ckpt} ({n_tok:,} held-out tokens, {len(rows)} domains, T={args.seq_len})",
        ["weights", "loss", "vs float32", "linear weight bytes"],
        table,
        ["int4: group-wise asymmetric 4-bit codes (trainer/quantize.py); target: within 2% of float"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
