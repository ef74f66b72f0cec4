"""Does RoPE ABF help a context extension? A tiny model pretrained at a short length, continued
twice to a longer length with the same steps and data: once with the RoPE base raised (ABF,
"Effective Long-Context Scaling of Foundation Models", Xiong et al. 2023) and once with the
base unchanged; both judged on the same held-out documents.

    .venv/bin/python benchmarks/abf_continuation.py --out /tmp/abf          # 25 min on 2 shared, loaded cores
    .venv/bin/python benchmarks/abf_continuation.py --quick --out /tmp/abf  # smoke run (numbers mean nothing)
    .venv/bin/python benchmarks/abf_continuation.py --out /tmp/abf --steps1 5000 --steps2 1000   # a model
                                                    # that uses its context: hours on a CPU

The work directory is reused: a run, tokenizer or finished training found there is not redone
(delete a variant's folder to retrain it). The seed-corpora run + tokenizer take a few minutes
the first time.

1. Data: the shared seed corpora (general, edu_high, math, code, multilingual passages under
   $EDUMIX_SHARED_DATA/seed: 3,017 documents, 2.9M tokens, median 895) as one run directory
   (benchmarks/trainer_data.make_run). The demo crawl (`edumix demo`: 61 documents, 78K
   characters) holds too few tokens and too few held-out documents longer than the long length
   to tell two models apart, so it is not used. A BPE tokenizer (--vocab) is trained on the run.
2. Phase 1 (`pretrain(phase=1)`): tiny.yaml's model (dim 128, 4 layers, 4 / 2 heads) at
   T = --short (128), max_seq_len = --short: positions beyond it are never seen.
3. Two `pretrain(phase="long", init=phase1)` continuations from the same YAML, at T = --long
   (512), the same steps, rows, optimizer and seed (so the same batches): `abf` overrides
   model.rope_base with --abf-base (500,000 as Llama 2 Long, from 10,000), `no-abf` keeps
   10,000 (what `--rope-base` overrides on the CLI).
4. Evaluation, the same for the phase-1 model (its RoPE table extended, as `edumix eval long`
   does), no-abf and abf: the held-out documents (data.eval_fraction of them, by hash of the
   id, never trained on) of at least --long + 1 tokens, each from its start
   (trainer/eval_long.position_rows / token_losses / position_loss: the buckets and the power
   law fit), the mean loss of the tokens predicted with a context <= --short (within the
   original length) and > --short (beyond it), and the per-document difference of abf and
   no-abf with its standard error (paired: the same documents); then the passkey grid of
   `edumix eval long` (trainer/eval_long.evaluate_long, --no-loss half) for each model.

Everything is seeded (the run, the tokenizer, the configs' `seed`, the passkey keys), so a
second run prints the same losses on the same machine and thread count. Nothing here is a
pass/fail threshold: the table is what the recipe gives at this scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/abf_continuation.py`
    sys.path.insert(0, str(REPO))

import numpy as np
import torch

from benchmarks.common import print_table
from benchmarks.trainer_data import make_run
from edumix.core.shared_data import shared_data_dir
from edumix.trainer.checkpoint import open_checkpoint
from edumix.trainer.config import load_train_config
from edumix.trainer.eval_long import (
    LongEvalOptions,
    PasskeyResult,
    evaluate_long,
    format_passkey_table,
    position_loss,
    position_rows,
    run_documents,
    token_losses,
)
from edumix.trainer.tokenizer import TextTokenizer, train_tokenizer
from edumix.trainer.train import pretrain

CONFIG = """\
# written by benchmarks/abf_continuation.py
model: {{vocab_size: null, dim: {dim}, n_layers: {layers}, n_heads: 4, n_kv_heads: 2,
        max_seq_len: {short}, rope_base: {base}}}
data: {{seq_len: {short}, batch_size: {rows1}, grad_accum: 1, eval_fraction: {eval_fraction}}}
optim: {{lr: 3.0e-3, min_lr: 3.0e-4, warmup_steps: 20, schedule: cosine, weight_decay: 0.1, grad_clip: 1.0}}
steps: {steps1}
eval_every: 0
eval_batches: 2
ckpt_every: {steps1}
log_every: 50
seed: {seed}
compile: false
dtype: auto
phases:
  long:
    steps: {steps2}
    model: {{max_seq_len: {long}}}
    data: {{seq_len: {long}, batch_size: {rows2}}}
    optim: {{lr: 1.0e-3, min_lr: 1.0e-4, warmup_steps: 10}}
    ckpt_every: {steps2}
    long: {{data_phase: 1}}
"""

VARIANTS = ("phase1", "no-abf", "abf")


def build_run(work: Path, vocab: int, run: Path | None = None, tok: Path | None = None) -> tuple[Path, Path]:
    """(run directory, tokenizer.json): --run / --tokenizer when given, else the shared seed
    corpora made into work/run and a tokenizer trained on it (both reused when present)."""
    run, tok = run or work / "run", tok or work / "tokenizer.json"
    if not (run / "manifest.json").is_file():
        seed = shared_data_dir() / "seed"
        if not seed.is_dir():
            raise SystemExit(f"no seed corpora at {seed} (set EDUMIX_SHARED_DATA)")
        make_run(seed, run)
    if not tok.is_file():
        train_tokenizer(run, vocab, tok, progress=False)
    return run, tok


def write_config(path: Path, a: argparse.Namespace) -> Path:
    path.write_text(
        CONFIG.format(
            dim=a.dim,
            layers=a.layers,
            short=a.short,
            long=a.long,
            base=a.base,
            rows1=a.rows1,
            rows2=a.rows2,
            steps1=a.steps1,
            steps2=a.steps2,
            eval_fraction=a.eval_fraction,
            seed=a.seed,
        )
    )
    return path


def train_all(work: Path, run: Path, tok: Path, cfg_path: Path, a: argparse.Namespace, say) -> dict[str, Path]:
    """phase 1, then the two continuations from it; a finished --out is reused (rerun = eval only)."""
    outs = {v: work / v for v in VARIANTS}
    quiet = dict(progress=False, log=lambda m: None)
    plan = [
        ("phase1", load_train_config(cfg_path, 1), 1, None),
        ("no-abf", load_train_config(cfg_path, "long", {"model": {"rope_base": a.base}}), "long", outs["phase1"]),
        ("abf", load_train_config(cfg_path, "long", {"model": {"rope_base": a.abf_base}}), "long", outs["phase1"]),
    ]
    for name, cfg, phase, init in plan:
        if (outs[name] / "latest").is_file():
            say(f"{name}: reusing {outs[name]}")
            continue
        t0 = time.perf_counter()
        res = pretrain(cfg, run, outs[name], tok, phase=phase, init=init, device="cpu", **quiet)
        say(
            f"{name}: {len(res.losses)} steps at T={cfg.data.seq_len} x {cfg.data.batch_size} rows, "
            f"rope_base {cfg.model.rope_base:g}, loss {res.losses[0]:.3f} -> {np.mean(res.losses[-10:]):.3f} "
            f"(mean of the last 10), {time.perf_counter() - t0:.0f} s"
        )
    return outs


def position_losses(outs: dict[str, Path], run: Path, a: argparse.Namespace, say) -> dict[str, dict]:
    """Per-token held-out losses of every model on the same rows (documents >= long + 1 tokens)."""
    first = open_checkpoint(outs["phase1"])
    tok = TextTokenizer(first.tokenizer_path)
    heldout, _ = run_documents(run, tok, 1, a.eval_fraction)
    rows, mode, used = position_rows(heldout, a.long, a.max_rows, min_docs=4)
    if mode != "documents":
        raise SystemExit(f"only {used} held-out documents of >= {a.long + 1} tokens: raise --eval-fraction")
    say(f"held-out: {len(heldout)} documents, {used} of them >= {a.long + 1} tokens (each from its start)")
    out = {}
    for name in VARIANTS:
        ck = open_checkpoint(outs[name])
        trained = int(ck.meta["model_config"]["max_seq_len"])
        model = ck.build_model(max_seq_len=max(a.long, trained)).eval()
        losses = token_losses(model, rows, batch_size=8)  # (N, long): column i has i + 1 tokens of context
        pos = position_loss(losses, mode, "heldout", used, fit_max_pos=trained)
        out[name] = {"losses": losses, "pos": pos, "rope_base": model.cfg.rope_base, "trained": trained}
    return out


def paired(a_loss: np.ndarray, b_loss: np.ndarray) -> tuple[float, float]:
    """Mean over documents of (a - b) and its standard error (per-document means: paired)."""
    d = a_loss.mean(axis=1) - b_loss.mean(axis=1)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")


def loss_table(res: dict[str, dict], short: int) -> dict:
    within, beyond = slice(0, short), slice(short, None)  # context 1..short | short+1..long
    quarter = max(1, short // 4)  # the last stretch inside vs the last beyond: is the far context used?
    rows, summary = [], {}
    for name in VARIANTS:
        L = res[name]["losses"]
        s = {
            "rope_base": res[name]["rope_base"],
            "max_seq_len": res[name]["trained"],
            "within": float(L[:, within].mean()),
            "beyond": float(L[:, beyond].mean()),
        }
        s["within_last"] = float(L[:, short - quarter : short].mean())
        s["beyond_last"] = float(L[:, -quarter:].mean())
        summary[name] = s
        rows.append(
            [
                name,
                f"{s['rope_base']:,.0f}",
                s["max_seq_len"],
                f"{s['within']:.4f}",
                f"{s['beyond']:.4f}",
                f"{s['within_last']:.4f}",
                f"{s['beyond_last']:.4f}",
            ]
        )
    notes = []
    for part, sl in (("within", within), ("beyond", beyond)):
        m, se = paired(res["abf"]["losses"][:, sl], res["no-abf"]["losses"][:, sl])
        summary[f"abf_minus_noabf_{part}"] = {"mean": m, "se": se}
        notes.append(f"abf - no-abf, {part} (paired over documents): {m:+.4f} +- {se:.4f} (1 s.e.)")
    n, long = res["abf"]["losses"].shape
    print_table(
        f"held-out loss by position, {n} documents x {long} tokens (context <= {short}: within the "
        f"original length; > {short}: beyond it)",
        [
            "model",
            "rope_base",
            "max_seq_len",
            f"ctx 1-{short}",
            f"ctx {short + 1}-{long}",
            f"ctx {short - quarter + 1}-{short}",
            f"ctx {long - quarter + 1}-{long}",
        ],
        rows,
        notes + ["phase1: the short model, RoPE table extended (no training beyond its length)"],
    )
    return summary


def passkey_all(outs: dict[str, Path], run: Path, work: Path, a: argparse.Namespace, say) -> dict:
    opts = LongEvalOptions(
        lengths=[int(x) for x in a.passkey_lengths.split(",")],
        trials=a.trials,
        seed=a.seed,
        loss=False,  # the loss half is above, on rows shared by every model
    )
    out = {}
    for name in VARIANTS:
        ck = open_checkpoint(outs[name])
        tok = TextTokenizer(ck.tokenizer_path)
        doc = evaluate_long(ck, tok, run, work / "eval_long" / name, opts, torch.device("cpu"), say=lambda m: None)
        pk = doc["passkey"]
        out[name] = pk
        res = PasskeyResult(**{k: pk[k] for k in PasskeyResult.__dataclass_fields__})
        say(f"\n{name} (rope_base {ck.meta['model_config']['rope_base']:g}):")
        say(format_passkey_table(res, int(ck.meta["model_config"]["max_seq_len"])))
    print_table(
        "passkey accuracy (%), mean over depths",
        ["length", *VARIANTS],
        [
            [n, *(f"{100 * out[v]['mean_by_length'][i]:.0f}" for v in VARIANTS)]
            for i, n in enumerate(out["abf"]["lengths"])
        ],
        [f"{a.trials} trials x {len(out['abf']['depths'])} depths per length; fixed filler; seed {a.seed}"],
    )
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="work directory (run, tokenizer, checkpoints)")
    ap.add_argument("--run", type=Path, help="an existing run directory instead of the seed corpora")
    ap.add_argument("--tokenizer", type=Path, help="an existing tokenizer.json (default: trained on the run)")
    ap.add_argument("--short", type=int, default=128, help="phase-1 length (the original length)")
    ap.add_argument("--long", type=int, default=512, help="continuation length")
    ap.add_argument("--base", type=float, default=10_000.0, help="phase-1 rope_base (kept by no-abf)")
    ap.add_argument("--abf-base", type=float, default=500_000.0, help="rope_base of the abf continuation")
    ap.add_argument("--steps1", type=int, default=200, help="phase-1 steps")
    ap.add_argument("--steps2", type=int, default=60, help="steps of each continuation")
    ap.add_argument("--rows1", type=int, default=16, help="rows per step in phase 1")
    ap.add_argument("--rows2", type=int, default=4, help="rows per step in the continuation")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--eval-fraction", type=float, default=0.05)
    ap.add_argument("--max-rows", type=int, default=200, help="held-out documents for the loss, at most")
    ap.add_argument("--passkey-lengths", default="128,256,512")
    ap.add_argument("--trials", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="a smoke run: few steps (numbers mean nothing)")
    a = ap.parse_args(argv)
    if a.quick:
        a.steps1, a.steps2, a.max_rows, a.trials = 40, 20, 16, 1
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    say = print
    t0 = time.perf_counter()
    run, tok = build_run(a.out, a.vocab, a.run, a.tokenizer)
    cfg_path = write_config(a.out / "abf.yaml", a)
    outs = train_all(a.out, run, tok, cfg_path, a, say)
    res = position_losses(outs, run, a, say)
    for name in VARIANTS:
        print(f"\n{name}:\n{res[name]['pos'].table()}")
    summary = loss_table(res, a.short)
    passkey = passkey_all(outs, run, a.out, a, say)
    doc = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
        "loss": summary,
        "buckets": {
            n: {k: getattr(res[n]["pos"], k) for k in ("bucket_lo", "bucket_hi", "bucket_loss", "fit")}
            for n in VARIANTS
        },
        "passkey_mean_by_length": {n: passkey[n]["mean_by_length"] for n in VARIANTS},
        "seconds": time.perf_counter() - t0,
    }
    (a.out / "abf_continuation.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nwrote {a.out / 'abf_continuation.json'} ({doc['seconds']:.0f} s)")
    return doc


if __name__ == "__main__":
    main()
