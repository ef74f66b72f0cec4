"""Extraction as a pipeline stage: RawRecord -> Document with main text (see filters.extract).

Pages are extracted in a child process (for the time budget), so the worker would sit
idle while trafilatura runs. Instead the stage hands page i+1 to the child and only then
sends page i downstream: the stages after extraction run in this process while the child
extracts the next page. One page is in flight at a time and each bundle flushes its last
one, so nothing is held back and results do not depend on the overlap.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindows

from edumix.core.config import ExtractConfig
from edumix.core.record import Drop, RawRecord
from edumix.filters.extract import Extractor

from .stage import DROPPED, STATS


class _OverlappedExtract(beam.DoFn):
    def __init__(self, cfg: ExtractConfig):
        self._cfg = cfg
        self._ex: Extractor | None = None
        self._inflight: RawRecord | None = None

    def setup(self):
        self._ex = Extractor(self._cfg)

    def start_bundle(self):
        if self._inflight is not None:  # a failed bundle left a page in the child
            self._ex.abandon()
        self._inflight = None

    def _collect(self):
        raw, self._inflight = self._inflight, None
        return None if raw is None else self._ex.collect(raw)

    def process(self, raw: RawRecord):
        done = self._collect()  # the previous page, extracted while it waited
        early = self._ex.submit(raw)
        if early is None:
            self._inflight = raw
        else:
            yield _tagged(early)
        if done is not None:
            yield _tagged(done)  # downstream runs now, while the child extracts `raw`

    def finish_bundle(self):
        done = self._collect()
        if done is not None:  # outside process(), outputs carry their window explicitly
            yield _tagged(done, GlobalWindows.windowed_value(done))

    def teardown(self):
        if self._ex is not None:
            self._ex.close()


def _tagged(result, value=None):
    """`value` (default: `result`) on the drops output when `result` is a Drop."""
    value = result if value is None else value
    return TaggedOutput(DROPPED, value) if isinstance(result, Drop) else value


class ExtractText(beam.PTransform):
    """RawRecord -> {"docs": Document, "dropped": Drop, "stats": (none)}."""

    def __init__(self, cfg: ExtractConfig):
        super().__init__()
        self._cfg = cfg

    def expand(self, raws):
        out = raws | beam.ParDo(_OverlappedExtract(self._cfg)).with_outputs(DROPPED, STATS, main="docs")
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: out[STATS]}
