"""Near-duplicate detection speed: MinHash signatures, ours against datasketch's own loops;
the whole dedup stage on the local Beam runner, with peak memory.

    .venv/bin/python benchmarks/dedup.py                       # ~2 min on 2 cores
    .venv/bin/python benchmarks/dedup.py --docs 300 --repeat 1 --stage-docs 500
    .venv/bin/python benchmarks/dedup.py --skip-stage          # Table 1 only (~35 s)
    .venv/bin/python benchmarks/dedup.py --source synthetic    # generated near-dup corpus

Workload (`--source`): ``seed`` = real text from ``$EDUMIX_SHARED_DATA/seed/*.jsonl``
(default ``<repo>/../shared/data``; field ``text``; a fixed, evenly spread sample of
``--docs`` passages over all six files: English prose, code, maths, 30 languages incl.
CJK); ``synthetic`` = documents of ``edumix.evaluate.neardup.make_corpus`` (ASCII, 300-800
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
word-hash cache is emptied before each run, so rows 5-6 include its cold start.

Table 2, dedup stages (``pipelines.dedup``; skip with ``--skip-stage``). Workload:
``--stage-docs`` documents (default 2000) made by ``stage_workload`` from a second
``--source`` sample: originals with URLs on 40 sites and crawl dates, a site footer on
every 3rd (boilerplate for line dedup), a near-duplicate copy (~2% of words dropped or
replaced) of every 4th (1 in 5 of them a recrawl at another spelling of the original's
URL), an exact copy on another site of every 10th; shuffled. Every row gets these same
documents, each row in a fresh child process (this script, hidden ``--child ROW``):

1. **baseline**: ``MinHasher.signatures`` of all texts in one call, no Beam (the floor);
2. ``beam.Pipeline("FnApiRunner")``: ``Create`` + count only (Beam's own overhead);
3-6. ``UrlDedup``, ``ExactDedup``, ``MinHashDedup``, ``LineDedup`` alone, default configs;
7. all four chained as ``pipelines.registry.enabled_stages`` (and so ``pipelines.curate``) chain them.

Every Beam row ends in the same small sink (count kept, drops per reason, summed stats).
Seconds = whole ``with Pipeline`` block (graph build + run), best of ``--stage-repeat``
(default ``--repeat``). Memory, per child: RSS after imports, what loading the input
added, and ``ru_maxrss`` after the first run (peak). The chained run's drops per reason
and stats are printed below the table. Nothing here is a pass/fail threshold: compare
rows of one run, on one machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import pickle
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/dedup.py`
    sys.path.insert(0, str(REPO))

import numpy as np
from datasketch import MinHash

from benchmarks.common import best_of
from edumix.core.config import MinHashConfig
from edumix.core.hashing import content_digest, make_doc_id
from edumix.core.record import Document
from edumix.core.shared_data import shared_data_dir
from edumix.filters import minhash as mh
from edumix.filters.textnorm import words

# --------------------------------------------------------------------------- workloads


def load_docs(source: str, n_docs: int) -> tuple[list[str], str]:
    """(texts, description) for `--source`."""
    seed_files = sorted((shared_data_dir() / "seed").glob("*.jsonl"))
    if source == "seed" or (source == "auto" and seed_files):
        if not seed_files:
            raise SystemExit(f"no seed corpora under {shared_data_dir()}/seed (set EDUMIX_SHARED_DATA)")
        pool = [json.loads(line)["text"] for p in seed_files for line in p.open(encoding="utf-8")]
        idx = np.linspace(0, len(pool) - 1, num=min(n_docs, len(pool))).astype(int)
        texts = [pool[i] for i in idx]
        texts = (texts * (n_docs // len(texts) + 1))[:n_docs]  # repeat if more asked than exist
        return texts, f"seed corpora ({len(seed_files)} files)"
    from edumix.evaluate.neardup import make_corpus

    corpus = make_corpus(n_sources=max(1, -(-n_docs // 14)), seed=0)
    return [t for _, t in corpus.docs][:n_docs], "synthetic near-dup corpus"


# --------------------------------------------------------------------------- signatures


def _shingle_tuples(ws: list[str], n: int) -> list[tuple[str, ...]]:
    if len(ws) < n:
        return [tuple(ws)] if ws else []
    return [tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)]


def _encoded(ws: list[str], n: int) -> list[bytes]:
    return [" ".join(t).encode("utf-8") for t in _shingle_tuples(ws, n)]


def bench_signatures(texts: Sequence[str], cfg: MinHashConfig, repeat: int = 3) -> dict:
    """Table 1: signature docs/s of each method, from text and from words; prints it."""
    n, ng, P = len(texts), cfg.ngram, cfg.num_perm
    hasher = mh.MinHasher.from_config(cfg)
    kw = {"num_perm": P, "seed": cfg.seed, "scheme": mh.SCHEME}

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
        t_text, sig_text = best_of(repeat, lambda fn=fn: fn([words(t) for t in texts]), setup=mh._WORD_HASHES.clear)
        t_words, sig_words = best_of(repeat, lambda fn=fn: fn(word_lists), setup=mh._WORD_HASHES.clear)
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
        print(
            f"{name:<56} {dps_text:>10,.0f} {dps_text / base_text:>6.1f}x   "
            f"{dps_words:>10,.0f} {dps_words / base_words:>6.1f}x"
        )
    sig = {name[:3]: s for name, (_, _, s) in results.items()}
    same_ours = np.array_equal(sig["(2)"], sig["(5)"]) and np.array_equal(sig["(5)"], sig["(6)"])
    same_ds = all(np.array_equal(base_sig, sig[k]) for k in ("(3)", "(4)"))
    rows_equal = int((sig["(2)"] == sig["(5)"]).all(axis=1).sum())
    print(f"identical signatures (2) == (5) == (6): {same_ours} ({rows_equal}/{n} docs)")
    print(f"identical signatures (1) == (3) == (4) (datasketch APIs, sha1): {same_ds}")
    return {"docs": n, "identical": same_ours, "results": {k: v[:2] for k, v in results.items()}}


# --------------------------------------------------------------------------- whole stage
#
# Table 2: pipelines.dedup on the local runner. Every row runs in a fresh child process
# (this script with the hidden `--child ROW`), on the same pickled documents, so that
# ru_maxrss is that row's own peak and no row inherits another's caches or heap.

STAGE_ROWS = {  # row -> label, in table order; the first row is the baseline
    "signatures": "signatures only, no Beam  [baseline]",
    "create": "Beam: Create + count, no stage",
    "url": "UrlDedup('latest')",
    "exact": "ExactDedup()",
    "minhash": "MinHashDedup(MinHashConfig())",
    "lines": "LineDedup(LineDedupConfig())",
    "all": "all four chained (registry order)",
}
_COPIES_PER_ORIGINAL = 1 + 1 / 4 + 1 / 10  # original, 1/4 near-dup copies, 1/10 exact copies
_SITES = [f"site{k:02d}.example.{('org', 'com', 'net', 'edu')[k % 4]}" for k in range(40)]
_FOOTER = "\n\n© 2024 {site}. All rights reserved.\nPrivacy Policy | Terms of Use | Contact us"


def stage_originals(n_docs: int) -> int:
    """How many source texts `stage_workload` needs to make `n_docs` documents."""
    return math.ceil(n_docs / _COPIES_PER_ORIGINAL) + 1


def _date(rng: random.Random, year: int) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"


def _mutate(text: str, rng: random.Random, frac: float = 0.02) -> str:
    """Drop or replace ~2% of the words (at least one), keeping the line structure."""
    parts = re.split(r"(\s+)", text)  # words at even indices, whitespace at odd ones
    idx = [i for i in range(0, len(parts), 2) if parts[i]]
    if not idx:
        return text + " edited"
    vocab = [parts[i] for i in idx]
    for i in rng.sample(idx, max(1, round(frac * len(idx)))):
        parts[i] = "" if rng.random() < 0.5 else rng.choice(vocab)
    return "".join(parts)


def _url_variant(url: str, rng: random.Random) -> str:
    """Another spelling of the same page (canonical_url merges them)."""
    return rng.choice(
        [
            url.replace("https://", "http://", 1),
            url + "?utm_source=newsletter&utm_medium=email",
            url + "/",
            url + "#comments",
        ]
    )


def stage_workload(texts: Sequence[str], n_docs: int, seed: int = 0):
    """`n_docs` Documents built on `texts` (originals, in order) -> (docs, planted counts).

    Per original i: URL https://<one of 40 sites>/articles/i, a 2023 crawl date; every
    3rd gets its site's two-line footer (boilerplate for LineDedup); every 4th gets a
    near-duplicate copy (~2% of its words dropped or replaced, 2024 crawl): one in five of
    those is a recrawl at another spelling of the original's URL (a URL duplicate), the
    rest sit on mirror sites; every 10th gets an exact copy on another site. Shuffled.
    Ids are edumix.core.hashing.make_doc_id(url, sha256(text)), as the readers make them.
    """
    rng = random.Random(seed)
    specs: list[tuple[str, str, str, str]] = []  # (kind, url, date, text)
    for i, text in enumerate(texts):
        if len(specs) >= n_docs:
            break
        site = _SITES[i % len(_SITES)]
        if i % 3 == 0:
            text = text.rstrip() + _FOOTER.format(site=site)
        url = f"https://{site}/articles/{i:06d}"
        specs.append(("original", url, _date(rng, 2023), text))
        if i % 4 == 1:
            recrawl = rng.random() < 0.2
            copy_url = _url_variant(url, rng) if recrawl else f"https://mirror{i % 7}.example.net/copy/{i:06d}"
            specs.append(("recrawl" if recrawl else "near-dup", copy_url, _date(rng, 2024), _mutate(text, rng)))
        if i % 10 == 3:
            other = _SITES[(i + 17) % len(_SITES)]
            specs.append(("exact copy", f"https://{other}/syndicated/{i:06d}", _date(rng, 2023), text))
    specs = specs[:n_docs]
    rng.shuffle(specs)
    docs, offset = [], 0
    for k, (_, url, date, text) in enumerate(specs):
        data = text.encode("utf-8")
        docs.append(
            Document(
                id=make_doc_id(url, content_digest(data)),
                url=url,
                crawl_date=date,
                source_file=f"crawl-{k // 1000:05d}.warc.gz",
                source_offset=offset,
                source_format="warc",
                text=text,
            )
        )
        offset = 0 if (k + 1) % 1000 == 0 else offset + len(data) + 700  # + WARC/HTTP headers
    planted = {kind: sum(s[0] == kind for s in specs) for kind in ("original", "near-dup", "recrawl", "exact copy")}
    planted["with footer"] = sum("All rights reserved.\nPrivacy Policy" in s[3] for s in specs)
    return docs, planted


def _maxrss_mib() -> float:
    """Peak resident set of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mib() -> float:
    """Current resident set, MiB (VmRSS; the peak where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _maxrss_mib()


def _save_outcome(_, path, kept, drops, stats) -> None:
    Path(path).write_text(json.dumps({"kept": kept, "drops": dict(drops), "stats": dict(stats)}))


def _run_beam(docs: list, io_dir: Path, build) -> dict:
    """One pipeline on FnApiRunner: Create(docs) | build | count kept, drops per reason,
    summed stats (the same small sink in every row). Returns that outcome."""
    import apache_beam as beam
    from apache_beam.pvalue import AsList, AsSingleton

    out_path = io_dir / f"outcome-{os.getpid()}.json"
    with beam.Pipeline("FnApiRunner") as p:
        kept, drops, stats = build(p | "Docs" >> beam.Create(docs))
        n_kept = kept | "CountKept" >> beam.combiners.Count.Globally()
        drop_counts = (
            (drops or [p | "NoDrops" >> beam.Create([])])
            | "AllDrops" >> beam.Flatten()
            | "DropKey" >> beam.Map(lambda d: (f"{d.stage}/{d.reason}", 1))
            | "CountDrops" >> beam.CombinePerKey(sum)
        )
        stat_sums = (
            (stats or [p | "NoStats" >> beam.Create([])])
            | "AllStats" >> beam.Flatten()
            | "StatKey" >> beam.MapTuple(lambda key, value: ("/".join(key), value))
            | "SumStats" >> beam.CombinePerKey(sum)
        )
        _ = (
            p
            | "Once" >> beam.Create([None])
            | "Save"
            >> beam.Map(
                _save_outcome,
                str(out_path),
                kept=AsSingleton(n_kept),
                drops=AsList(drop_counts),
                stats=AsList(stat_sums),
            )
        )
    return json.loads(out_path.read_text())


def _stage_builder(row: str, cfg: MinHashConfig):
    """PCollection of Documents -> (kept docs, [drop PCollections], [stats PCollections])."""
    from edumix.core import stages as S
    from edumix.core.config import DedupConfig, LineDedupConfig, RunConfig
    from edumix.pipelines.dedup import ExactDedup, LineDedup, MinHashDedup, UrlDedup
    from edumix.pipelines.registry import enabled_stages
    from edumix.pipelines.stage import DROPPED, STATS

    dedups = {S.URL_DEDUP, S.EXACT_DEDUP, S.MINHASH_DEDUP, S.LINE_DEDUP}

    stages = {
        "create": [],
        "url": [("url_dedup", UrlDedup("latest"))],
        "exact": [("exact_dedup", ExactDedup())],
        "minhash": [("minhash_dedup", MinHashDedup(cfg))],
        "lines": [("line_dedup", LineDedup(LineDedupConfig()))],
        "all": list(enabled_stages(RunConfig(dedup=DedupConfig(minhash=cfg)), only=dedups)),
    }[row]

    def build(docs):
        drops, stats = [], []
        for name, transform in stages:  # chained as pipelines.curate chains them
            result = docs | name >> transform
            drops.append(result[DROPPED])
            stats.append(result[STATS])
            docs = result["docs"]
        return docs, drops, stats

    return build


def _stage_child(row: str, io_dir: str, repeat: int) -> None:
    """One row of Table 2, in a fresh process: writes result-ROW.json into io_dir."""
    import apache_beam  # noqa: F401 - imported before the baseline RSS, like the stages

    import edumix.pipelines.dedup  # noqa: F401

    gc.collect()
    rss_imports = _rss_mib()
    io = Path(io_dir)
    with open(io / "input.pkl", "rb") as fh:
        docs, cfg = pickle.load(fh)
    rss_input = _rss_mib()
    if row == "signatures":
        hasher = mh.MinHasher.from_config(cfg)

        def run() -> dict:
            sigs = hasher.signatures([d.text for d in docs])
            return {"kept": len(sigs), "drops": {}, "stats": {}}
    else:
        build = _stage_builder(row, cfg)

        def run() -> dict:
            return _run_beam(docs, io, build)

    best, outcome, peak = float("inf"), None, None
    for _ in range(repeat):
        mh._WORD_HASHES.clear()  # cold word-hash cache in every run, as in Table 1
        gc.collect()
        t0 = time.perf_counter()
        outcome = run()
        best = min(best, time.perf_counter() - t0)
        peak = peak or _maxrss_mib()  # the first run's peak: later runs add heap reuse, not work
    result = {"seconds": best, "rss_imports": rss_imports, "rss_input": rss_input, "peak": peak, **outcome}
    (io / f"result-{row}.json").write_text(json.dumps(result))


def bench_dedup_stage(texts: Sequence[str], cfg: MinHashConfig, repeat: int = 1, n_docs: int | None = None) -> dict:
    """Table 2: docs/s and peak memory of the dedup stages on the local runner; prints it.

    The workload is `stage_workload(texts, n_docs)`: `texts` as originals plus planted
    near-duplicate, exact and URL copies. Each row runs in its own child process."""
    docs, planted = stage_workload(texts, n_docs or round(len(texts) * _COPIES_PER_ORIGINAL))
    n = len(docs)
    print(
        f"\nDedup stages on the local runner: {n} docs ({planted['original']} originals, "
        f"{planted['near-dup']} near-dup copies on mirrors, {planted['recrawl']} near-dup recrawls at "
        f"the original's URL, {planted['exact copy']} exact copies; {planted['with footer']} with a "
        f"site footer), {sum(len(d.text) for d in docs) / n:,.0f} chars per doc; best of {repeat}"
    )
    print(
        "Beam rows: beam.Pipeline('FnApiRunner') (in-process, 1 worker), Create(docs) | stage(s) |"
        " count kept/drops/stats, graph build included.\nEach row in a fresh process: imports = its RSS"
        " after imports (numpy, beam, pipelines.dedup); +docs = RSS added by loading the input docs;"
        "\npeak = ru_maxrss after its first run; peak-imp = peak - imports (the row's own memory, input docs included)."
    )
    head = (
        f"{'row':<40} {'docs':>6} {'kept':>6} {'seconds':>8} {'docs/s':>9} {'ratio':>8}"
        f"   {'imports':>7} {'+docs':>6} {'peak':>7} {'peak-imp':>8}"
    )
    print(
        head + "\n" + f"{'':<40} {'':>6} {'':>6} {'':>8} {'':>9} {'':>8}   {'MiB':>7} {'MiB':>6} {'MiB':>7} {'MiB':>8}"
    )
    print("-" * len(head), flush=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="edumix-bench-dedup-") as tmp:
        with open(Path(tmp) / "input.pkl", "wb") as fh:
            pickle.dump((docs, cfg), fh, protocol=pickle.HIGHEST_PROTOCOL)
        for row, label in STAGE_ROWS.items():
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", row, "--child-dir", tmp]
            proc = subprocess.run([*cmd, "--repeat", str(repeat)], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"row {row!r} failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
            r = results[row] = json.loads((Path(tmp) / f"result-{row}.json").read_text())
            dps = n / r["seconds"]
            ratio = dps / (n / results["signatures"]["seconds"])
            print(
                f"{label:<40} {n:>6} {r['kept']:>6} {r['seconds']:>8.2f} {dps:>9,.0f} {ratio:>7.3f}x"
                f"   {r['rss_imports']:>7.0f} {r['rss_input'] - r['rss_imports']:>+6.0f} {r['peak']:>7.0f}"
                f" {r['peak'] - r['rss_imports']:>+8.0f}",
                flush=True,
            )
    print("ratio = docs/s of the row / docs/s of the baseline (above 1 is faster); kept = docs out")
    chained = results["all"]
    print(f"\nchained run: {n} docs in, {chained['kept']} kept, {sum(chained['drops'].values())} dropped")
    for reason, count in sorted(chained["drops"].items()):
        print(f"  dropped {reason:<44} {count:>8}")
    skip = ("minhash_dedup/s_curve", "minhash_dedup/lsh_threshold", "minhash_dedup/cluster_size/")
    sizes = {k.rsplit("/", 1)[1]: v for k, v in chained["stats"].items() if k.startswith(skip[2])}
    for key, value in sorted(chained["stats"].items()):
        if not key.startswith(skip):
            print(f"  stat    {key:<44} {value:>8,.6g}")
    if sizes:
        order = sorted(sizes, key=lambda s: int(s.split("-")[0]))
        print(f"  stat    {'minhash_dedup/cluster_size (count)':<44} " + ", ".join(f"{s}: {sizes[s]:g}" for s in order))
    accounted = chained["kept"] + sum(chained["drops"].values()) == n
    print(f"accounting (kept + dropped == docs in): {accounted}")
    return {"docs": n, "planted": planted, "results": results}


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1000, help="documents to sign (default 1000)")
    ap.add_argument("--source", choices=("auto", "seed", "synthetic"), default="auto")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per row; the best is kept")
    ap.add_argument("--stage-docs", type=int, default=2000, help="documents for the stage table (default 2000)")
    ap.add_argument("--stage-repeat", type=int, help="timed runs per stage row (default: --repeat)")
    ap.add_argument("--skip-stage", action="store_true", help="skip the dedup-stage table")
    ap.add_argument("--child", choices=tuple(STAGE_ROWS), help=argparse.SUPPRESS)  # one stage row
    ap.add_argument("--child-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _stage_child(args.child, args.child_dir, args.repeat)
        return
    cfg = MinHashConfig()
    texts, what = load_docs(args.source, args.docs)
    print(f"workload: {len(texts)} documents from {what}")
    bench_signatures(texts, cfg, repeat=args.repeat)
    if not args.skip_stage:
        stage_texts, _ = load_docs(args.source, stage_originals(args.stage_docs))
        bench_dedup_stage(stage_texts, cfg, repeat=args.stage_repeat or args.repeat, n_docs=args.stage_docs)


if __name__ == "__main__":
    main()
