"""Does RoPE ABF help a context extension? A tiny model pretrained at a short length, continued
twice to a longer length with the same steps and data: once with the RoPE base raised (ABF,
"Effective Long-Context Scaling of Foundation Models", Xiong et al. 2023) and once with the
base unchanged; both judged on the same held-out documents.

    .venv/bin/python benchmarks/abf_continuation.py --out /tmp/abf          # 25 min on 2 shared, loaded cores
    .venv/bin/python benchmarks/abf_continuation.py --quick --out /tmp/abf  # smoke run (numbers mean nothing)
    .venv/bin/python benchmarks/abf_continuation.py --out /tmp/abf --steps1 5000 --steps2 1000   # a model
                                                    # that uses its context: hours on a CPU
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/abf_continuation.py --copy-corpus --threads 1 --out /tmp/abf
                                                    # passage + repeat documents: ~22 min on one core
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/abf_continuation.py --copy-shuffle --threads 1 --out /tmp/abf
                                                    # the passage's words shuffled first: ~25 min

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

--copy-corpus: a reason to use long context. On 0.4M tokens of natural text the tiny model
never learns to look back more than a few dozen tokens (held-out loss flat after ~30 tokens,
passkey 0% even at its trained length), so both continuations stay unigram-like and ABF has
nothing to extend. With the flag every document of the run is a passage followed by a repeat of
itself: the seed-corpus documents (tokenized with the tokenizer of step 1) are cut into
consecutive passages of S tokens, S log-uniform in [--copy-min, --copy-max] = [16, 400] (every
octave of copy distance gets the same number of documents), and each passage becomes the text
passage + passage, written as work/copy_run by benchmarks/trainer_data.make_run (26,821
documents, 5.9M tokens, median 146). Predicting the repeat rewards attending back exactly S
tokens, which small transformers learn as induction (copy) heads. Phase 1 at T = 128 can only
learn copies up to ~128 tokens back (the rows of longer passages hold no repeat in reach); the
continuations at T = 512 train on copy distances up to ~400; the held-out documents of >= 513
tokens are those with S >= 256, so every repeat token judged lies beyond the original length
(copy distance 256-400) while the passage tokens are new text (only language modelling helps).
The loss table is then followed by a second one that splits each such document into passage
(within / beyond 128) and repeat tokens, with the paired abf - no-abf difference of each: the
repeat column asks "does the model copy from beyond its original length after the
continuation, with ABF vs without". Passkey retrieval is itself a copy (" The pass key is"
recurs in the question), so a model that copies within T = 128 should retrieve there; the grid
asks whether it still does at 256 / 512. Models and results go to OUT/copy (the run and
tokenizer of OUT are shared with the default mode).

--copy-shuffle (implies --copy-corpus; run work/copy_run_shuffled, models OUT/copy_shuffled):
the same, with each passage's words put in a random order before it is repeated. Natural
passages turned out to be too predictable: after 3,000 steps the repeat of a held-out passage
was only ~0.3 nats easier than the passage itself even 20-60 tokens back (the model learns the
language and barely copies), so the long-distance question had no copying to extend. A
shuffled passage is predictable only from unigram statistics, its repeat only by copying: the
gain from an induction head is several nats per token, the signal that makes small models
learn them quickly, with the vocabulary (and the passkey prompt's words) still natural.

Sizes for both copy modes: phase 1 --steps1 3,000 (T = 128 x 16 rows: 6.1M tokens, about one
pass over the copy run) and each continuation --steps2 500 (T = 512 x 4 rows: 1.0M tokens),
chosen to fit ~25 minutes with torch on one thread of this 2-core machine (a 2,048-token step
takes 0.3-0.4 s). Measured once each (README, "Does ABF help?"): neither mode taught the model
to copy at these sizes (the repeat of a 20-60 token held-out passage is only 0.2-0.3 nats
easier than the passage; passkey 0% everywhere), so ABF's small gain on the repeat tokens is a
gain on a model that barely copies. More phase-1 steps or a smaller vocabulary are the next
knobs; the time on this machine did not allow them.

Everything is seeded (the run, the tokenizer, the configs' `seed`, the passkey keys), so a
second run prints the same losses on the same machine and thread count. Nothing here is a
pass/fail threshold: the table is what the recipe gives at this scale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/abf_continuation.py`
    sys.path.insert(0, str(REPO))

import numpy as np
import torch

from benchmarks.common import print_table
from benchmarks.trainer_data import SOURCES, make_run
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
COPY_STEPS1, COPY_STEPS2 = 3000, 500  # --copy-corpus defaults (see the docstring)


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


def copy_passages(
    text: str, offsets: list[tuple[int, int]], rng: np.random.Generator, lo: int, hi: int, shuffle: bool = False
) -> list[str]:
    """One source document cut into consecutive passages of S tokens (S log-uniform in
    [lo, hi], the last one shorter when the document ends; under 8 tokens dropped), each
    returned as passage + passage. `offsets`: the (start, end) characters of each token.
    `shuffle`: the passage's words (each with its leading white space) in a random order first,
    so that only the repeat is predictable beyond unigram statistics."""
    out, pos, n = [], 0, len(offsets)
    while n - pos >= 8:
        s = int(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))))
        end = min(n, pos + s)
        if end - pos < 8:
            break
        passage = text[offsets[pos][0] : offsets[end - 1][1]]
        if shuffle:
            words = re.findall(r"\s*\S+", passage) or [passage]
            passage = "".join(words[i] for i in rng.permutation(len(words)))
        out.append(passage + passage)
        pos = end
    return out


def build_copy_run(work: Path, tok: Path, lo: int, hi: int, seed: int, shuffle: bool = False) -> Path:
    """work/copy_run (reused when present): every seed-corpus document cut into passages of
    log-uniform [lo, hi] tokens, each document of the run one passage followed by itself, made by
    benchmarks/trainer_data.make_run from a temporary seed folder of the same file names."""
    run = work / ("copy_run_shuffled" if shuffle else "copy_run")
    if (run / "manifest.json").is_file():
        return run
    src = shared_data_dir() / "seed"
    if not src.is_dir():
        raise SystemExit(f"no seed corpora at {src} (set EDUMIX_SHARED_DATA)")
    tokenizer = TextTokenizer(tok).tok
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        for f, (_, name) in enumerate(SOURCES):
            texts = [json.loads(line)["text"] for line in (src / name).read_text().splitlines()]
            docs = []
            for i, enc in enumerate(tokenizer.encode_batch(texts, add_special_tokens=False)):
                rng = np.random.default_rng([seed, f, i])
                docs += copy_passages(texts[i], enc.offsets, rng, lo, hi, shuffle)
            (Path(tmp) / name).write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
        make_run(Path(tmp), run)
    return run


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
    out["rows"] = rows
    out["lengths"] = [len(d) for d in heldout if len(d) >= a.long + 1][:used]
    return out


def repeat_starts(rows: np.ndarray, lengths: list[int], probe: int = 16) -> np.ndarray:
    """Per row (the start of a document <|bos|> passage passage <|eos|> of lengths[r] tokens):
    the index p of the repeat's second token. The repeat starts half-way (p = (n - 2) / 2 + 2
    for a document of n tokens, +- a token where the passage's ends merge when joined), and p is
    the q within 3 tokens of that with row[q : q + probe] == row[2 : 2 + probe] (the passage's
    first token is skipped: it may merge). Searching only there keeps a passage that repeats
    itself (code, tables) from being taken for the repeat. len(row) when there is none. The copy
    distance is then p - 2 tokens."""
    out = np.full(len(rows), rows.shape[1], dtype=np.int64)
    for r, (row, n) in enumerate(zip(rows, lengths)):
        head, mid = row[2 : 2 + probe], (n - 2) // 2 + 2
        for q in sorted(range(max(3, mid - 3), min(len(row) - probe, mid + 3) + 1), key=lambda q: abs(q - mid)):
            if np.array_equal(row[q : q + probe], head):
                out[r] = q
                break
    return out


def copy_table(res: dict[str, dict], short: int) -> dict:
    """--copy-corpus: the held-out loss of the passage (new text: only language modelling helps)
    and of its repeat (copyable from the passage, which lies p - 2 > short tokens back, so only
    attention beyond the original length helps), per model; abf - no-abf paired over documents."""
    rows = res["rows"]
    starts = repeat_starts(rows, res["lengths"])
    keep = starts < rows.shape[1] - 1
    n_long, T = len(rows), rows.shape[1] - 1
    cols = np.arange(T)[None, :]  # column i predicts row[i + 1]
    repeat = (cols + 1 >= starts[:, None])[keep]
    passage = (cols + 1 < starts[:, None] - 1)[keep]
    inside, beyond = passage & (cols < short), passage & (cols >= short)
    dist = starts[keep] - 2

    def mean(L, m):  # per-document means over the masked tokens (documents with none dropped)
        return np.asarray([float(L[i][m[i]].mean()) if m[i].any() else np.nan for i in range(len(L))])

    summary, table = {"documents": int(keep.sum()), "copy_distance": [int(dist.min()), int(dist.max())]}, []
    per = {}
    for name in VARIANTS:
        L = res[name]["losses"][keep]
        per[name] = {k: mean(L, m) for k, m in (("inside", inside), ("beyond", beyond), ("repeat", repeat))}
        s = {k: float(np.nanmean(v)) for k, v in per[name].items()}
        s["repeat_token_acc_proxy"] = float(np.exp(-L[repeat]).mean())  # mean p(right token)
        summary[name] = s
        table.append(
            [
                name,
                f"{res[name]['rope_base']:,.0f}",
                f"{s['inside']:.4f}",
                f"{s['beyond']:.4f}",
                f"{s['repeat']:.4f}",
                f"{s['repeat_token_acc_proxy']:.3f}",
            ]
        )
    notes = []
    for part in ("inside", "beyond", "repeat"):
        d = per["abf"][part] - per["no-abf"][part]
        d = d[~np.isnan(d)]
        m, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
        summary[f"abf_minus_noabf_{part}"] = {"mean": m, "se": se, "documents": len(d)}
        notes.append(f"abf - no-abf, {part} (paired over {len(d)} documents): {m:+.4f} +- {se:.4f} (1 s.e.)")
    print_table(
        f"copy corpus: held-out loss of passage and repeat tokens, {int(keep.sum())} of {n_long} documents "
        f"(repeat found), first {T} tokens, copy distance {dist.min()}-{dist.max()} tokens",
        [
            "model",
            "rope_base",
            f"passage, ctx 1-{short}",
            f"passage, ctx > {short}",
            "repeat (ctx > distance)",
            "repeat: mean p(token)",
        ],
        table,
        notes,
    )
    return summary


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
    ap.add_argument("--steps1", type=int, help=f"phase-1 steps (default 200; --copy-corpus: {COPY_STEPS1})")
    ap.add_argument("--steps2", type=int, help=f"steps of each continuation (default 60; --copy-corpus: {COPY_STEPS2})")
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
    ap.add_argument(
        "--copy-corpus",
        action="store_true",
        help="train and judge on passage + repeat documents (models under OUT/copy; see above)",
    )
    ap.add_argument(
        "--copy-shuffle",
        action="store_true",
        help="--copy-corpus with each passage's words shuffled (models under OUT/copy_shuffled)",
    )
    ap.add_argument("--copy-min", type=int, default=16, help="--copy-corpus: shortest passage, tokens")
    ap.add_argument("--copy-max", type=int, default=400, help="--copy-corpus: longest passage, tokens")
    a = ap.parse_args(argv)
    a.copy_corpus = a.copy_corpus or a.copy_shuffle
    if a.steps1 is None:
        a.steps1 = COPY_STEPS1 if a.copy_corpus else 200
    if a.steps2 is None:
        a.steps2 = COPY_STEPS2 if a.copy_corpus else 60
    if a.quick:
        a.steps1, a.steps2, a.max_rows, a.trials = 40, 20, 16, 1
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    say = print
    t0 = time.perf_counter()
    run, tok = build_run(a.out, a.vocab, a.run, a.tokenizer)
    models = a.out
    if a.copy_corpus:
        run = build_copy_run(a.out, tok, a.copy_min, a.copy_max, a.seed, a.copy_shuffle)
        models = a.out / ("copy_shuffled" if a.copy_shuffle else "copy")
        models.mkdir(exist_ok=True)
    cfg_path = write_config(models / "abf.yaml", a)
    outs = train_all(models, run, tok, cfg_path, a, say)
    res = position_losses(outs, run, a, say)
    for name in VARIANTS:
        print(f"\n{name}:\n{res[name]['pos'].table()}")
    summary = loss_table(res, a.short)
    if a.copy_corpus:
        summary["copy"] = copy_table(res, a.short)
    passkey = passkey_all(outs, run, models, a, say)
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
    (models / "abf_continuation.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nwrote {models / 'abf_continuation.json'} ({doc['seconds']:.0f} s)")
    return doc


if __name__ == "__main__":
    main()
