"""Classifier throughput: each shipped fasttext model alone, all three, and the `classify`
stage on the local Beam runner, as docs/s and ratios against the quality model's bare
predict() measured in the same run (the baseline).

    .venv/bin/python benchmarks/classify.py [--docs 2000] [--repeat 3]

Documents: real passages from $EDUMIX_SHARED_DATA/seed/*.jsonl (default ../shared/data),
cycled to --docs.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/classify.py`
    sys.path.insert(0, str(REPO))

import apache_beam as beam

from benchmarks.common import best_of
from edumix.classifiers.models import DomainClassifier, EduClassifier, QualityClassifier
from edumix.classifiers.text_stats import text_stats
from edumix.core.config import ClassifyConfig
from edumix.core.record import Document
from edumix.core.shared_data import shared_data_dir
from edumix.pipelines.classify import Classify


def load_texts(n: int) -> list[str]:
    texts = []
    for path in sorted((shared_data_dir() / "seed").glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh if line.strip()]
    if not texts:
        raise SystemExit(f"no seed passages under {shared_data_dir() / 'seed'}")
    return list(itertools.islice(itertools.cycle(texts), n))


def run_stage(docs: list[Document]) -> None:
    with beam.Pipeline("FnApiRunner") as p:
        out = p | beam.Create(docs) | Classify(ClassifyConfig())
        _ = out["docs"] | "Count" >> beam.combiners.Count.Globally()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256, help="texts per predict() call")
    args = ap.parse_args(argv)

    texts = load_texts(args.docs)
    models = {"quality": QualityClassifier.load(), "edu": EduClassifier.load(), "domain": DomainClassifier.load()}

    def predict(model) -> None:
        for i in range(0, len(texts), args.batch):
            model.predict(texts[i : i + args.batch])

    def stats(texts) -> None:
        for i in range(0, len(texts), args.batch):
            text_stats(texts[i : i + args.batch])

    rows = [(f"{name}.predict (bare)", best_of(args.repeat, lambda m=m: predict(m))[0]) for name, m in models.items()]
    rows.append(("all three (bare)", best_of(args.repeat, lambda: [predict(m) for m in models.values()])[0]))
    rows.append(("text statistics (the heads' 20 columns)", best_of(args.repeat, lambda: stats(texts))[0]))
    docs = [
        Document(
            id=hashlib.sha256(f"{i}".encode()).hexdigest()[:32],
            url=None,
            crawl_date=None,
            source_file="seed",
            source_offset=i,
            source_format="jsonl",
            text=t,
            lang="en",
        )
        for i, t in enumerate(texts)
    ]
    rows.append(("classify stage, FnApiRunner (incl. start-up)", best_of(args.repeat, lambda: run_stage(docs))[0]))

    base = len(texts) / rows[0][1]
    print(
        f"{len(texts)} documents ({sum(map(len, texts)) // len(texts):,} chars each on average), best of {args.repeat}"
    )
    print(f"{'variant':<46} {'seconds':>8} {'docs/s':>9} {'ratio':>7}")
    for name, secs in rows:
        rate = len(texts) / secs
        print(f"{name:<46} {secs:>8.2f} {rate:>9,.0f} {rate / base:>6.2f}x")
    print("ratio = docs/s / the quality model's bare docs/s (the baseline, first row)")


if __name__ == "__main__":
    main()
