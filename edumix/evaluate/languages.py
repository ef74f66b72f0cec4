"""Does the edu score mean the same in every language? Measured where there is no judged page.

translation_gaps()   the seed's documents that exist in English and in translation
                     (`training_data.read_parallel_seed`): per language, the English
                     passages' mean raw score minus the translated passages' mean, per
                     document (the raw score: before the clip to [0, 5])
language_table()     per language: that gap, and on HPLT's pages (random web text, and the
                     ones its annotators called porn or unnatural; never edu training data
                     outside English and Norwegian) the spread of the raw score and the
                     share of pages in tier A
level_shift_cv()     what a per-language shift calibrated on the translations would close
                     of the gap on documents left out, and what it does to HPLT's pages: the
                     experiment behind "not shipped" in the README
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edumix.classifiers.edu_signals import languages
from edumix.classifiers.models import EduClassifier
from edumix.classifiers.training_data import read_hplt, read_parallel_seed

UNKNOWN = ("", "und")


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
    gap: float  # mean English-minus-translation gap over documents (nan: no translation)
    documents: int
    natural: int  # HPLT pages, natural / porn or unnatural
    low: int
    raw_sd: float  # sd of the raw score over the natural pages
    tier_a_natural: float  # share of the natural pages scored >= 3
    tier_a_low: float


def _hplt_scores(clf: EduClassifier, root: Path | None):
    """{language: (raw scores of natural pages, of low pages)}, language = the one language ID
    gives most of an HPLT language's pages."""
    rows = list(read_hplt(root))
    texts = [r["text"] for r in rows]
    langs = languages(texts)
    raw = clf.raw_scores(texts, langs=langs)
    by = defaultdict(lambda: ([], []))
    named = defaultdict(list)
    for r, lang, s in zip(rows, langs, raw, strict=True):
        by[r["lang"]][bool(r["low"])].append(s)
        named[r["lang"]].append(lang)
    return {statistics.mode(named[k]): (np.array(v[0]), np.array(v[1])) for k, v in by.items()}


def language_table(root: Path | None = None, model: str | Path | None = None) -> list[LanguageRow]:
    clf = EduClassifier.load(model)
    gaps = _parallel_gaps(clf, root)
    hplt = _hplt_scores(clf, root)
    out = []
    for lang in sorted(set(gaps) | set(hplt)):
        g = [x for _, x in gaps.get(lang, [])]
        natural, low = hplt.get(lang, (np.zeros(0), np.zeros(0)))
        out.append(
            LanguageRow(
                lang,
                float(np.mean(g)) if g else float("nan"),
                len(g),
                len(natural),
                len(low),
                float(natural.std()) if len(natural) else float("nan"),
                float((natural >= 3).mean()) if len(natural) else float("nan"),
                float((low >= 3).mean()) if len(low) else float("nan"),
            )
        )
    return out


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
