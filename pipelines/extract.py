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

from .memo import MISS, MemoisedDoFn, StageMemo
from .stage import DROPPED, STATS


def transient(out) -> bool:
    """A timeout or a dead child says nothing about the page: never cached."""
    return isinstance(out, Drop) and (out.reason == "extract_timeout" or out.detail.startswith("extraction process"))


class _OverlappedExtract(MemoisedDoFn):
    def __init__(self, cfg: ExtractConfig, memo: StageMemo | None):
        self._cfg = cfg
        self._memo = memo
        self._ex: Extractor | None = None
        self._inflight: RawRecord | None = None
        self._inflight_key: bytes | None = None

    def setup(self):
        if self._memo is None:  # with a cache, started at the first miss (see _extractor)
            self._ex = Extractor(self._cfg)

    def _extractor(self) -> Extractor:
        if self._ex is None:
            self._ex = Extractor(self._cfg)
        return self._ex

    def start_bundle(self):
        if self._inflight is not None:  # a failed bundle left a page in the child
            self._ex.abandon()
        self._inflight = None

    def _collect(self):
        raw, self._inflight = self._inflight, None
        if raw is None:
            return None
        done = self._ex.collect(raw)
        self._remember(self._inflight_key, done)
        return done

    def _remember(self, key, out) -> None:
        if self._memo is not None and not transient(out):
            self._memo.store(key, out)

    def process(self, raw: RawRecord):
        done = self._collect()  # the previous page, extracted while it waited
        key, early = self._memo.lookup(raw) if self._memo is not None else (None, MISS)
        if early is MISS:
            early = self._extractor().submit(raw)
            if early is None:
                self._inflight, self._inflight_key = raw, key
            else:
                self._remember(key, early)
        if early is not None:
            yield _tagged(early)
        if done is not None:
            yield _tagged(done)  # downstream runs now, while the child extracts `raw`

    def finish_bundle(self):
        done = self._collect()
        super().finish_bundle()
        if done is not None:  # outside process(), outputs carry their window explicitly
            yield _tagged(done, GlobalWindows.windowed_value(done))

    def teardown(self):
        if self._ex is not None:
            self._ex.close()
        super().teardown()


def _tagged(result, value=None):
    """`value` (default: `result`) on the drops output when `result` is a Drop."""
    value = result if value is None else value
    return TaggedOutput(DROPPED, value) if isinstance(result, Drop) else value


class ExtractText(beam.PTransform):
    """RawRecord -> {"docs": Document, "dropped": Drop, "stats": (none)}."""

    def __init__(self, cfg: ExtractConfig, memo: StageMemo | None = None):
        super().__init__()
        self._cfg = cfg
        self._memo = memo

    def expand(self, raws):
        out = raws | beam.ParDo(_OverlappedExtract(self._cfg, self._memo)).with_outputs(DROPPED, STATS, main="docs")
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: out[STATS]}
