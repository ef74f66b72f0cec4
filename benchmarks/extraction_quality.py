"""Main-text extraction quality on trafilatura's multilingual evaluation set: one table row
per extractor setting (recall, leak, empty, err, docs/s, and their ratios to trafilatura
decoding the raw bytes itself), then the non-UTF-8 pages, edumix's decoding against
trafilatura's.

The data, the metrics, the snippet matching and the fixed sample are described, and the
scoring code lives, in ``edumix/evaluate/extraction.py`` (tests/test_extraction_quality.py
pins the edumix default's numbers with the same code).

    .venv/bin/python benchmarks/extraction_quality.py              # 250 pages
    .venv/bin/python benchmarks/extraction_quality.py --all        # all 990 pages
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/extraction_quality.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import ratio
from edumix.evaluate.extraction import (
    BASELINE,
    DEFAULT_SAMPLE,
    DEFAULT_SEED,
    DecodingRow,
    Scores,
    compare_decoding,
    default_root,
    load_sample,
    score,
    settings,
)


def format_table(results: Sequence[Scores], baseline: Scores) -> str:
    head = (
        f"{'setting':<27} {'recall':>7} {'leak':>7} {'empty':>5} {'err':>4} {'docs/s':>7}"
        f" | {'recall/b':>8} {'leak/b':>8} {'speed/b':>8}"
    )
    lines = [head, "-" * len(head)]
    for s in results:
        lines.append(
            f"{s.name:<27} {s.recall:7.2%} {s.leakage:7.2%} {s.empty:5d} {s.errors:4d} {s.docs_per_s:7.1f}"
            f" | {ratio(s.recall, baseline.recall):>8} {ratio(s.leakage, baseline.leakage):>8}"
            f" {ratio(s.docs_per_s, baseline.docs_per_s):>8}"
        )
    return "\n".join(lines)


def format_decoding(rows: Sequence[DecodingRow]) -> str:
    ours = sum(r.ours_found for r in rows)
    theirs = sum(r.theirs_found for r in rows)
    total = sum(len(r.page.with_) for r in rows)
    lines = [
        f"non-UTF-8 pages: {len(rows)}; must-include found: edumix {ours}/{total}, "
        f"trafilatura own decoding {theirs}/{total}; pages listed where the codec, the snippets "
        f"found or the extracted text differ"
    ]
    for r in rows:
        if r.ours != r.theirs or r.ours_found != r.theirs_found or not r.same_text:
            flag = "WORSE" if r.ours_found < r.theirs_found else ("better" if r.ours_found > r.theirs_found else "same")
            lines.append(
                f"  {flag:<6} {r.page.file[:55]:<55} edumix {r.ours:<12} {r.ours_found}/{len(r.page.with_)}"
                f"   trafilatura {r.theirs:<12} {r.theirs_found}/{len(r.page.with_)}"
                f"   {'same text' if r.same_text else 'TEXT DIFFERS'}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=None, help="trafilatura_eval dir (default: $EDUMIX_SHARED_DATA/...)")
    ap.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="pages in the fixed sample (default 250)")
    ap.add_argument("--all", action="store_true", help="score all pages")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sample seed (default 0)")
    args = ap.parse_args(argv)

    root = args.root or default_root()
    if not (root / "evaldata.json").exists():
        print(f"evaluation data not found: {root} (set EDUMIX_SHARED_DATA or --root)", file=sys.stderr)
        return 2
    pages = load_sample(root, None if args.all else args.sample, args.seed)
    n_with = sum(len(p.with_) for p in pages)
    n_without = sum(len(p.without) for p in pages)
    print(
        f"{len(pages)} pages ({'all' if args.all else f'sample, seed {args.seed}'}), "
        f"{n_with} must-include / {n_without} must-exclude snippets; baseline: {BASELINE}"
    )

    results = []
    for name, fn in settings().items():
        fn(pages[0].body, pages[0].url)  # warm-up (lazy imports, caches), not timed
        results.append(score(fn, pages, name))
        print(f"  ... {name}: {results[-1].seconds:.1f}s", file=sys.stderr)
    baseline = next(s for s in results if s.name == BASELINE)
    print(format_table(results, baseline))
    print()
    print(format_decoding(compare_decoding(pages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
