"""PII scrubbing as a pipeline stage (logic: filters.pii). It never drops a document:
spans become typed placeholders and the counts go to `signals` and the report."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from edumix.core.config import PiiConfig
from edumix.core.record import Document
from edumix.core.stages import PII

from .memo import StageMemo
from .stage import ApplyStage

SIGNAL_PREFIX = "pii_"


def pii_stats(doc: Document) -> Iterator[tuple[str, float]]:
    found = {k.removeprefix(SIGNAL_PREFIX): v for k, v in doc.signals.items() if k.startswith(SIGNAL_PREFIX)}
    if found:
        yield ("docs_scrubbed", 1)
    if "pii_error" in doc.metadata:  # presidio failed: text kept as it was
        yield ("errors", 1)
    for entity, n in found.items():
        yield (f"entities/{entity}", n)


def _not_failed(doc: Document) -> bool:
    return "pii_error" not in doc.metadata  # a failure is retried by the next run


def PiiScrub(cfg: PiiConfig, memo: StageMemo | None = None) -> ApplyStage:
    from edumix.filters.pii import PiiScrubber  # presidio loads only when the stage is used

    return ApplyStage(PII, functools.partial(PiiScrubber, cfg), stats_fn=pii_stats, memo=memo, keep=_not_failed)
