"""Do the edu and quality scores follow real judgments? Cross-validated on the dev data only.

    .venv/bin/python benchmarks/judgments_eval.py [--folds 5] [--repeats 3] [--no-quantize]
                                                  [--skip-curate] [--skip-speed]

Every model here is trained through the shipped path (classifiers.fasttext_model.fit, the
rows of classifiers.training_data) on K-1 folds and scores the held-out fold; the figures are
the mean ± sd over repeats (other fold hashes). Beside each: the human ceiling (one Danish
annotator against the mean of the others) and the ratio to it.
Sections: edu (Danish Spearman vs the human mean, English Spearman vs the LLM score, tier
confusion, problematic pages), quality (AUC per HPLT language), what a default `curate` drops
of the problematic Danish pages, and docs/s of the classify models on 2 kB passages.
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

from benchmarks.common import best_of, print_table
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
            f"problematic Danish pages score below the others: AUC {res.problematic_auc}",
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
    rows = [["all", str(sum(res.low_by_language.values())), str(res.pooled)]]
    rows += [[lang, str(res.low_by_language[lang]), str(s)] for lang, s in sorted(res.by_language.items())]
    macro = sum(s.mean for s in res.by_language.values()) / len(res.by_language)
    print_table(
        "quality_score (fastText + static head): AUC of low (porn/unnatural) vs the rest on held-out folds, HPLT v2",
        ["language", "low pages", "AUC"],
        rows,
        [
            f"macro over languages {macro:.3f}",
            f"its parts, pooled: fastText alone {res.fasttext_only}, static-embedding head alone {res.head_only}",
            f"Danish problematic pages (never trained on) score low: AUC {res.danish_problematic_auc:.3f}",
        ],
    )


def curate_section() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rates = J.curate_drop_rates(Path(tmp))
    rows = [[g, f"{d} / {n}", f"{d / n:.0%}"] for g, (d, n) in rates.items()]
    print_table("a default `edumix curate` of the Danish dev pages: dropped", ["pages", "dropped", "share"], rows)


def speed_section(n_docs: int, repeat: int) -> None:
    from edumix.classifiers.judge import Judge

    texts = []
    for path in sorted((shared_data_dir() / "seed").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    texts = [t[:2000] for t in texts if len(t) >= 2000]
    texts = (texts * (n_docs // max(1, len(texts)) + 1))[:n_docs]
    docs = [Document(str(i), None, None, "x", i, "jsonl", t, "en") for i, t in enumerate(texts)]
    judge = Judge(ClassifyConfig())
    model = judge._quality.model
    base, _ = best_of(repeat, lambda: fasttext_model.predict_proba(model, texts, ("low", "high")))
    full, _ = best_of(repeat, lambda: judge(docs))
    print_table(
        f"speed, one thread, {len(texts)} passages of 2,000 characters",
        ["path", "docs/s", "ratio"],
        [
            ["quality model alone (baseline)", f"{len(texts) / base:,.0f}", "1.00x"],
            ["classify: quality + edu + domain + decisions", f"{len(texts) / full:,.0f}", f"{base / full:.2f}x"],
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
    args = ap.parse_args(argv)
    print(f"shared data: {shared_data_dir()}")
    edu_section(args)
    quality_section(args)
    if not args.skip_curate:
        curate_section()
    if not args.skip_speed:
        speed_section(args.docs, 3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
