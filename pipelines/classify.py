"""Model-based scoring as a pipeline stage (the models and decisions: classifiers/).
Models load once per worker; documents are scored in batches (fasttext predicts a list in
one call)."""

from __future__ import annotations

import dataclasses

from apache_beam.pvalue import TaggedOutput

from edumix.core.config import ClassifyConfig
from edumix.core.record import Document, Drop
from edumix.core.stages import CLASSIFY

from .memo import MISS, MemoisedDoFn, StageMemo
from .stage import DROPPED, STATS, ApplyBatched


class _Score(MemoisedDoFn):
    def __init__(self, cfg: ClassifyConfig, memo: StageMemo | None):
        self._cfg = cfg
        self._memo = memo

    def setup(self):
        self._models = None  # loaded at the first document the cache does not hold

    def _judge(self, batch: list[Document]):
        if self._models is None:
            from edumix.classifiers.judge import Judge

            self._models = Judge(self._cfg)
        return self._models(batch)

    def _judged(self, batch: list[Document]) -> list[Document | Drop]:
        """Each document scored, or its result from the cache; the rest in one batch."""
        if self._memo is None:
            return [self._apply(doc, j) for doc, j in zip(batch, self._judge(batch), strict=True)]
        found = [self._memo.lookup(doc) for doc in batch]
        todo = [i for i, (_, out) in enumerate(found) if out is MISS]
        results = [out for _, out in found]
        for i, j in zip(todo, self._judge([batch[i] for i in todo]) if todo else [], strict=True):
            results[i] = self._apply(batch[i], j)
            self._memo.store(found[i][0], results[i])
        return results

    @staticmethod
    def _apply(doc: Document, j) -> Document | Drop:
        out = dataclasses.replace(
            doc,
            quality_score=j.quality_score,
            edu_score=j.edu_score,
            edu_tier=j.edu_tier,
            domain=j.domain,
            domain_score=j.domain_score,
        )
        return Drop(CLASSIFY, j.drop_reason, out, j.drop_detail) if j.drop_reason is not None else out

    def process(self, batch: list[Document]):
        for out in self._judged(batch):
            scored = out.doc if isinstance(out, Drop) else out
            yield TaggedOutput(STATS, ((CLASSIFY, f"tiers/{scored.edu_tier}"), 1))
            yield TaggedOutput(STATS, ((CLASSIFY, f"domains/{scored.domain}"), 1))
            yield TaggedOutput(DROPPED, out) if isinstance(out, Drop) else out


def Classify(cfg: ClassifyConfig, memo: StageMemo | None = None) -> ApplyBatched:
    """Document -> {"docs", "dropped", "stats"} with quality/edu/domain columns filled."""
    return ApplyBatched(_Score(cfg, memo), step="Score")
