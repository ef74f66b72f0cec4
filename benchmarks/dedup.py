"""Near-duplicate detection speed: MinHash signatures, ours against datasketch's own loops.

    .venv/bin/python benchmarks/dedup.py                       # 1000 docs, ~1 min on 2 cores
    .venv/bin/python benchmarks/dedup.py --docs 300 --repeat 1
    .venv/bin/python benchmarks/dedup.py --source synthetic    # generated near-dup corpus

Workload (`--source`): ``seed`` = real text from ``$EDUMIX_SHARED_DATA/seed/*.jsonl``
(default ``<repo>/../shared/data``; field ``text``; a fixed, evenly spread sample of
``--docs`` passages over all six files: English prose, code, maths, 30 languages incl.
CJK); ``synthetic`` = documents of ``tests/neardup_corpus.make_corpus`` (ASCII, 300-800
words). ``auto`` (default) = seed when present, else synthetic.

Table 1, signatures. Every row computes the same 112-permutation (14 x 8) MinHash of
5-gram shingles, datasketch's ``affine64`` scheme, seed 1, for every document:

1. **baseline**: datasketch ``MinHash.update()`` once per shingle, default sha1 hashfunc,
   shingle = the n-gram's words joined by a space, UTF-8 encoded;
2. datasketch ``update()`` per shingle with our ``shingle_hash`` as hashfunc (must be
   identical to 5);
3. datasketch ``update_batch()`` once per document (sha1, as 1);
4. datasketch ``MinHash.bulk()`` over all documents (sha1, as 1);
5. ``filters.minhash.MinHasher.signatures`` (all documents in one call);
6. ``MinHasher.signature`` called once per document (what a per-element Beam DoFn does).

Two columns: "from text" times text -> signature, normalisation included (the same
``filters.textnorm.words`` in every row: ~half of row 5's time on real text);
"from words" starts from the pre-tokenised word lists (shingling, hashing, permutations
and minimum only). ``ratio = docs/s of the row / docs/s of the baseline``, above 1 is
faster. Times are the best of ``--repeat`` runs (time.perf_counter, one thread); our
word-hash cache is emptied before each run, so rows 5-6 include its cold start. Nothing
here is a pass/fail threshold: compare rows of one run, on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO, REPO / "tests"):  # allow `python benchmarks/dedup.py`; tests/ for the corpus
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import numpy as np  # noqa: E402
from datasketch import MinHash  # noqa: E402

from edumix.config import MinHashConfig  # noqa: E402
from filters import minhash as mh  # noqa: E402
from filters.textnorm import words  # noqa: E402


def shared_data() -> Path:
    return Path(os.environ.get("EDUMIX_SHARED_DATA", REPO.parent / "shared" / "data"))


# --------------------------------------------------------------------------- workloads


def load_docs(source: str, n_docs: int) -> tuple[list[str], str]:
    """(texts, description) for `--source`."""
    seed_files = sorted((shared_data() / "seed").glob("*.jsonl"))
    if source == "seed" or (source == "auto" and seed_files):
        if not seed_files:
            raise SystemExit(f"no seed corpora under {shared_data()}/seed (set EDUMIX_SHARED_DATA)")
        pool = [json.loads(line)["text"] for p in seed_files for line in p.open(encoding="utf-8")]
        idx = np.linspace(0, len(pool) - 1, num=min(n_docs, len(pool))).astype(int)
        texts = [pool[i] for i in idx]
        texts = (texts * (n_docs // len(texts) + 1))[:n_docs]  # repeat if more asked than exist
        return texts, f"seed corpora ({len(seed_files)} files)"
    from neardup_corpus import make_corpus

    corpus = make_corpus(n_sources=max(1, -(-n_docs // 14)), seed=0)
    return [t for _, t in corpus.docs][:n_docs], "synthetic near-dup corpus"


# --------------------------------------------------------------------------- signatures


def _shingle_tuples(ws: list[str], n: int) -> list[tuple[str, ...]]:
    if len(ws) < n:
        return [tuple(ws)] if ws else []
    return [tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)]


def _encoded(ws: list[str], n: int) -> list[bytes]:
    return [" ".join(t).encode("utf-8") for t in _shingle_tuples(ws, n)]


def _best(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeat):
        mh._WORD_HASHES.clear()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_signatures(texts: Sequence[str], cfg: MinHashConfig, repeat: int = 3) -> dict:
    """Table 1: signature docs/s of each method, from text and from words; prints it."""
    n, ng, P = len(texts), cfg.ngram, cfg.num_perm
    hasher = mh.MinHasher.from_config(cfg)
    kw = dict(num_perm=P, seed=cfg.seed, scheme=mh.SCHEME)

    def stack(ms) -> np.ndarray:  # list of MinHash -> (n, P) uint64
        return np.array([m.hashvalues for m in ms], dtype=np.uint64).reshape(-1, P)

    def ds_update(hashfunc=None, tuples=False):
        def run(word_lists):
            out = []
            for ws in word_lists:
                m = MinHash(hashfunc=hashfunc, **kw) if hashfunc else MinHash(**kw)
                for sh in _shingle_tuples(ws, ng) if tuples else _encoded(ws, ng):
                    m.update(sh)
                out.append(m)
            return stack(out)

        return run

    def ds_update_batch(word_lists):
        out = []
        for ws in word_lists:
            m = MinHash(**kw)
            m.update_batch(_encoded(ws, ng))
            out.append(m)
        return stack(out)

    def ds_bulk(word_lists):
        return stack(MinHash.bulk([_encoded(ws, ng) for ws in word_lists], **kw))

    def ours_batch(word_lists):
        return hasher._signatures(*mh._batch_shingle_hashes(word_lists, ng))

    def ours_per_doc(word_lists):
        return np.stack([hasher._signature_of_words(ws) for ws in word_lists])  # = signature(text)

    methods = [
        ("(1) datasketch update() per shingle, sha1  [baseline]", ds_update()),
        ("(2) datasketch update() per shingle, our hashfunc", ds_update(mh.shingle_hash, tuples=True)),
        ("(3) datasketch update_batch() per doc, sha1", ds_update_batch),
        ("(4) datasketch MinHash.bulk(), sha1", ds_bulk),
        ("(5) MinHasher.signatures (one batch)", ours_batch),
        ("(6) MinHasher.signature per doc", ours_per_doc),
    ]
    word_lists = [words(t) for t in texts]
    n_shingles = sum(len(_shingle_tuples(ws, ng)) for ws in word_lists)
    results = {}
    for name, fn in methods:
        t_text, sig_text = _best(lambda fn=fn: fn([words(t) for t in texts]), repeat)
        t_words, sig_words = _best(lambda fn=fn: fn(word_lists), repeat)
        assert np.array_equal(sig_text, sig_words)
        results[name] = (n / t_text, n / t_words, sig_words)

    base_text, base_words, base_sig = results[methods[0][0]]
    print(
        f"\nMinHash signatures: {n} docs, {sum(map(len, texts)) / n:,.0f} chars and "
        f"{n_shingles / n:,.0f} shingles per doc; {P} perms ({cfg.bands} x {cfg.rows}), "
        f"{ng}-grams, scheme {mh.SCHEME}; best of {repeat}"
    )
    head = f"{'method':<56} {'from text':>10} {'ratio':>7}   {'from words':>10} {'ratio':>7}"
    print(head + "\n" + f"{'':<56} {'docs/s':>10} {'':>7}   {'docs/s':>10}\n" + "-" * len(head))
    for name, (dps_text, dps_words, _) in results.items():
        print(f"{name:<56} {dps_text:>10,.0f} {dps_text / base_text:>6.1f}x   {dps_words:>10,.0f} {dps_words / base_words:>6.1f}x")
    sig = {name[:3]: s for name, (_, _, s) in results.items()}
    same_ours = np.array_equal(sig["(2)"], sig["(5)"]) and np.array_equal(sig["(5)"], sig["(6)"])
    same_ds = all(np.array_equal(base_sig, sig[k]) for k in ("(3)", "(4)"))
    rows_equal = int((sig["(2)"] == sig["(5)"]).all(axis=1).sum())
    print(f"identical signatures (2) == (5) == (6): {same_ours} ({rows_equal}/{n} docs)")
    print(f"identical signatures (1) == (3) == (4) (datasketch APIs, sha1): {same_ds}")
    return {"docs": n, "identical": same_ours, "results": {k: v[:2] for k, v in results.items()}}


# --------------------------------------------------------------------------- whole stage
#
# PLACE FOR THE PIPELINE BENCHMARK (owned by the dedup-stage engineer, not written here):
# "whole dedup stage docs/s on the local runner; peak memory" - a `bench_dedup_stage(texts,
# cfg, repeat)` that runs pipelines.dedup on the same `texts`, prints its own table with a
# baseline measured in the same run, and is called from main() below.


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1000, help="documents to sign (default 1000)")
    ap.add_argument("--source", choices=("auto", "seed", "synthetic"), default="auto")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per row; the best is kept")
    args = ap.parse_args(argv)
    cfg = MinHashConfig()
    texts, what = load_docs(args.source, args.docs)
    print(f"workload: {len(texts)} documents from {what}")
    bench_signatures(texts, cfg, repeat=args.repeat)
    # bench_dedup_stage(texts, cfg, repeat=args.repeat)  <- see "PLACE FOR THE PIPELINE BENCHMARK"


if __name__ == "__main__":
    main()
