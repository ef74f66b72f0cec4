"""Decode speed: our static-cache decoder (eager, compiled, int8, int4) vs HF `generate`.

    .venv/bin/python benchmarks/decode.py --quick                 # CPU smoke run, < 2 min
    .venv/bin/python benchmarks/decode.py                         # CPU: tiny + base model
    .venv/bin/python benchmarks/decode.py --device cuda --out decode_cuda.json

CPU (1 thread by default): tokens/s of greedy decoding, batch 1, each ratio against HF
`LlamaForCausalLM.generate` (sdpa, dynamic cache) on the same weights (trainer/export_hf.py),
measured in the same run ("batch 8": tokens/s summed over 8 rows of one generate_batch,
the `--prompts-file` path). "ours" = trainer.generate.generate (KVCache, eager); "static" =
trainer.generate.Decoder (fixed-shape steps), eager or torch.compile'd. int8/int4 rows (CPU
kernels with bf16 activations) also give the quality cost against our float model:
teacher-forced top-1 agreement and the largest logit difference on a random batch, and how many
greedy tokens match before the first change.

CUDA: the 125M config (trainer/configs/125m.yaml) in bf16, batch 1, 256 new tokens. Decoding
one token reads every weight once, so memory bandwidth sets a ceiling: measured copy
bandwidth / weight bytes = tokens/s at best; each row says how close it gets.
Random weights throughout: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/decode.py`
    sys.path.insert(0, str(REPO))

import torch

from benchmarks.common import best_of_interleaved, print_table, ratio
from edumix.trainer.export_hf import export_hf
from edumix.trainer.generate import Decoder, generate
from edumix.trainer.model import ModelConfig, Transformer
from edumix.trainer.quantize import linear_weight_bytes, quantize_int4, quantize_int8

TINY = dict(vocab_size=512, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, rope_base=10_000.0)
BASE = dict(vocab_size=8192, dim=256, n_layers=4, n_heads=8, n_kv_heads=2)  # benchmarks/trainer.py's base
CPU_RUNS = {  # name -> (dims, prompt tokens, new tokens)
    "quick": [("tiny", TINY, 8, 32)],
    "full": [("tiny", TINY, 32, 128), ("base", BASE, 32, 128)],
}
GROUP = 64  # int4 group size
BATCH = 8  # the batch row: prompts of lengths P .. P-7, as `edumix generate --prompts-file` would batch them


def load_125m() -> dict:
    import yaml

    return yaml.safe_load((REPO / "trainer" / "configs" / "125m.yaml").read_text())["model"]


def build(dims: dict, max_seq_len: int, tmp: str, hf: bool = True):
    """Our model (float32, eval) and, optionally, HF's LlamaForCausalLM with the same weights."""
    torch.manual_seed(0)
    model = Transformer(ModelConfig(**(dims | {"max_seq_len": max_seq_len}))).eval()
    if not hf:
        return model, None
    from transformers import LlamaForCausalLM

    export_hf(model, tmp)
    return model, LlamaForCausalLM.from_pretrained(tmp, attn_implementation="sdpa").eval()


def quality(ref: Transformer, q: Transformer, vocab: int, dev: str, ref_tokens: list[int], q_tokens: list[int]) -> dict:
    """Teacher-forced top-1 agreement, max |logit diff| (and relative to max |logit|), and
    the greedy tokens that match before the first change."""
    T = min(64, ref.cfg.max_seq_len)
    idx = torch.randint(0, vocab, (4, T), generator=torch.Generator().manual_seed(2)).to(dev)  # (4, T)
    with torch.inference_mode():
        a, b = ref(idx)[0], q(idx)[0]  # (4, T, V) float32
    same = next((i for i, (x, y) in enumerate(zip(ref_tokens, q_tokens)) if x != y), len(ref_tokens))
    return dict(
        top1_agree=float((a.argmax(-1) == b.argmax(-1)).float().mean()),
        logit_maxdiff=float((a - b).abs().max()),
        logit_rel=float((a - b).abs().max() / a.abs().max()),
        greedy_prefix=same,
    )


# --------------------------------------------------------------------------- CPU


def cpu_section(name: str, dims: dict, P: int, n: int, repeat: int, compile_: bool) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        model, hf = build(dims, P + n, tmp)
    prompt = torch.randint(0, dims["vocab_size"], (1, P), generator=torch.Generator().manual_seed(1))  # (1, P)
    ids = prompt[0].tolist()
    int8 = quantize_int8(copy.deepcopy(model))
    int4 = quantize_int4(copy.deepcopy(model), GROUP)
    int4_deq = quantize_int4(copy.deepcopy(model), GROUP, layout="dequant")
    static = Decoder(model)
    outs: dict[str, list[int]] = {}

    def ours(m=model, key="ours"):
        return lambda: outs.__setitem__(key, generate(m, prompt, n, temperature=0)[0].tolist())

    def hf_gen():
        with torch.inference_mode():
            outs["hf"] = hf.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False)[0].tolist()

    fns = {
        "HF generate (baseline)": hf_gen,
        "ours, KVCache eager": ours(),
        "ours, static decoder eager": lambda: outs.__setitem__("static", static.generate([ids], n, temperature=0)[0]),
        "ours int8, KVCache eager": ours(int8, "int8"),
        f"ours int4 g{GROUP}, kernel": ours(int4, "int4"),
        f"ours int4 g{GROUP}, dequant fallback": ours(int4_deq, "int4_deq"),
    }
    batch = [
        torch.randint(0, dims["vocab_size"], (P - i,), generator=torch.Generator().manual_seed(i)).tolist()
        for i in range(BATCH)
    ]
    static_b = Decoder(model)
    fns[f"ours, static decoder eager, batch {BATCH} (all rows)"] = lambda: static_b.generate(batch, n, temperature=0)
    if compile_:
        comp = Decoder(model, compile=True)
        t0 = time.perf_counter()
        comp.generate([ids], n, temperature=0)  # compiles
        compile_s = time.perf_counter() - t0
        fns["ours, static decoder compiled"] = lambda: outs.__setitem__(
            "compiled", comp.generate([ids], n, temperature=0)[0]
        )
    times = dict(zip(fns, best_of_interleaved(repeat, *fns.values())))
    base = n / times["HF generate (baseline)"]
    rows = []
    for label, t in times.items():
        tok_s = n * (BATCH if f"batch {BATCH}" in label else 1) / t  # a batch row counts every row's tokens
        rows.append(dict(section=f"cpu {name}", what=label, tok_s=tok_s, ratio_vs_hf=tok_s / base))
    ref = outs["ours"]
    notes = {
        "same greedy tokens as HF": outs["hf"] == ref,
        "static == KVCache": outs["static"] == ref,
        "compiled == eager": outs.get("compiled") == ref if compile_ else None,
        "compile seconds": round(compile_s, 1) if compile_ else None,
        "int8": quality(model, int8, dims["vocab_size"], "cpu", ref[P:], outs["int8"][P:]),
        "int4": quality(model, int4, dims["vocab_size"], "cpu", ref[P:], outs["int4"][P:]),
        "weight bytes int8/bf16": linear_weight_bytes(int8) / (linear_weight_bytes(model) / 2),
        "weight bytes int4/bf16": linear_weight_bytes(int4) / (linear_weight_bytes(model) / 2),
    }
    print_table(
        f"CPU decode, {name} model ({model.num_params(False) / 1e6:.2f}M params), prompt {P}, {n} new, batch 1",
        ["path", "tok/s", "vs HF"],
        [(r["what"], f"{r['tok_s']:,.0f}", ratio(r["tok_s"], base)) for r in rows],
        [f"{k}: {_fmt(v)}" for k, v in notes.items() if v is not None],
    )
    return rows + [dict(section=f"cpu {name}", notes=notes)]


def _fmt(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    return f"{v:.3g}" if isinstance(v, float) else str(v)


# --------------------------------------------------------------------------- CUDA


def copy_bandwidth(dev: str, gib: float = 2.0) -> float:
    """Bytes/s of a large device-to-device copy (read + write counted)."""
    src = torch.empty(int(gib * (1 << 30)) // 2, dtype=torch.bfloat16, device=dev)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(10):
        t = time.perf_counter()
        dst.copy_(src)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * src.numel() * src.element_size() / best


def cuda_timed(fn, repeat: int) -> float:
    fn()  # warm-up (and compilation)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def cuda_section(P: int, n: int, repeat: int, with_hf: bool) -> list[dict]:
    dev = "cuda"
    dims = load_125m()
    with tempfile.TemporaryDirectory() as tmp:
        model, hf = build(dims, P + n, tmp, hf=with_hf)
    model = model.to(dev, torch.bfloat16)
    prompt = torch.randint(0, dims["vocab_size"], (1, P), generator=torch.Generator().manual_seed(1)).to(dev)
    ids = prompt[0].tolist()
    bw = copy_bandwidth(dev)
    wbytes = linear_weight_bytes(model) + sum(p.numel() * p.element_size() for p in model.parameters() if p.dim() == 1)
    limit = bw / wbytes
    outs: dict[str, list[int]] = {}
    eager, comp = Decoder(model), Decoder(model, compile=True)
    fns = {
        "ours, KVCache eager": lambda: outs.__setitem__("ours", generate(model, prompt, n, temperature=0)[0].tolist()),
        "ours, static decoder eager": lambda: outs.__setitem__("static", eager.generate([ids], n, temperature=0)[0]),
        "ours, static decoder compiled (reduce-overhead)": lambda: outs.__setitem__(
            "compiled", comp.generate([ids], n, temperature=0)[0]
        ),
    }
    if hf is not None:
        hf = hf.to(dev, torch.bfloat16)

        def hf_gen():
            with torch.inference_mode():
                outs["hf"] = hf.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False)[0].tolist()

        fns = {"HF generate (baseline)": hf_gen} | fns
    int4 = quantize_int4(copy.deepcopy(model), GROUP)
    i4bytes = wbytes - linear_weight_bytes(model) + linear_weight_bytes(int4)
    i4_eager, i4_comp = Decoder(int4), Decoder(int4, compile=True)
    fns["ours int4, static eager"] = lambda: outs.__setitem__(
        "int4_eager", i4_eager.generate([ids], n, temperature=0)[0]
    )
    fns["ours int4, compiled"] = lambda: outs.__setitem__("int4", i4_comp.generate([ids], n, temperature=0)[0])
    times, errors = {}, {}
    for label, fn in fns.items():  # one failing path (a kernel, a compile) must not cost the others
        t0 = time.perf_counter()
        try:
            times[label] = cuda_timed(fn, repeat)
        except Exception as e:  # noqa: BLE001 -- reported in the notes and the JSON
            errors[label] = f"{type(e).__name__}: {e}"[:300]
            print(f"  {label}: FAILED {errors[label]}", flush=True)
            continue
        print(f"  {label}: {n / times[label]:,.0f} tok/s (incl. warm-up {time.perf_counter() - t0:.0f} s)", flush=True)
    base = n / times["HF generate (baseline)"] if "HF generate (baseline)" in times else None
    rows = []
    for label, t in times.items():
        lim = bw / (i4bytes if "int4" in label else wbytes)
        rows.append(dict(section="cuda 125m bf16", what=label, tok_s=n / t, pct_of_limit=100 * (n / t) / lim))
        if base:
            rows[-1]["ratio_vs_hf"] = (n / t) / base
    ref = outs.get("ours", [])
    notes = {
        "errors": errors or None,
        "device": torch.cuda.get_device_name(),
        "copy bandwidth GB/s": bw / 1e9,
        "weight MB (bf16)": wbytes / 1e6,
        "weight MB (int4)": i4bytes / 1e6,
        "limit tok/s bf16": limit,
        "limit tok/s int4": bw / i4bytes,
        "same greedy tokens as HF": outs.get("hf") == ref if hf is not None else None,
        "static == KVCache": outs.get("static") == ref,
        "compiled == eager": outs.get("compiled") == outs.get("static"),
        "int4 greedy prefix matching bf16": next(
            (i for i, (a, b) in enumerate(zip(ref[P:], outs.get("int4", [])[P:])) if a != b), n
        ),
    }
    print_table(
        f"CUDA decode, 125M config, bf16, batch 1, prompt {P}, {n} new",
        ["path", "tok/s", "% of limit", "vs HF"],
        [
            (r["what"], f"{r['tok_s']:,.0f}", f"{r['pct_of_limit']:.0f}%", ratio(r["tok_s"], base) if base else "-")
            for r in rows
        ],
        [f"{k}: {_fmt(v)}" for k, v in notes.items() if v is not None],
    )
    return rows + [dict(section="cuda 125m bf16", notes=notes)]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny model, fewer tokens, one repeat (< 2 min on CPU)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: stable ratios)")
    ap.add_argument("--repeat", type=int, default=None, help="best of N (default 3; 1 with --quick)")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    ap.add_argument("--no-hf", action="store_true", help="skip HF generate (CUDA only)")
    ap.add_argument("--new-tokens", type=int, default=256, help="CUDA: tokens to generate")
    ap.add_argument("--out", type=Path, metavar="FILE.json", help="also write the rows as JSON")
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    print(f"torch {torch.__version__}, best of {repeat}", flush=True)
    rows: list[dict] = []
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("--device cuda: no CUDA device")
        rows += cuda_section(16, args.new_tokens, repeat, with_hf=not args.no_hf)
    else:
        torch.set_num_threads(args.threads)
        print(f"{args.threads} CPU thread(s)")
        for name, dims, P, n in CPU_RUNS["quick" if args.quick else "full"]:
            rows += cpu_section(name, dims, P, n, repeat, compile_=not args.no_compile)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, default=str))
    return rows


if __name__ == "__main__":
    main()
