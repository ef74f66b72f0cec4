"""Language ID and the heuristic quality rules as pipeline stages (logic: filters.langid,
filters.heuristics).

The KL rule needs the corpus's own token distribution: per-language token-bucket
counts are summed with a combiner (a global combine, pre-aggregated on each worker) and
reach the rules as a small side input of top-K probabilities, in the same pipeline.
"""

from __future__ import annotations

import functools
from collections import Counter
from itertools import combinations

import apache_beam as beam
from apache_beam.pvalue import AsDict, TaggedOutput

from edumix.core.config import FiltersConfig, LangIdConfig
from edumix.core.record import Document, Drop
from edumix.core.stages import LANGID, QUALITY
from edumix.filters.heuristics import QualityRules, rules_language_of
from edumix.filters.langid import LanguageIdentifier
from edumix.filters.rules_kl import corpus_distribution, token_counts

from .memo import MemoisedDoFn, StageMemo, always, content_key, memoised
from .stage import DROPPED, STATS, ApplyStage

_Q = QUALITY


def LanguageId(cfg: LangIdConfig, memo: StageMemo | None = None) -> ApplyStage:
    return ApplyStage(LANGID, functools.partial(LanguageIdentifier, cfg), stats_fn=_lang_stats, memo=memo)


def _lang_stats(doc: Document):
    yield (f"languages/{doc.lang or 'und'}", 1)


class _Evaluate(MemoisedDoFn):
    def __init__(self, cfg: FiltersConfig, memo: StageMemo | None):
        self._cfg = cfg
        self._memo = memo

    def setup(self):
        self._rules = QualityRules(self._cfg, stage=_Q)  # languages' tokenizers load at first use
        self._corpus_keys: tuple[int, dict[str, str]] = (0, {})

    def _corpus_key(self, corpus, lang: str) -> str | None:
        """The digest of the corpus distribution the KL rule compares this language with:
        part of the cache key, computed once per language and side-input value."""
        if not corpus:
            return None
        if self._corpus_keys[0] != id(corpus):
            self._corpus_keys = (id(corpus), {})
        known = self._corpus_keys[1]
        if lang not in known:
            known[lang] = content_key("corpus", corpus.get(lang)).hex()
        return known[lang]

    def process(self, doc: Document, corpus=None):
        if self._memo is None:
            out = self._rules(doc, corpus_dist=corpus or None)
        else:
            dist = self._corpus_key(corpus, rules_language_of(doc.lang, self._cfg))
            out = memoised(self._memo, (doc, dist), lambda _: self._rules(doc, corpus_dist=corpus or None), always)
        kept = not isinstance(out, Drop)
        rules = (out if kept else out.doc).metadata.get("failed_rules", "")
        failed = [r for r in rules.split(",") if r]
        lang = doc.lang or "und"
        yield TaggedOutput(STATS, ((_Q, f"by_language/{lang}/docs"), 1))
        if failed:
            yield TaggedOutput(STATS, ((_Q, f"by_language/{lang}/flagged"), 1))
        for rule in failed:
            yield TaggedOutput(STATS, ((_Q, f"flagged/{rule}"), 1))
        for a, b in combinations(failed, 2):  # the rule-overlap matrix, upper triangle
            yield TaggedOutput(STATS, ((_Q, f"overlap/{a}/{b}"), 1))
        yield out if kept else TaggedOutput(DROPPED, out)


class QualityFilter(beam.PTransform):
    """Document -> {"docs", "dropped", "stats"}. In tag mode nothing is dropped and
    `stats.quality.flagged` shows what drop mode would remove."""

    def __init__(self, cfg: FiltersConfig, memo: StageMemo | None = None):
        super().__init__()
        self._cfg = cfg
        self._memo = memo

    def expand(self, docs):
        cfg, kl = self._cfg, self._cfg.kl
        side = {}
        if kl.enabled:
            dists = (
                docs
                | "TokenCounts"
                >> beam.FlatMap(
                    lambda d: (
                        ((rules_language_of(d.lang, cfg), k), n)
                        for k, n in token_counts(d.text, kl.vocab_size, kl.max_doc_tokens).items()
                    )
                )
                | "SumTokens" >> beam.CombinePerKey(sum)
                | "ByLanguage" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1])))
                | "GroupLanguage" >> beam.GroupByKey()
                | "CorpusDist"
                >> beam.MapTuple(
                    lambda lang, counts: (
                        lang,
                        corpus_distribution(Counter(dict(counts)), kl.vocab_size, kl.top_k, kl.alpha),
                    )
                )
            )
            side["corpus"] = AsDict(dists)
        out = docs | "Rules" >> beam.ParDo(_Evaluate(cfg, self._memo), **side).with_outputs(DROPPED, STATS, main="docs")
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: out[STATS]}
