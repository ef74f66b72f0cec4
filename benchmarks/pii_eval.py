"""PII scrubbing: span-level quality on presidio's synthetic eval set, and throughput.

    .venv/bin/python benchmarks/pii_eval.py                  # both tables, ~1-2 min on 2 cores
    .venv/bin/python benchmarks/pii_eval.py --skip-throughput --errors 20
    .venv/bin/python benchmarks/pii_eval.py --ner            # + NER mode (needs a spaCy model)

Data (read from ``$EDUMIX_SHARED_DATA``, default ``<repo>/../shared/data``; never copied):

* ``pii/presidio_synth_dev.json`` - 754 synthetic sentences from presidio-research, each with
  gold spans. Its entity names are presidio's for the six types scored here (EMAIL_ADDRESS,
  PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, IP_ADDRESS, US_SSN); with ``--ner`` PERSON is scored
  as PERSON and the data's GPE as presidio's LOCATION. Types no configured recognizer looks
  for (STREET_ADDRESS, ORGANIZATION, DATE_TIME, TITLE, AGE, NRP, DOMAIN_NAME, ZIP_CODE,
  US_DRIVER_LICENSE) are not scored; predictions of them do not exist.
* ``seed/*.jsonl`` - 3,444 real passages (edu, math, code, general, multilingual, low
  quality; 500-5,000 chars): the "most documents have no PII" workload.
* the demo crawl (``edumix.demo.write_demo_crawl``, ``--demo-pages``), its HTML responses
  extracted in-process by ``filters.extract.Extractor``: web pages, a few full of
  (fictional) personal data.

Table 1, per entity type: precision / recall / F1 of the predicted spans against the gold
spans, exact (same type, start and end) and overlap (same type, intersecting: a prediction
is correct if it overlaps a gold span, a gold span is found if a prediction overlaps it),
for ``edumix`` (``PiiScrubber.find``: the default PiiConfig, guards, overlap resolution,
pre-screen) and ``presidio`` (presidio's stock pattern recognizers for the same entities
on the same offline NLP engine: no guards, no pre-screen, presidio's default threshold).

Table 2, per workload: documents per second of
``presidio`` (``AnalyzerEngine.analyze`` of the stock analyzer on every full document, the
baseline), ``edumix, no prescreen`` (``PiiScrubber.find(prescreen=False)``) and ``edumix``
(``PiiScrubber.scrub``: pre-screen, presidio on the windows, guards, replacement), the
``ratio`` to the baseline, the share of characters presidio was given, and on the eval set
the overlap recall (all six types together) of each row. It also checks that ``find``
returns the same spans with and without the pre-screen on every document of every workload.
Times: best of ``--repeat`` passes, time.perf_counter. The loader, the span scoring and the
workloads live in ``edumix/evaluate/pii.py`` (tests/test_pii.py holds the same scores to floors).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/pii_eval.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import best_of
from edumix.core.config import PiiConfig
from edumix.core.shared_data import shared_data_dir
from edumix.evaluate.pii import (
    Counts,
    Span,
    _overlaps,
    as_spans,
    demo_texts,
    load_eval,
    overlap_recall,
    score,
    seed_texts,
)
from edumix.filters.pii import (
    NER_INSTALL_HINT,
    NER_MODELS,
    PiiScrubber,
    build_stock_analyzer,
    resolve_ner_model,
)


def print_quality(systems: dict[str, dict[str, Counts]], entities: Sequence[str]) -> None:
    names = list(systems)
    head = f"{'entity':<14} {'gold':>5} | " + " | ".join(
        f"{n + ' pred':>14} {'P exact':>7} {'R exact':>7} {'F1 exact':>8} {'P ovl':>6} {'R ovl':>6} {'F1 ovl':>6}"
        for n in names
    )
    print(head)
    print("-" * len(head))
    for e in [*entities, "ALL"]:
        cells = []
        for n in names:
            c = systems[n][e]
            pe, re_, fe = c.prf(True)
            po, ro, fo = c.prf(False)
            cells.append(f"{c.pred:>14} {pe:>7.3f} {re_:>7.3f} {fe:>8.3f} {po:>6.3f} {ro:>6.3f} {fo:>6.3f}")
        gold = systems[names[0]][e].gold
        print(f"{e:<14} {gold:>5} | " + " | ".join(cells))


def print_errors(texts, golds, preds, entities, limit: int, label: str) -> None:
    print(f"\n{label}: first {limit} false positives / false negatives (overlap matching)")
    fps, fns = [], []
    for text, gold, pred in zip(texts, golds, preds, strict=True):
        for p in pred:
            if p[0] in entities and not any(_overlaps(p, g) for g in gold):
                others = [g[0] for g in gold if g[1] < p[2] and p[1] < g[2]]
                fps.append(f"  FP {p[0]:<13} {text[p[1] : p[2]]!r}  gold there: {others or '-'}")
        for g in gold:
            if g[0] in entities and not any(_overlaps(g, p) for p in pred):
                fns.append(f"  FN {g[0]:<13} {text[g[1] : g[2]]!r}  in ...{text[max(0, g[1] - 40) : g[2] + 10]!r}")
    for line in fps[:limit] + fns[:limit]:
        print(line)


def throughput(
    name: str, texts: list[str], scrubber: PiiScrubber, stock, entities, repeat: int, golds: list[set[Span]] | None
) -> bool:
    n, chars = len(texts), sum(len(t) for t in texts)
    ent = list(entities)

    def run_stock():
        return [as_spans(stock.analyze(t, language="en", entities=ent)) for t in texts]

    def run_full():
        return [as_spans(scrubber.find(t, prescreen=False)) for t in texts]

    def run_stage():
        return [scrubber.scrub(t) for t in texts]

    t_stock, p_stock = best_of(repeat, run_stock)
    t_full, p_full = best_of(repeat, run_full)
    t_stage, _ = best_of(repeat, run_stage)
    p_stage = [as_spans(scrubber.find(t)) for t in texts]
    screened = sum(sum(e - s for s, e in scrubber.segments(t)) for t in texts)
    docs_analyzed = sum(bool(scrubber.segments(t)) for t in texts)
    same = p_stage == p_full

    rows = [
        ("presidio (every doc)", t_stock, p_stock, chars),
        ("edumix, no prescreen", t_full, p_full, chars),
        ("edumix (stage)", t_stage, p_stage, screened),
    ]
    print(
        f"\n[{name}] {n} docs, {chars / max(n, 1):,.0f} chars/doc; pre-screen sends {docs_analyzed} docs "
        f"({docs_analyzed / max(n, 1):.1%}) and {screened / max(chars, 1):.1%} of the characters to presidio"
    )
    print(
        f"  {'system':<22} {'docs/s':>9} {'ratio':>7} {'chars analysed':>15}"
        + ("  recall (overlap, six)" if golds else "")
    )
    for label, t, preds, analysed in rows:
        line = f"  {label:<22} {n / t:>9,.0f} {t_stock / t:>6.2f}x {analysed / max(chars, 1):>14.1%}"
        if golds:
            line += f"  {overlap_recall(preds, golds, entities):>8.3f}"
        print(line)
    print(f"  find() with pre-screen == without on every document: {'yes' if same else 'NO'}")
    if not same:
        for t, a, b in zip(texts, p_stage, p_full, strict=True):
            if a != b:
                print(f"    differs: only with={sorted(a - b)} only without={sorted(b - a)} in {t[:80]!r}")
                break
    return same


def guard_table(texts: list[str], scrubber: PiiScrubber) -> None:
    """What the anchors and guards removed from presidio's detections (edumix recognizers,
    threshold applied) on real passages, by reason, with an example of each."""
    reasons: Counter = Counter()
    example: dict[str, str] = {}
    kept: Counter = Counter()
    for text in texts:
        for r, reason in scrubber.explain(text):
            if reason is None:
                kept[r.entity_type] += 1
                continue
            key = f"{r.entity_type}/{reason}"
            reasons[key] += 1
            example.setdefault(key, text[r.start : r.end])
    print(f"\nTable 3: detections removed on the seed passages (anchors + guards), by reason; kept: {dict(kept)}")
    for key, n in reasons.most_common():
        print(f"  {key:<32} {n:>5}  e.g. {example[key]!r}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=None, help="presidio_synth_dev.json (default: shared data)")
    ap.add_argument("--repeat", type=int, default=2, help="timing passes per row (best is kept)")
    ap.add_argument("--seed-docs", type=int, default=0, help="use only the first N seed passages (0: all)")
    ap.add_argument("--demo-pages", type=int, default=120, help="demo crawl pages (0: skip)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--errors", type=int, default=0, help="print N false positives/negatives per system")
    ap.add_argument("--ner", action="store_true", help=f"also score NER mode (needs one of {NER_MODELS})")
    args = ap.parse_args(argv)

    root = shared_data_dir()
    data = args.data or root / "pii" / "presidio_synth_dev.json"
    if not data.exists():
        print(f"eval data not found: {data} (set EDUMIX_SHARED_DATA)")
        return 2
    rows = load_eval(data)
    texts = [t for t, _ in rows]
    golds = [g for _, g in rows]
    gold_types = Counter(s[0] for g in golds for s in g)
    print(f"eval set: {data} ({len(rows)} sentences; gold spans by type: {dict(gold_types.most_common())})")

    cfg = PiiConfig()
    t0 = time.perf_counter()
    scrubber = PiiScrubber(cfg)
    stock = build_stock_analyzer(cfg.entities)
    print(
        f"analyzers built offline in {time.perf_counter() - t0:.1f}s; edumix config: entities={list(cfg.entities)} "
        f"threshold={cfg.score_threshold} prescreen={cfg.prescreen}"
    )

    entities = list(cfg.entities)
    p_edumix = [as_spans(scrubber.find(t)) for t in texts]
    p_stock = [as_spans(stock.analyze(t, language="en", entities=entities)) for t in texts]
    print("\nTable 1: span-level quality on the eval set (P/R/F1; exact span and overlapping span)\n")
    print_quality({"edumix": score(p_edumix, golds, entities), "presidio": score(p_stock, golds, entities)}, entities)
    lost = sum(
        1
        for gold, ours, theirs in zip(golds, p_edumix, p_stock, strict=True)
        for g in gold
        if g[0] in entities and any(_overlaps(g, p) for p in theirs) and not any(_overlaps(g, p) for p in ours)
    )
    print(f"\ngold spans presidio finds (overlap) that edumix misses, document by document: {lost}")
    if args.errors:
        print_errors(texts, golds, p_edumix, entities, args.errors, "edumix")
        print_errors(texts, golds, p_stock, entities, args.errors, "presidio")

    if args.ner:
        model = resolve_ner_model(cfg)
        if model is None:
            print(f"\nNER mode skipped: no spaCy model {NER_MODELS} installed ({NER_INSTALL_HINT})")
        else:
            ner_cfg = PiiConfig(entities=(*cfg.entities, "PERSON", "LOCATION"), ner=True, ner_model=model)
            ner = PiiScrubber(ner_cfg)
            ents = list(ner_cfg.entities)
            t_ner, p_ner = best_of(1, lambda: [as_spans(ner.find(t)) for t in texts])
            print(
                f"\nNER mode ({model}): {len(texts) / t_ner:,.0f} docs/s on the eval set "
                f"(pre-screen off: NER needs the whole text)\n"
            )
            print_quality({"edumix+NER": score(p_ner, golds, ents)}, ents)
            if args.errors:
                print_errors(texts, golds, p_ner, ["PERSON", "LOCATION"], args.errors, "edumix+NER")

    if args.skip_throughput:
        return 0
    print(f"\nTable 2: throughput (docs/s, best of {args.repeat}), ratio = docs/s / presidio's docs/s")
    ok = throughput("eval sentences", texts, scrubber, stock, entities, args.repeat, golds)
    seed = seed_texts(root, args.seed_docs or None)
    if seed:
        ok &= throughput("seed passages (real text, little PII)", seed, scrubber, stock, entities, args.repeat, None)
        guard_table(seed, scrubber)
    else:
        print(f"note: no seed passages under {root}/seed; skipping that workload")
    demo = demo_texts(args.demo_pages)
    if demo:
        ok &= throughput(
            f"demo crawl ({args.demo_pages} pages, extracted)", demo, scrubber, stock, entities, args.repeat, None
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
