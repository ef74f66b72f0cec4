"""The seam every one-document-at-a-time stage plugs into.

A stage is plain Python: a callable `Document|RawRecord -> Document | Drop`, built
once per worker by a factory (so a model loads once, in `setup`). `ApplyStage` wires it
into the graph with its drops on a tagged output, so the accounting is automatic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from edumix.record import Drop

DROPPED = "dropped"


class _StageFn(beam.DoFn):
    def __init__(self, factory: Callable[[], Callable[[Any], Any]]):
        self._factory = factory
        self._fn = None

    def setup(self):
        self._fn = self._factory()

    def process(self, item):
        out = self._fn(item)
        if isinstance(out, Drop):
            yield TaggedOutput(DROPPED, out)
        else:
            yield out

    def teardown(self):
        close = getattr(self._fn, "close", None)
        if close is not None:
            close()


class ApplyStage(beam.PTransform):
    """items -> {"docs": kept, "dropped": Drop}; `factory()` builds the stage callable."""

    def __init__(self, name: str, factory: Callable[[], Callable[[Any], Any]]):
        super().__init__(label=name)
        self._factory = factory

    def expand(self, items):
        out = items | beam.ParDo(_StageFn(self._factory)).with_outputs(DROPPED, main="docs")
        return {"docs": out.docs, DROPPED: out[DROPPED]}
