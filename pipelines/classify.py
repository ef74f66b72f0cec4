"""Model-based scoring as a pipeline stage (models: classifiers/). Models load once per
worker; documents are scored in batches (fasttext predicts a list in one call)."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from edumix.config import ClassifyConfig
from edumix.record import Document, Drop
from filters.rules_codemath import code_score, math_score

from .stage import DROPPED, STATS, ApplyBatched

_C = "classify"


def _heuristic_domain(text: str, cfg: ClassifyConfig) -> tuple[str, float] | None:
    """Code or math by the detectors, the stronger one when both fire (math pages carry
    some code-like symbols, code tutorials a few formulas)."""
    found = []
    if cfg.code_threshold is not None and (c := code_score(text)) >= cfg.code_threshold:
        found.append((c, "code"))
    if cfg.math_threshold is not None and (m := math_score(text)) >= cfg.math_threshold:
        found.append((m, "math"))
    if not found:
        return None
    score, domain = max(found)
    return domain, score


class _Score(beam.DoFn):
    def __init__(self, cfg: ClassifyConfig):
        self._cfg = cfg

    def setup(self):
        from classifiers.models import DomainClassifier, EduClassifier, QualityClassifier

        cfg = self._cfg
        self._quality = QualityClassifier.load(cfg.quality_model)
        self._edu = EduClassifier.load(cfg.edu_model)
        self._domain = DomainClassifier.load(cfg.domain_model)

    def process(self, batch: list[Document]):
        cfg = self._cfg
        texts = [d.text for d in batch]
        quality = self._quality.predict(texts)
        edu = self._edu.predict(texts)
        domains = self._domain.predict(texts)
        for doc, q, e, pred in zip(batch, quality, edu, domains, strict=True):
            domain, p = pred.label, pred.prob
            if domain == "general":
                domain, p = _heuristic_domain(doc.text, cfg) or (domain, p)
            if doc.lang and doc.lang not in cfg.english and doc.lang != "und":
                domain, p = "multilingual", doc.signals.get("lang_score", 1.0)
            tier = "A" if e >= cfg.tier_a else "B" if e >= cfg.tier_b else "C"
            out = dataclasses.replace(
                doc, quality_score=round(q, 6), edu_score=round(e, 6), edu_tier=tier,
                domain=domain, domain_score=round(p, 6),
            )  # fmt: skip
            yield TaggedOutput(STATS, ((_C, f"tiers/{tier}"), 1))
            yield TaggedOutput(STATS, ((_C, f"domains/{domain}"), 1))
            if cfg.min_quality is not None and q < cfg.min_quality:
                detail = f"quality_score={q:.4g} < {cfg.min_quality}"
                yield TaggedOutput(DROPPED, Drop(_C, "model_filter:quality", out, detail))
            elif cfg.min_edu is not None and e < cfg.min_edu:
                yield TaggedOutput(DROPPED, Drop(_C, "model_filter:edu", out, f"edu_score={e:.4g} < {cfg.min_edu}"))
            else:
                yield out


def Classify(cfg: ClassifyConfig) -> ApplyBatched:  # noqa: N802 - reads like a PTransform
    """Document -> {"docs", "dropped", "stats"} with quality/edu/domain columns filled."""
    return ApplyBatched(_Score(cfg), step="Score")
