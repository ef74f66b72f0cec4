"""Reading as a Beam source: expand globs up front, then read files in parallel.

File-level parallelism: WARC gzip members cannot be split without an index, and a
crawl comes as many files anyway. Each file yields RawRecords, Drops (stage `read`) and
one FileStat, so the report can reconcile input records file by file.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import TaggedOutput

from edumix.core.config import ReadConfig
from edumix.core.progress import progress_bar
from edumix.core.record import Drop

from .formats import iter_records
from .formats.errors import read_error
from .stage import DROPPED

log = logging.getLogger(__name__)
FILES = "files"


@dataclass(frozen=True)
class InputFile:
    path: str
    size: int


@dataclass(frozen=True)
class FileStat:
    path: str
    records: int  # everything the file yielded: documents, skipped records, read errors
    read_errors: int


class InputError(ValueError):
    pass


def expand_inputs(patterns: list[str]) -> list[InputFile]:
    """All files matching the globs, sorted; a glob that matches nothing is an error
    (a typo would otherwise curate an empty crawl without complaint)."""
    if not patterns:
        raise InputError("no --input given")
    found: dict[str, int] = {}
    for pattern, result in zip(patterns, FileSystems.match(patterns), strict=True):
        files = [m for m in result.metadata_list if not m.path.endswith("/")]
        if not files:
            raise InputError(f"--input {pattern!r} matches no file")
        for m in files:
            found[m.path] = m.size_in_bytes
    return [InputFile(p, found[p]) for p in sorted(found)]


class _ReadFile(beam.DoFn):
    def __init__(self, cfg: ReadConfig, total_bytes: int):
        self._cfg = cfg
        self._total = total_bytes

    def setup(self):
        # Bytes, not files: one big WARC would otherwise sit at 0% until it is done.
        self._bar = progress_bar(total=self._total, unit="B", desc="curate: read")

    def process(self, f: InputFile):
        records = errors = 0
        with contextlib.ExitStack() as stack:
            fh = None
            try:
                fh = stack.enter_context(FileSystems.open(f.path, compression_type=CompressionTypes.UNCOMPRESSED))
            except Exception as e:  # noqa: BLE001 - unreadable file: one counted error
                items = iter([read_error(f.path, 0, "unknown", e)])
            else:
                items = iter_records(fh, f.path, self._cfg)
            done = 0
            for item in items:
                if fh is not None and (pos := fh.tell()) > done:
                    self._bar.update(pos - done)
                    done = pos
                records += 1
                if isinstance(item, Drop):
                    errors += item.reason == "read_error"
                    yield TaggedOutput(DROPPED, item)
                else:
                    yield item
        log.info("read %s: %d records, %d read errors", f.path, records, errors)
        self._bar.update(max(0, f.size - done))
        yield TaggedOutput(FILES, FileStat(f.path, records, errors))

    def teardown(self):
        self._bar.close()


class ReadDocuments(beam.PTransform):
    """PBegin -> {"docs": RawRecord, "dropped": Drop, "files": FileStat}."""

    def __init__(self, files: list[InputFile], cfg: ReadConfig):
        super().__init__()
        self._files = files
        self._cfg = cfg

    def expand(self, pbegin):
        read = _ReadFile(self._cfg, total_bytes=sum(f.size for f in self._files))
        out = (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(read).with_outputs(DROPPED, FILES, main="docs")
        )
        docs = out.docs | "Rebalance" >> beam.Reshuffle() if self._cfg.rebalance else out.docs
        return {"docs": docs, DROPPED: out[DROPPED], FILES: out[FILES]}
