"""The stage registry: each funnel stage's name (edumix.core.stages, in order), when a run
config turns it on, and the composite PTransform that runs it. `curate` builds its graph
from this list alone, so a new stage is one entry here and one name in core.stages.
A one-document stage also names the config its results depend on (`section`): with a
cache (pipelines.memo) its results are kept under that config's key and reused."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

import apache_beam as beam
from pydantic import BaseModel

from edumix.core import stages as S
from edumix.core.config import RunConfig

from .classify import Classify
from .dedup import ExactDedup, LineDedup, MinHashDedup, UrlDedup
from .extract import ExtractText
from .memo import MemoPlan, StageMemo, stage_key
from .pii import PiiScrub
from .quality import LanguageId, QualityFilter


@dataclass(frozen=True)
class StageSpec:
    name: str
    enabled: Callable[[RunConfig], bool]
    build: Callable[[RunConfig, StageMemo | None], beam.PTransform]  # docs -> {"docs", "dropped"[, "stats"]}
    section: Callable[[RunConfig], BaseModel] | None = None  # per-document stages only
    model_files: Callable[[RunConfig], tuple[str | None, ...]] = lambda c: ()


# Every stage after `read` (the source, built by curate from the inputs).
REGISTRY: tuple[StageSpec, ...] = (
    StageSpec(S.EXTRACT, lambda c: True, lambda c, m: ExtractText(c.extract, m), lambda c: c.extract),
    StageSpec(S.LANGID, lambda c: c.langid.enabled, lambda c, m: LanguageId(c.langid, m), lambda c: c.langid),
    StageSpec(S.URL_DEDUP, lambda c: c.dedup.url.enabled, lambda c, m: UrlDedup(c.dedup.url.keep)),
    StageSpec(S.EXACT_DEDUP, lambda c: c.dedup.exact.enabled, lambda c, m: ExactDedup()),
    StageSpec(
        S.QUALITY,
        lambda c: c.filters.enabled,
        lambda c, m: QualityFilter(c.filters, m),
        lambda c: c.filters,
        lambda c: (c.filters.dirty_words_file,),
    ),
    StageSpec(S.MINHASH_DEDUP, lambda c: c.dedup.minhash.enabled, lambda c, m: MinHashDedup(c.dedup.minhash)),
    StageSpec(S.LINE_DEDUP, lambda c: c.dedup.lines.enabled, lambda c, m: LineDedup(c.dedup.lines)),
    StageSpec(S.PII, lambda c: c.pii.enabled, lambda c, m: PiiScrub(c.pii, m), lambda c: c.pii),
    StageSpec(
        S.CLASSIFY,
        lambda c: c.classify.enabled,
        lambda c, m: Classify(c.classify, m),
        lambda c: c.classify,
        lambda c: _with_companions(c.classify.quality_model, c.classify.edu_model, c.classify.domain_model),
    ),
)


def _with_companions(*models: str | None) -> tuple[str | None, ...]:
    """A user's model files and what is read beside each (`companion_paths`): a retrained head
    changes the scores as surely as a retrained model."""
    from edumix.classifiers.models import companion_paths

    out: list[str | None] = []
    for m in models:
        out.append(m)
        if m:
            out += [str(p) for p in companion_paths(m) if p.is_file()]
    return tuple(out)


if (S.READ, *(s.name for s in REGISTRY)) != S.STAGES:
    raise RuntimeError("pipelines.registry and core.stages list different stages")


def enabled_stages(
    cfg: RunConfig, only: Collection[str] | None = None, memo: MemoPlan | None = None
) -> Iterator[tuple[str, beam.PTransform]]:
    """(name, transform) of the stages `cfg` turns on, in registry order; `only` narrows
    the list (e.g. the dedup benchmark chains the four dedup stages). With `memo`, the
    per-document stages read and fill the cache."""
    first = True  # the first memoised stage also counts input files reused whole
    for spec in REGISTRY:
        if (only is None or spec.name in only) and spec.enabled(cfg):
            stage_memo = memo.stage(spec.name, first=first) if memo is not None and spec.section else None
            first = first and stage_memo is None
            yield spec.name, spec.build(cfg, stage_memo)


def memo_plan(cfg: RunConfig, directory: str, code: str) -> MemoPlan:
    """Each enabled per-document stage's cache key under `directory` (see pipelines.memo)."""
    keys = {
        spec.name: stage_key(spec.name, spec.section(cfg), code, spec.model_files(cfg))
        for spec in REGISTRY
        if spec.section is not None and spec.enabled(cfg)
    }
    return MemoPlan(directory, keys)
