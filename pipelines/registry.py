"""The stage registry: each funnel stage's name (edumix.core.stages, in order), when a run
config turns it on, and the composite PTransform that runs it. `curate` builds its graph
from this list alone, so a new stage is one entry here and one name in core.stages."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

import apache_beam as beam

from edumix.core import stages as S
from edumix.core.config import RunConfig

from .classify import Classify
from .dedup import ExactDedup, LineDedup, MinHashDedup, UrlDedup
from .extract import ExtractText
from .pii import PiiScrub
from .quality import LanguageId, QualityFilter


@dataclass(frozen=True)
class StageSpec:
    name: str
    enabled: Callable[[RunConfig], bool]
    build: Callable[[RunConfig], beam.PTransform]  # docs -> {"docs", "dropped"[, "stats"]}


# Every stage after `read` (the source, built by curate from the inputs).
REGISTRY: tuple[StageSpec, ...] = (
    StageSpec(S.EXTRACT, lambda c: True, lambda c: ExtractText(c.extract)),
    StageSpec(S.LANGID, lambda c: c.langid.enabled, lambda c: LanguageId(c.langid)),
    StageSpec(S.URL_DEDUP, lambda c: c.dedup.url.enabled, lambda c: UrlDedup(c.dedup.url.keep)),
    StageSpec(S.EXACT_DEDUP, lambda c: c.dedup.exact.enabled, lambda c: ExactDedup()),
    StageSpec(S.QUALITY, lambda c: c.filters.enabled, lambda c: QualityFilter(c.filters)),
    StageSpec(S.MINHASH_DEDUP, lambda c: c.dedup.minhash.enabled, lambda c: MinHashDedup(c.dedup.minhash)),
    StageSpec(S.LINE_DEDUP, lambda c: c.dedup.lines.enabled, lambda c: LineDedup(c.dedup.lines)),
    StageSpec(S.PII, lambda c: c.pii.enabled, lambda c: PiiScrub(c.pii)),
    StageSpec(S.CLASSIFY, lambda c: c.classify.enabled, lambda c: Classify(c.classify)),
)
if (S.READ, *(s.name for s in REGISTRY)) != S.STAGES:
    raise RuntimeError("pipelines.registry and core.stages list different stages")


def enabled_stages(cfg: RunConfig, only: Collection[str] | None = None) -> Iterator[tuple[str, beam.PTransform]]:
    """(name, transform) of the stages `cfg` turns on, in registry order; `only` narrows
    the list (e.g. the dedup benchmark chains the four dedup stages)."""
    for spec in REGISTRY:
        if (only is None or spec.name in only) and spec.enabled(cfg):
            yield spec.name, spec.build(cfg)
