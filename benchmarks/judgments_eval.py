"""Do the edu and quality scores follow real judgments? Cross-validated on the dev data only.

    .venv/bin/python benchmarks/judgments_eval.py [--folds 5] [--repeats 3] [--no-quantize]
                                                  [--skip-curate] [--skip-speed] [--only SECTION]

Every model here is trained through the shipped path (classifiers.fasttext_model.fit, the
rows of classifiers.training_data) on K-1 folds and scores the held-out fold; the figures are
the mean ± sd over repeats (other fold hashes). Beside each: the human ceiling (one Danish
annotator against the mean of the others) and the ratio to it.
Sections: edu (Danish Spearman vs the human mean, English Spearman vs the LLM score, with and
without the edu signals and with their weights chosen inside the folds, tier
confusion, problematic pages), quality (AUC per HPLT language, the shipped blend beside the
previous one), languages (the cross-lingual head against the judged model in languages without
judged pages: translations against their English originals, HPLT's pages), what a default `curate` drops of the
problematic Danish pages, and docs/s of the classify models on 2 kB passages (the text
statistics alone, and the stage without the edu signals, beside).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/judgments_eval.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import print_table
from edumix.classifiers import fasttext_model
from edumix.core.config import ClassifyConfig
from edumix.core.record import Document
from edumix.core.shared_data import shared_data_dir
from edumix.evaluate import judgments as J


def edu_section(args) -> None:
    ceiling, n_pages = J.human_ceiling()
    res = J.edu_cv(folds=args.folds, repeats=args.repeats, quantize=not args.no_quantize)
    rows = [
        [
            "Danish pages (people)",
            f"{res.n_danish}",
            str(res.danish),
            f"{ceiling} ({n_pages} pages)",
            f"{res.danish.mean / ceiling.mean:.2f}x",
        ],
        ["English pages (LLM)", f"{res.n_english}", str(res.english), "-", "-"],
        ["Danish, signals' weights chosen inside the folds", "", str(res.danish_nested), "", ""],
        ["English, signals' weights chosen inside the folds", "", str(res.english_nested), "", ""],
        ["Danish, without the signals (before)", "", str(res.danish_no_signals), "", ""],
        ["English, without the signals (before)", "", str(res.english_no_signals), "", ""],
        ["Danish, fastText part alone", "", str(res.danish_fasttext_only), "", ""],
        ["English, fastText part alone", "", str(res.english_fasttext_only), "", ""],
    ]
    print_table(
        f"edu_score: Spearman on held-out folds ({args.folds} folds x {args.repeats} repeats)",
        ["judged by", "pages", "edu_score vs label", "human ceiling", "ratio"],
        rows,
        [
            "human ceiling: one annotator against the mean of the others (FineWeb-C pages with 2-3 labels); "
            "the model is scored against the mean of all labels, so it can exceed it",
            "edu_score: fastText + the head's within-set offset + the signals' offsets (course material; "
            "English reading level); their two weights were chosen on these pages, so the line with the "
            "weights chosen again inside each fold is the figure to expect on unseen pages",
            f"problematic Danish pages score below the others: AUC {res.problematic_auc} "
            f"(without the signals {res.problematic_auc_no_signals})",
            f"English pages scored >= 3 (tier A): {res.english_tier_a} (by the LLM's scores: "
            f"{res.english_label_tier_a:.2f})",
        ],
    )
    confusion = [[f"label {a}", *(str(res.confusion[(a, b)]) for b in J.TIERS)] for a in J.TIERS]
    print_table("tier confusion, repeat 0 (A >= 3, B >= 2, else C)", ["", *(f"pred {t}" for t in J.TIERS)], confusion)
    misses = [[s, f"{lab:.1f}", f"{p:.2f}", " ".join(t.split())[:90]] for s, lab, p, t in res.misses]
    print_table(
        "largest misses, repeat 0 (furthest below, then above, the label)", ["set", "label", "score", "text"], misses
    )


def quality_section(args) -> None:
    res = J.quality_cv(folds=args.folds, repeats=args.repeats, quantize=not args.no_quantize)

    def delta(new, old) -> str:
        return f"{new.mean - old.mean:+.3f}"

    rows = [["all (pooled)", str(sum(res.low_by_language.values())), str(res.pooled), str(res.previous)]]
    rows[0].append(delta(res.pooled, res.previous))
    for lang, s in sorted(res.by_language.items()):
        old = res.previous_by_language[lang]
        rows.append([lang, str(res.low_by_language[lang]), str(s), str(old), delta(s, old)])
    print_table(
        "quality_score: AUC of low (porn/unnatural) vs the rest on held-out folds, HPLT v2 "
        f"({args.folds} folds x {args.repeats} repeats, dev data)",
        ["language", "low pages", "shipped: head reads embedding + stats", "previous: embedding alone", "change"],
        rows,
        [
            f"macro over languages: shipped {res.macro():.3f}, previous {res.macro(previous=True):.3f}",
            "quality_score: the mean of fastText's and the head's P(high); the head reads the static embedding "
            "and the text statistics (previous: the embedding alone)",
            f"its parts, pooled: fastText alone {res.fasttext_only}, the head alone {res.head_only} "
            f"(previous head alone {res.previous_head_only})",
            f"Danish problematic pages (never trained on) score low: AUC {res.danish_problematic_auc:.3f} "
            f"(previous {res.previous_danish_problematic_auc:.3f})",
        ],
    )


def languages_section() -> None:
    from edumix.evaluate.languages import crosslingual_cv, level_shift_cv

    def f(x: float, pct: bool = False) -> str:
        return "-" if x != x else f"{x:.0%}" if pct else f"{x:.2f}"

    res = crosslingual_cv()
    rows = [
        [
            r.lang,
            str(r.documents or "-"),
            f"{f(r.gap_before)} -> {f(r.gap_after)}",
            f"{r.natural} / {r.low}" if r.natural else "-",
            f"{f(r.auc_before)} -> {f(r.auc_after)}",
            f"{f(r.tier_a_before, True)} -> {f(r.tier_a_after, True)}",
            f(r.tier_a_low_after, True),
        ]
        for r in res
    ]
    other = [r for r in res if r.lang not in ("en", "da")]
    gap = [r for r in other if r.documents]
    hplt = [r for r in other if r.low]
    shift = level_shift_cv()
    print_table(
        "edu score in languages without judged pages: the judged model -> the cross-lingual head, held out",
        [
            "language",
            "documents",
            "|English - translation|",
            "HPLT natural / low",
            "AUC natural > low",
            "tier A natural",
            "tier A low",
        ],
        rows,
        [
            "5 folds of the head's teaching rows (a translated document, an HPLT page never on both sides); "
            "HPLT's natural pages are never taught; English and Danish keep the judged model (their rows: reference)",
            f"mean over languages: |English - translation| {sum(r.gap_before for r in gap) / len(gap):.2f} -> "
            f"{sum(r.gap_after for r in gap) / len(gap):.2f} points ({len(gap)} languages); AUC natural > low "
            f"{sum(r.auc_before for r in hplt) / len(hplt):.3f} -> {sum(r.auc_after for r in hplt) / len(hplt):.3f} "
            f"({len(hplt)} languages)",
            f"not shipped: a per-language shift of the judged model calibrated on the translations closes the gap "
            f"on documents left out ({shift.before:.2f} -> {shift.after:.2f} points, {shift.n_languages} languages) "
            "but lifts a language's pages together; HPLT pages in tier A with it, natural / low: "
            + ", ".join(
                f"{k} {f(v, True)} / {f(shift.tier_a_low.get(k, float('nan')), True)}"
                for k, v in shift.tier_a_natural.items()
            ),
        ],
    )


def curate_section() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rates = J.curate_drop_rates(Path(tmp))
    rows = [[g, f"{d} / {n}", f"{d / n:.0%}"] for g, (d, n) in rates.items()]
    print_table("a default `edumix curate` of the Danish dev pages: dropped", ["pages", "dropped", "share"], rows)


def speed_section(n_docs: int, repeat: int) -> None:
    from benchmarks.common import best_of_interleaved
    from edumix.classifiers.judge import Judge
    from edumix.classifiers.text_stats import text_stats

    texts = []
    for path in sorted((shared_data_dir() / "seed").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    texts = [t[:2000] for t in texts if len(t) >= 2000]
    texts = (texts * (n_docs // max(1, len(texts)) + 1))[:n_docs]
    docs = [Document(str(i), None, None, "x", i, "jsonl", t, "en") for i, t in enumerate(texts)]
    judge = Judge(ClassifyConfig())
    # the stage as it was before the edu signals (every passage here is "en": the reading level
    # is computed for all of them, its worst case)
    previous = Judge(ClassifyConfig())
    previous._edu.signals = None
    model = judge._quality.model
    batch = 256  # the classify stage's batch

    def batched(fn):
        return lambda: [fn(docs[i : i + batch], texts[i : i + batch]) for i in range(0, len(docs), batch)]

    # interleaved rounds: load from other processes hits every path alike
    base, stats, full, old = best_of_interleaved(
        repeat,
        batched(lambda d, t: fasttext_model.predict_proba(model, t, ("low", "high"))),
        batched(lambda d, t: text_stats(t)),
        batched(lambda d, t: judge(d)),
        batched(lambda d, t: previous(d)),
    )
    n = len(texts)
    print_table(
        f"speed, one thread, {n} passages of 2,000 characters, batches of {batch}",
        ["path", "docs/s", "us/doc", "ratio"],
        [
            ["quality model alone (baseline)", f"{n / base:,.0f}", f"{base / n * 1e6:.0f}", "1.00x"],
            ["text statistics alone", f"{n / stats:,.0f}", f"{stats / n * 1e6:.0f}", f"{base / stats:.2f}x"],
            [
                "classify: quality + edu + domain + decisions",
                f"{n / full:,.0f}",
                f"{full / n * 1e6:.0f}",
                f"{base / full:.2f}x",
            ],
            [
                "classify without the edu signals (before)",
                f"{n / old:,.0f}",
                f"{old / n * 1e6:.0f}",
                f"{base / old:.2f}x",
            ],
        ],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=J.FOLDS)
    ap.add_argument("--repeats", type=int, default=J.REPEATS)
    ap.add_argument("--no-quantize", action="store_true", help="faster: full-size models in the folds")
    ap.add_argument("--skip-curate", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--only", choices=("edu", "quality", "languages", "curate", "speed"), help="run one section")
    args = ap.parse_args(argv)
    print(f"shared data: {shared_data_dir()}")
    if args.only in (None, "edu"):
        edu_section(args)
    if args.only in (None, "quality"):
        quality_section(args)
    if args.only in (None, "languages"):
        languages_section()
    if args.only == "curate" or (args.only is None and not args.skip_curate):
        curate_section()
    if args.only == "speed" or (args.only is None and not args.skip_speed):
        speed_section(args.docs, 3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
