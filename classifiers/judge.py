"""From model scores to the decisions a run records: tier, domain and the minimum-score
filter. Plain Python, so the classify stage (pipelines/classify.py) only wires it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edumix.core.config import ClassifyConfig
from edumix.core.record import Document
from edumix.filters.rules_codemath import code_score, math_score


@dataclass(frozen=True)
class Judgment:
    quality_score: float
    edu_score: float
    edu_tier: str  # A | B | C
    domain: str  # general | math | code | multilingual
    domain_score: float
    drop_reason: str | None = None  # a minimum score not met: the document is dropped
    drop_detail: str = ""


def tier_of(edu: float, cfg: ClassifyConfig) -> str:
    return "A" if edu >= cfg.tier_a else "B" if edu >= cfg.tier_b else "C"


def heuristic_domain(text: str, cfg: ClassifyConfig) -> tuple[str, float] | None:
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


def domain_of(doc: Document, label: str, prob: float, cfg: ClassifyConfig) -> tuple[str, float]:
    """The model's domain, overruled by the code/math detectors for 'general' and by the
    language for documents outside `cfg.english`."""
    domain, p = label, prob
    if domain == "general":
        domain, p = heuristic_domain(doc.text, cfg) or (domain, p)
    if doc.lang and doc.lang not in cfg.english and doc.lang != "und":
        domain, p = "multilingual", doc.signals.get("lang_score", 1.0)
    return domain, p


def min_score_drop(quality: float, edu: float, cfg: ClassifyConfig) -> tuple[str, str] | None:
    """(reason, detail) when a configured minimum score is not met."""
    if cfg.min_quality is not None and quality < cfg.min_quality:
        return "model_filter:quality", f"quality_score={quality:.4g} < {cfg.min_quality}"
    if cfg.min_edu is not None and edu < cfg.min_edu:
        return "model_filter:edu", f"edu_score={edu:.4g} < {cfg.min_edu}"
    return None


class Judge:
    """The three models, loaded once, and the decisions above, for a batch of documents."""

    def __init__(self, cfg: ClassifyConfig):
        from edumix.classifiers.fasttext_model import normalize
        from edumix.classifiers.models import DomainClassifier, EduClassifier, QualityClassifier, embed

        self._normalize = normalize
        self._embed = embed
        self.cfg = cfg
        self._quality = QualityClassifier.load(cfg.quality_model)
        self._edu = EduClassifier.load(cfg.edu_model)
        self._domain = DomainClassifier.load(cfg.domain_model)

    def __call__(self, docs: Sequence[Document]) -> list[Judgment]:
        cfg = self.cfg
        texts = [d.text for d in docs]
        lines = [self._normalize(t) for t in texts]  # once for the three models (~10% of the stage)
        heads = self._quality.head is not None or self._edu.head is not None or self._edu.signals is not None
        emb = self._embed(texts) if heads and texts else None  # (n, d), once for both heads
        stats = None  # (n, 20) text statistics, once for the heads that read them
        if texts and (self._quality.needs_stats or self._edu.needs_stats):
            from edumix.classifiers.text_stats import text_stats

            stats = text_stats(texts)
        quality = self._quality.predict(texts, lines, emb, stats)
        edu = self._edu.predict(texts, lines, emb, stats, [d.lang for d in docs])
        domains = self._domain.predict(texts, lines)
        out = []
        for doc, q, e, pred in zip(docs, quality, edu, domains, strict=True):
            domain, p = domain_of(doc, pred.label, pred.prob, cfg)
            reason, detail = min_score_drop(q, e, cfg) or (None, "")
            out.append(Judgment(round(q, 6), round(e, 6), tier_of(e, cfg), domain, round(p, 6), reason, detail))
        return out
