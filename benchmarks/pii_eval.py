"""PII scrubbing: span-level quality on presidio's synthetic eval set, and throughput.

    .venv/bin/python benchmarks/pii_eval.py                  # every table, ~6 min on 2 cores
    .venv/bin/python benchmarks/pii_eval.py --skip-throughput --errors 20
    .venv/bin/python benchmarks/pii_eval.py --skip-phones --workloads demo   # speed on the demo crawl
    .venv/bin/python benchmarks/pii_eval.py --skip-throughput --phone-regions all
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
* the generated phone sets (``edumix.evaluate.phones``, built in ~1 s from the seed passages):
  libphonenumber's example numbers of every region and number type, redrawn, in E164 /
  INTERNATIONAL / NATIONAL (+ NATIONAL_REGROUPED), with no cue, a cue before or after, inside
  real prose; and 16 kinds of numbers that are not phone numbers, plus the seed code and math
  passages (the false-positive set).

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
the overlap recall (all six types together) of each row. ``edumix (stage, cold)`` empties the
phone detector's verdict cache before each pass (every number seen for the first time; the
other rows run after a pass that filled it). It also checks that ``find`` returns the same
spans with and without the pre-screen on every document of every workload. Times: best of
``--repeat`` passes, time.perf_counter. The loader, the span scoring and the workloads live in
``edumix/evaluate/pii.py`` (tests/test_pii.py holds the same scores to floors).

Tables 4-7, the generated phone sets, for ``edumix`` (``PiiScrubber.find``) and ``presidio``
(the stock analyzer, every recognizer of the six types, on the whole row): recall (a
PHONE_NUMBER prediction overlaps the number) of the rows in scope - every '+' number, and
NATIONAL numbers of at least 6 digits that are cued or of a region in ``pii.phone_regions``
(by calling code) - by format and cue side, by calling-code zone and format, and of the rows
out of scope; the regions whose in-scope recall is below 0.95; PHONE_NUMBER detections (all
false) on the false-positive set by kind; docs/s on both sets (one pass, time.perf_counter).
``edumix.evaluate.phones`` holds the generator and the scoring (tests/test_phones.py holds a
sample to floors).
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

import phonenumbers

from benchmarks.common import best_of, print_table, ratio
from edumix.core.config import PiiConfig
from edumix.core.shared_data import shared_data_dir
from edumix.evaluate.phones import (
    FORMATS,
    PHONE,
    Hit,
    PhoneRow,
    calling_codes,
    every_kth_number,
    generate,
    phone_fp_counts,
    rates,
    scope,
    score_row,
    seed_code_math,
    zone,
)
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
from edumix.filters.pii.recognizers import LibPhoneRecognizer


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
    t_cold, _ = best_of(repeat, run_stage, setup=lambda: clear_phone_caches(scrubber))
    p_stage = [as_spans(scrubber.find(t)) for t in texts]
    screened = sum(sum(e - s for s, e in scrubber.segments(t)) for t in texts)
    docs_analyzed = sum(bool(scrubber.segments(t)) for t in texts)
    same = p_stage == p_full

    rows = [
        ("presidio (every doc)", t_stock, p_stock, chars),
        ("edumix, no prescreen", t_full, p_full, chars),
        ("edumix (stage)", t_stage, p_stage, screened),
        ("edumix (stage, cold)", t_cold, p_stage, screened),
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


def clear_phone_caches(scrubber: PiiScrubber) -> None:
    """Forget every phone verdict, so the next pass sees each number for the first time."""
    for r in scrubber.analyzer.registry.recognizers:
        if isinstance(r, LibPhoneRecognizer):
            r.detector.index.clear_cache()


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


def _timed(fn, items) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = [fn(x) for x in items]
    return time.perf_counter() - t0, out


def _overall(rows: Sequence[PhoneRow], hits: Sequence[Hit], metric: str = "found") -> str:
    return f"{rates(rows, hits, lambda r: 'ALL', metric)['ALL'][1]:.3f}"


def _grouped(rows: Sequence[PhoneRow], hits: dict[str, list[Hit]], key) -> list[tuple]:
    """(group, n, recall of each system) for each value of key(row), then ALL."""
    by = {n: rates(rows, h, key) for n, h in hits.items()}
    groups = next(iter(by.values()))
    out = [(g, k, *(f"{b[g][1]:.3f}" for b in by.values())) for g, (k, _) in groups.items()]
    return [*out, ("ALL", len(rows), *(_overall(rows, h) for h in hits.values()))]


def phone_tables(scrubber: PiiScrubber, stock, entities: Sequence[str], step: int, errors: int) -> None:
    """Tables 4-7: the generated phone set and the false-positive set, edumix against presidio."""
    t0 = time.perf_counter()
    sets = generate()
    rows = every_kth_number(sets.phones, step)
    fp_docs = [(r.kind, r.text) for r in sets.fps] + seed_code_math()
    listed = calling_codes(scrubber.cfg.phone_regions)
    numbers = len({r.id.split("/")[0] for r in rows})
    print(
        f"\ngenerated phone set (seed 0, phonenumbers {phonenumbers.__version__}, built in "
        f"{time.perf_counter() - t0:.1f}s): {len(rows)} rows, {numbers} numbers, {len({r.region for r in rows})} "
        f"regions{f' (every {step}th number)' if step > 1 else ''}; false-positive set: {len(fp_docs)} documents; "
        f"edumix with pii.phone_regions of {len(scrubber.cfg.phone_regions)} regions"
    )
    ent = list(entities)
    finders = {
        "edumix": lambda t: as_spans(scrubber.find(t)),
        "presidio": lambda t: as_spans(stock.analyze(t, language="en", entities=ent)),
    }
    hits: dict[str, list[Hit]] = {}
    fps: dict[str, dict[str, int]] = {}
    speed: dict[str, tuple[float, float]] = {}
    for name, find in finders.items():
        t_gen, preds = _timed(find, [r.text for r in rows])
        hits[name] = [score_row(r, p) for r, p in zip(rows, preds, strict=True)]
        t_fp, fp_preds = _timed(find, [t for _, t in fp_docs])
        fps[name] = phone_fp_counts(zip((k for k, _ in fp_docs), fp_preds, strict=True), lambda p: p)
        speed[name] = (len(rows) / t_gen, len(fp_docs) / t_fp)
    names = list(finders)
    inside = [i for i, r in enumerate(rows) if scope(r, listed) == "in"]
    srows = [rows[i] for i in inside]
    shits = {n: [h[i] for i in inside] for n, h in hits.items()}

    print_table(
        "Table 4: generated phone set, in scope: recall by format and cue side",
        ["format/cue", "n", *names],
        _grouped(srows, shits, lambda r: f"{r.format}/{r.cue}"),
        [
            "in scope: every '+' number (E164, INTERNATIONAL); NATIONAL with >= 6 digits, cued or of a listed region",
            "recall: a PHONE_NUMBER prediction overlaps the number. Same span: "
            + " / ".join(f"{n} {_overall(srows, shits[n], 'exact')}" for n in names)
            + "; every digit covered by a prediction of any type: "
            + " / ".join(f"{n} {_overall(srows, shits[n], 'digits')}" for n in names),
            "PHONE_NUMBER predictions on these rows overlapping no number (false positives in the host prose): "
            + " / ".join(f"{n} {sum(h.stray for h in hits[n])}" for n in names),
        ],
    )
    formats = list(FORMATS)
    cells = rates(srows, shits["edumix"], lambda r: f"{zone(r)}/{r.format}")
    cells |= {f"ALL/{f}": v for f, v in rates(srows, shits["edumix"], lambda r: r.format).items()}
    by_zone = [
        (g, n, *(f"{cells[f'{g}/{f}'][1]:.3f}" if f"{g}/{f}" in cells else "-" for f in formats), *rest)
        for g, n, *rest in _grouped(srows, shits, zone)
    ]
    notes = []
    for n in names:
        by_region = rates(srows, shits[n], lambda r: r.region)
        low = sorted((x, g) for g, (_, x) in by_region.items() if x < 0.95)
        shown = ", ".join(f"{g} {x:.2f}" for x, g in low[:25]) + (" ..." if len(low) > 25 else "")
        notes.append(f"{n}: {len(by_region) - len(low)}/{len(by_region)} regions >= 0.95; below: {shown or 'none'}")
    print_table(
        "Table 5: generated phone set, in scope: recall by calling-code zone and format",
        ["zone", "n", *(f"edumix {f}" for f in formats), *(f"{n} all" for n in names)],
        by_zone,
        notes,
    )
    outside = [i for i, r in enumerate(rows) if scope(r, listed) != "in"]
    print_table(
        "Table 6: generated phone set, out of scope (reported, not targeted): recall",
        ["rows", "n", *names],
        _grouped(
            [rows[i] for i in outside],
            {n: [h[i] for i in outside] for n, h in hits.items()},
            lambda r: scope(r, listed),
        ),
    )
    kinds = list(dict.fromkeys(k for k, _ in fp_docs))
    ndocs = Counter(k for k, _ in fp_docs)
    print_table(
        "Table 7: false-positive set: PHONE_NUMBER detections (every one false)",
        ["kind", "docs", *names],
        [(k, ndocs[k], *(fps[n].get(k, 0) for n in names)) for k in kinds]
        + [("ALL", len(fp_docs), *(sum(fps[n].values()) for n in names))],
        [
            "docs/s on the generated set / the false-positive set (one pass each): "
            + "; ".join(f"{n} {speed[n][0]:,.0f} / {speed[n][1]:,.0f}" for n in names)
            + f"; ratio {ratio(speed['edumix'][0], speed['presidio'][0])} / "
            f"{ratio(speed['edumix'][1], speed['presidio'][1])}"
        ],
    )
    if errors:
        misses = [r for r, h in zip(srows, shits["edumix"], strict=True) if not h.found]
        print(f"\nedumix: first {errors} in-scope misses (of {len(misses)})")
        for r in misses[:errors]:
            print(f"  {r.region} {r.format}/{r.cue}: ...{r.text[max(0, r.start - 40) : r.end + 25]!r}")
        found = [(k, t, a, b) for k, t in fp_docs for e, a, b in sorted(as_spans(scrubber.find(t))) if e == PHONE]
        print(f"\nedumix: first {errors} detections on the false-positive set (of {len(found)})")
        for kind, text, a, b in found[:errors]:
            print(f"  {kind}: ...{text[max(0, a - 30) : b + 15]!r}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=None, help="presidio_synth_dev.json (default: shared data)")
    ap.add_argument("--repeat", type=int, default=2, help="timing passes per row (best is kept)")
    ap.add_argument("--seed-docs", type=int, default=0, help="use only the first N seed passages (0: all)")
    ap.add_argument("--demo-pages", type=int, default=120, help="demo crawl pages (0: skip)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument(
        "--workloads", default="eval,seed,demo", help="throughput workloads, comma-separated: eval, seed, demo"
    )
    ap.add_argument("--skip-phones", action="store_true", help="skip the generated phone sets (Tables 4-7)")
    ap.add_argument("--phone-step", type=int, default=1, help="only every k-th generated number (quick runs)")
    ap.add_argument(
        "--phone-regions",
        default="",
        help="pii.phone_regions for edumix: comma-separated codes, or 'all' (default: config's)",
    )
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
    if args.phone_regions:
        codes = sorted(phonenumbers.SUPPORTED_REGIONS) if args.phone_regions == "all" else args.phone_regions.split(",")
        cfg = PiiConfig(phone_regions=tuple(codes))
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

    ok = True
    if not args.skip_throughput:
        ok = throughput_tables(args, root, texts, golds, scrubber, stock, entities)
    if not args.skip_phones:
        phone_tables(scrubber, stock, entities, args.phone_step, args.errors)
    return 0 if ok else 1


def throughput_tables(args, root: Path, texts, golds, scrubber: PiiScrubber, stock, entities) -> bool:
    """Tables 2 and 3 on the workloads named by --workloads; False if the pre-screen changed a result."""
    workloads = set(args.workloads.split(","))
    print(f"\nTable 2: throughput (docs/s, best of {args.repeat}), ratio = docs/s / presidio's docs/s")
    ok = True
    if "eval" in workloads:
        ok &= throughput("eval sentences", texts, scrubber, stock, entities, args.repeat, golds)
    seed = seed_texts(root, args.seed_docs or None) if "seed" in workloads else []
    if seed:
        ok &= throughput("seed passages (real text, little PII)", seed, scrubber, stock, entities, args.repeat, None)
        guard_table(seed, scrubber)
    elif "seed" in workloads:
        print(f"note: no seed passages under {root}/seed; skipping that workload")
    demo = demo_texts(args.demo_pages) if "demo" in workloads else []
    if demo:
        ok &= throughput(
            f"demo crawl ({args.demo_pages} pages, extracted)", demo, scrubber, stock, entities, args.repeat, None
        )
    return ok


if __name__ == "__main__":
    sys.exit(main())
