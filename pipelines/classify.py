"""Model-based scoring as a pipeline stage (the models and decisions: classifiers/).
Models load once per worker; documents are scored in batches (fasttext predicts a list in
one call)."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from edumix.core.config import ClassifyConfig
from edumix.core.record import Document, Drop
from edumix.core.stages import CLASSIFY

from .stage import DROPPED, STATS, ApplyBatched


class _Score(beam.DoFn):
    def __init__(self, cfg: ClassifyConfig):
        self._cfg = cfg

    def setup(self):
        from edumix.classifiers.judge import Judge

        self._judge = Judge(self._cfg)

    def process(self, batch: list[Document]):
        for doc, j in zip(batch, self._judge(batch), strict=True):
            out = dataclasses.replace(
                doc,
                quality_score=j.quality_score,
                edu_score=j.edu_score,
                edu_tier=j.edu_tier,
                domain=j.domain,
                domain_score=j.domain_score,
            )
            yield TaggedOutput(STATS, ((CLASSIFY, f"tiers/{j.edu_tier}"), 1))
            yield TaggedOutput(STATS, ((CLASSIFY, f"domains/{j.domain}"), 1))
            if j.drop_reason is not None:
                yield TaggedOutput(DROPPED, Drop(CLASSIFY, j.drop_reason, out, j.drop_detail))
            else:
                yield out


def Classify(cfg: ClassifyConfig) -> ApplyBatched:
    """Document -> {"docs", "dropped", "stats"} with quality/edu/domain columns filled."""
    return ApplyBatched(_Score(cfg), step="Score")
