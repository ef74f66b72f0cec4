"""Does the edu score mean the same in every language? Measured where there is no judged page.

translation_gaps()   the seed's documents that exist in English and in translation
                     (`training_data.read_parallel_seed`): per language, the English
                     passages' mean score minus the translated passages' mean, per document
crosslingual_cv()    per language, the judged model against the cross-lingual head that
                     replaces it there (`classifiers.edu_crosslingual`), held out: that gap,
                     and on HPLT's pages (random web text, and the ones its annotators called
                     porn or unnatural) how natural pages rank above low ones and how many
                     reach tier A
level_shift_cv()     what a per-language shift of the judged model, calibrated on the
                     translations, closes of the gap on documents left out, and what it does
                     to HPLT's pages: the alternative not shipped (README)
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edumix.classifiers.edu_crosslingual import FEATURES, UNKNOWN, teaching_rows
from edumix.classifiers.edu_signals import languages
from edumix.classifiers.linear_head import fit_ridge, head_features
from edumix.classifiers.models import EduClassifier, embed
from edumix.classifiers.text_stats import text_stats
from edumix.classifiers.training_data import edu_examples, read_hplt, read_parallel_seed
from edumix.evaluate.judgments import auc, fold_of


def translation_gaps(raw: Sequence[float], docs: Sequence[str], english: Sequence[bool], langs: Sequence[str]):
    """{language: [(document, English mean - translated mean)]} over the documents with both an
    English and a translated passage. `raw`: each passage's score; `langs`: each passage's
    identified language (not read for the English originals)."""
    en = defaultdict(list)
    tr = defaultdict(lambda: defaultdict(list))
    for score, doc, is_en, lang in zip(raw, docs, english, langs, strict=True):
        if is_en:
            en[doc].append(score)
        elif lang != "en" and lang not in UNKNOWN:
            tr[lang][doc].append(score)
    return {
        lang: [(doc, float(np.mean(en[doc]) - np.mean(v))) for doc, v in sorted(by_doc.items()) if doc in en]
        for lang, by_doc in sorted(tr.items())
    }


def _parallel_gaps(clf: EduClassifier, root: Path | None):
    rows = list(read_parallel_seed(root))
    texts = [r["text"] for r in rows]
    langs = languages(texts)
    raw = clf.raw_scores(texts, langs=langs)
    return translation_gaps(raw, [r["doc"] for r in rows], [r["english"] for r in rows], langs)


@dataclass(frozen=True)
class LanguageRow:
    lang: str  # as language ID names it
    documents: int  # translated documents with an English original
    gap_before: float  # mean over documents of |English original - translation|, the judged model
    gap_after: float  # ... the cross-lingual head, on documents it was not taught (nan: none)
    natural: int  # HPLT pages, natural / porn or unnatural
    low: int
    auc_before: float  # natural pages above low ones (low pages held out of the head's training)
    auc_after: float
    tier_a_before: float  # share of natural pages scored >= 3
    tier_a_after: float
    tier_a_low_after: float  # share of low pages scored >= 3 (held out)


def crosslingual_cv(root: Path | None = None, folds: int = 5) -> list[LanguageRow]:
    """The cross-lingual head (`classifiers.edu_crosslingual`) refitted on K-1 folds of its
    teaching rows (a translated document, an HPLT page never on both sides) and scored on the
    held-out one, against the judged model it replaces for these languages ("before"). The
    teacher is the shipped judged model; HPLT's natural pages are never taught."""
    teacher = EduClassifier.load()
    teacher.crosslingual = None  # the judged model alone: the teacher, and "before"
    teach = teaching_rows(teacher, edu_examples(root), root)
    texts = [r.text for r in teach]
    X = head_features(FEATURES, embed(texts), text_stats(texts))
    y = np.array([r.target for r in teach])
    fold = np.array([fold_of(r.group, folds, 0) for r in teach])
    oof = np.zeros(len(teach))
    for f in range(folds):
        oof[fold == f] = np.clip(fit_ridge(X[fold != f], y[fold != f]).predict(X[fold == f]), 0, 5)
    full = fit_ridge(X, y)
    langs = languages(texts)
    before = np.array(teacher.predict(texts, langs=langs))

    # translations: per (language, document), the English original's score against each
    gaps = defaultdict(lambda: defaultdict(lambda: ([], [])))
    for r, lang, b, a in zip(teach, langs, before, oof, strict=True):
        if r.kind == "translation":
            gaps[lang][r.group][0].append(r.target - b)
            gaps[lang][r.group][1].append(r.target - a)
    # HPLT: low pages are taught (scored held out), natural ones never
    hplt = list(read_hplt(root))
    natural = [r["text"] for r in hplt if not r["low"]]
    nat_langs = languages(natural)
    nat_before = np.array(teacher.predict(natural, langs=nat_langs))
    nat_after = np.clip(full.predict(head_features(FEATURES, embed(natural), text_stats(natural))), 0, 5)
    low_of = {r.group: (b, a) for r, b, a in zip(teach, before, oof, strict=True) if r.kind == "hplt_low"}
    by = defaultdict(lambda: ([], [], [], []))  # natural before/after, low before/after
    named = defaultdict(list)
    it = iter(zip(nat_langs, nat_before, nat_after, strict=True))
    for r in hplt:
        if not r["low"]:
            lang, b, a = next(it)
            by[r["lang"]][0].append(b), by[r["lang"]][1].append(a), named[r["lang"]].append(lang)
        elif (key := f"hplt:{r['id']}") in low_of:
            by[r["lang"]][2].append(low_of[key][0]), by[r["lang"]][3].append(low_of[key][1])
    pages = {statistics.mode(named[k]): v for k, v in by.items() if named[k]}
    out = []
    for lang in sorted(set(gaps) | set(pages)):
        docs = gaps.get(lang, {})
        nb, na, lb, la = (np.array(x) for x in pages.get(lang, ([], [], [], [])))
        both = [True] * len(nb) + [False] * len(lb)
        out.append(
            LanguageRow(
                lang,
                len(docs),
                float(np.mean([abs(np.mean(b)) for b, _ in docs.values()])) if docs else float("nan"),
                float(np.mean([abs(np.mean(a)) for _, a in docs.values()])) if docs else float("nan"),
                len(nb),
                len(lb),
                auc([*nb, *lb], both) if len(lb) else float("nan"),
                auc([*na, *la], both) if len(lb) else float("nan"),
                float((nb >= 3).mean()) if len(nb) else float("nan"),
                float((na >= 3).mean()) if len(na) else float("nan"),
                float((la >= 3).mean()) if len(la) else float("nan"),
            )
        )
    return out


def _hplt_scores(clf: EduClassifier, root: Path | None):
    """{language: (raw scores of natural pages, of low pages)}, language = the one language ID
    gives most of an HPLT language's pages."""
    rows = list(read_hplt(root))
    texts = [r["text"] for r in rows]
    langs = languages(texts)
    raw = clf.raw_scores(texts, langs=langs)
    by = defaultdict(lambda: ([], []))
    named = defaultdict(list)
    for r, lang, x in zip(rows, langs, raw, strict=True):
        by[r["lang"]][bool(r["low"])].append(x)
        named[r["lang"]].append(lang)
    return {statistics.mode(named[k]): (np.array(v[0]), np.array(v[1])) for k, v in by.items()}


@dataclass(frozen=True)
class LevelShiftCV:
    pairs: int  # (language, document) pairs
    n_languages: int
    before: float  # mean |gap| with no shift
    after: float  # ... with the shift from the language's other documents (leave one out)
    tier_a_natural: dict[str, float]  # HPLT, with the shift from all documents: share >= 3
    tier_a_low: dict[str, float]


def level_shift_cv(root: Path | None = None, model: str | Path | None = None) -> LevelShiftCV:
    """A per-language constant added to the raw score (the mean gap of the language's other
    documents; a language with one document: the median of the other languages' means)."""
    clf = EduClassifier.load(model)
    gaps = _parallel_gaps(clf, root)
    mean = {lang: float(np.mean([g for _, g in rows])) for lang, rows in gaps.items()}
    before, after = [], []
    for lang, rows in gaps.items():
        for i, (_, g) in enumerate(rows):
            rest = [x for j, (_, x) in enumerate(rows) if j != i]
            shift = float(np.mean(rest)) if rest else statistics.median(v for k, v in mean.items() if k != lang)
            before.append(abs(g))
            after.append(abs(g - shift))
    hplt = _hplt_scores(clf, root)
    shifted = {lang: (natural + mean[lang], low + mean[lang]) for lang, (natural, low) in hplt.items() if lang in mean}
    return LevelShiftCV(
        len(before),
        len(gaps),
        float(np.mean(before)),
        float(np.mean(after)),
        {k: float((v[0] >= 3).mean()) for k, v in shifted.items()},
        {k: float((v[1] >= 3).mean()) for k, v in shifted.items() if len(v[1])},
    )
