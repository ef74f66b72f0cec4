"""Why the trainer pre-tokenizes: streaming (Parquet read + BPE on every step) vs the
memory-mapped token store's packed loader, tokens/s, in one run.

    .venv/bin/python benchmarks/trainer_data.py            # the shared seed corpora (~6.5 M chars)

Input: the source-labelled seed passages under $EDUMIX_SHARED_DATA/seed (default
../shared/data), written as one shard of a run directory in a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from edumix.core.shared_data import shared_data_dir
from edumix.trainer.data import PackedLoader, TokenStore, ensure_tokenized, heldout_masks
from edumix.trainer.tokenizer import TextTokenizer, train_tokenizer

SOURCES = [
    ("general", "general.jsonl"),
    ("general", "edu_high.jsonl"),
    ("math", "math.jsonl"),
    ("code", "code.jsonl"),
    ("multilingual", "multilingual.jsonl"),
]


def make_run(seed: Path, run: Path) -> tuple[Path, int, int]:
    rows = []
    for domain, name in SOURCES:
        for i, line in enumerate((seed / name).read_text().splitlines()):
            rows.append({"id": f"{name}-{i}", "text": json.loads(line)["text"], "domain": domain, "edu_tier": "A"})
    (run / "shards").mkdir(parents=True)
    shard = run / "shards" / "part-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), shard)
    entry = {
        "path": "shards/part-00000-of-00001.parquet",
        "rows": len(rows),
        "bytes": shard.stat().st_size,
        "sha256": hashlib.sha256(shard.read_bytes()).hexdigest(),
    }
    (run / "manifest.json").write_text(
        json.dumps({"config_hash": "bench", "input_fingerprint": "bench", "shards": [entry]})
    )
    return shard, len(rows), sum(len(r["text"]) for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--steps", type=int, default=50)
    args = ap.parse_args(argv)
    seed = shared_data_dir() / "seed"
    if not seed.is_dir():
        raise SystemExit(f"no seed corpora at {seed} (set EDUMIX_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shard, docs, chars = make_run(seed, tmp / "run")
        t = time.perf_counter()
        tok = TextTokenizer(train_tokenizer(tmp / "run", args.vocab_size, tmp / "tokenizer.json", progress=False))
        train_s = time.perf_counter() - t

        t, n = time.perf_counter(), 0
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=1024, columns=["text"]):
            n += sum(len(ids) for ids in tok.encode_batch(batch.column(0).to_pylist()))
        stream_tps = n / (time.perf_counter() - t)

        t = time.perf_counter()
        store = TokenStore(ensure_tokenized(tmp / "run", 1, tok, progress=False))
        tokenize_s = time.perf_counter() - t
        loader = PackedLoader(store, args.seq_len, seed=0, heldout=heldout_masks(store, 0.02))
        t = time.perf_counter()
        for _ in range(args.steps):
            loader.next_batch(args.rows)
        memmap_tps = args.steps * args.rows * args.seq_len / (time.perf_counter() - t)

    print(
        f"{docs:,} documents, {chars / 1e6:.1f} M characters; tokenizer ({args.vocab_size:,}) trained in "
        f"{train_s:.1f} s; `edumix tokenize` once: {tokenize_s:.2f} s"
    )
    print()
    print("| loader | tokens/s | ratio vs streaming |")
    print("|---|---:|---:|")
    print(f"| streaming: Parquet read + BPE (baseline) | {stream_tps:,.0f} | 1.00x |")
    print(f"| memmap token store, packed rows of {args.seq_len} | {memmap_tps:,.0f} | {memmap_tps / stream_tps:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
