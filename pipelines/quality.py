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

from .stage import DROPPED, STATS, ApplyStage

_Q = QUALITY


def LanguageId(cfg: LangIdConfig) -> ApplyStage:
    return ApplyStage(LANGID, functools.partial(LanguageIdentifier, cfg), stats_fn=_lang_stats)


def _lang_stats(doc: Document):
    yield (f"languages/{doc.lang or 'und'}", 1)


class _Evaluate(beam.DoFn):
    def __init__(self, cfg: FiltersConfig):
        self._cfg = cfg

    def setup(self):
        self._rules = QualityRules(self._cfg, stage=_Q)

    def process(self, doc: Document, corpus=None):
        out = self._rules(doc, corpus_dist=corpus or None)
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

    def __init__(self, cfg: FiltersConfig):
        super().__init__()
        self._cfg = cfg

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
        out = docs | "Rules" >> beam.ParDo(_Evaluate(cfg), **side).with_outputs(DROPPED, STATS, main="docs")
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: out[STATS]}
