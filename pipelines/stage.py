"""The seam every one-document-at-a-time stage plugs into.

A stage is plain Python: a callable `Document|RawRecord -> Document | Drop`, built
once per worker by a factory (so a model loads once, in `setup`). `ApplyStage` wires it
into the graph with its drops on a tagged output, so the accounting is automatic.
A stage may also report numbers: `stats_fn(doc_out)` yields (name, value) pairs that are
summed into report.json under the stage's name.

`CountProgress` is the live side of the accounting: a leaf on a stage's outputs that
counts what leaves it, for the one progress display (edumix.core.progress).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from edumix.core import progress
from edumix.core.record import Drop

from .memo import MemoisedDoFn, StageMemo, always, memoised

DROPPED = "dropped"
STATS = "stats"

StatsFn = Callable[[Any], Iterable[tuple[str, float]]]


class _StageFn(MemoisedDoFn):
    def __init__(
        self,
        stage: str,
        factory: Callable[[], Callable[[Any], Any]],
        stats_fn: StatsFn | None,
        memo: StageMemo | None,
        keep: Callable[[Any], bool],
    ):
        self._stage = stage
        self._factory = factory
        self._stats_fn = stats_fn
        self._memo = memo
        self._keep = keep
        self._fn = None

    def setup(self):
        if self._memo is None:  # with a cache, built at the first miss: a resumed run may need none
            self._fn = self._factory()

    def _call(self, item):
        if self._fn is None:
            self._fn = self._factory()
        return self._fn(item)

    def process(self, item):
        out = memoised(self._memo, item, self._call, self._keep)
        if isinstance(out, Drop):
            yield TaggedOutput(DROPPED, out)
            return
        yield out
        if self._stats_fn is not None:
            for name, value in self._stats_fn(out):
                yield TaggedOutput(STATS, ((self._stage, name), value))

    def teardown(self):
        close = getattr(self._fn, "close", None)
        if close is not None:
            close()
        super().teardown()


class ApplyStage(beam.PTransform):
    """items -> {"docs": kept, "dropped": Drop, "stats": ((stage, name), value)}. With a
    `memo`, outputs come from the cache when the same item was seen (pipelines.memo);
    `keep(out)` says which outputs may be stored."""

    def __init__(
        self,
        stage: str,
        factory: Callable[[], Callable[[Any], Any]],
        stats_fn: StatsFn | None = None,
        memo: StageMemo | None = None,
        keep: Callable[[Any], bool] = always,
    ):
        super().__init__(label=stage)
        self._stage = stage
        self._factory = factory
        self._stats_fn = stats_fn
        self._memo = memo
        self._keep = keep

    def expand(self, items):
        fn = _StageFn(self._stage, self._factory, self._stats_fn, self._memo, self._keep)
        out = items | beam.ParDo(fn).with_outputs(DROPPED, STATS, main="docs")
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: out[STATS]}


class ApplyBatched(beam.PTransform):
    """Documents in batches, for stages that pay per call (a model, a tokenizer):
    `dofn.process(list)` yields documents and tagged drops/stats -> {"docs", "dropped", "stats"}."""

    def __init__(self, dofn: beam.DoFn, step: str, min_batch: int = 16, max_batch: int = 256):
        super().__init__()
        self._dofn = dofn
        self._step = step
        self._sizes = {"min_batch_size": min_batch, "max_batch_size": max_batch}

    def expand(self, docs):
        out = (
            docs
            | "Batch" >> beam.BatchElements(**self._sizes)
            | self._step >> beam.ParDo(self._dofn).with_outputs(DROPPED, STATS, main="docs")
        )
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: out[STATS]}


class _CountFn(beam.DoFn):
    def __init__(self, directory: str, stage: str, kind: str):
        self._dir = directory
        self._stage = stage
        self._kind = kind

    def process(self, _item):
        progress.count(self._dir, self._stage, self._kind)
        return ()

    def finish_bundle(self):
        progress.flush(self._dir)


class CountProgress(beam.PTransform):
    """A leaf that counts the elements of a PCollection (a stage's kept documents, its
    drops, or the reader's files) into `directory`, for progress.RunMonitor. It outputs
    nothing and changes nothing downstream."""

    def __init__(self, directory: str, stage: str, kind: str):
        super().__init__()
        self._fn = _CountFn(directory, stage, kind)

    def expand(self, pcoll):
        return pcoll | beam.ParDo(self._fn)
