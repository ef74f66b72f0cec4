"""Where every byte of one input file went: to records read, to read errors, or to framing.

A reader moves one cursor through the file and says, each time it moves it, what the bytes
it passed over held: a record (a document, or any other record it yields, such as a WARC
request), a `read_error` (which then carries its byte range), or framing (bytes that hold
no record by the format's rules: the Parquet magic and footer, blank JSONL lines, an empty
gzip member). The cursor only moves forward, so the three never overlap; whatever is behind
the cursor when the reader stops is unattributed, and the run's accounting check fails on it.

Compressed streams (JSONL in gzip or zstd, a gzip member holding several WARC records) are
attributed as the decompressor consumes them: exact at member and file ends, and in
between as fine as the decompressor reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from edumix.core.record import Drop

from .errors import read_error

RECORDS, READ_ERRORS, FRAMING = "records", "read_errors", "framing"
MAX_RANGES = 100  # read-error ranges listed per file in report.json (the byte totals are always complete)


@dataclass
class ErrorRange:
    start: int
    end: int
    read_errors: int
    detail: str
    unit: str | None = None  # "line" (JSONL) or "row" (Parquet): the reader's own unit
    first: int | None = None  # first and last line / row, 1-based lines, 0-based rows, inclusive
    last: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"bytes": [self.start, self.end], "read_errors": self.read_errors, "detail": self.detail}
        if self.unit is not None:
            out[f"{self.unit}s"] = [self.first, self.last]
        return out


@dataclass
class ByteAccount:
    size: int
    cursor: int = 0
    bytes: dict[str, int] = field(default_factory=lambda: {RECORDS: 0, READ_ERRORS: 0, FRAMING: 0})
    ranges: list[ErrorRange] = field(default_factory=list)
    omitted_ranges: int = 0

    @classmethod
    def of(cls, fh: BinaryIO) -> ByteAccount:
        """An account for a file whose size nobody measured yet (the readers' own tests)."""
        here = fh.tell()
        size = fh.seek(0, os.SEEK_END)
        fh.seek(here)
        return cls(size)

    @property
    def unattributed(self) -> int:
        """Bytes no reader accounted for (negative: the file grew while it was read)."""
        return self.size - self.cursor

    def to(self, end: int, what: str) -> None:
        """Attribute the bytes from the cursor up to `end` to records or framing."""
        if end > self.cursor:
            self.bytes[what] += end - self.cursor
            self.cursor = end

    def take(self, end: int, item: Any, unit: str | None = None, first: int | None = None, last=None) -> Any:
        """Attribute the bytes up to `end` to `item`, a record or a read_error Drop (which then
        carries its byte range); returns `item`."""
        if isinstance(item, Drop) and item.reason == "read_error":
            self._error(end, item, unit, first, last)
        else:
            self.to(end, RECORDS)
        return item

    def error(
        self,
        end: int,
        source_file: str,
        offset: int,
        fmt: str,
        detail: str,
        url: str | None = None,
        unit: str | None = None,
        first: int | None = None,
        last: int | None = None,
    ) -> Drop:
        """One read_error for the bytes from the cursor up to `end`."""
        return self.take(end, read_error(source_file, offset, fmt, detail, url=url), unit, first, last)

    def _error(self, end: int, drop: Drop, unit, first, last) -> None:
        start = self.cursor
        end = max(end, start)
        self.bytes[READ_ERRORS] += end - start
        self.cursor = end
        where = f"bytes {start}-{end}"
        if unit is not None:
            where += f", {unit} {first}" if first == last else f", {unit}s {first}-{last}"
        detail, drop.detail = drop.detail, f"{where}: {drop.detail}"[:500]
        drop.doc.metadata["byte_start"], drop.doc.metadata["byte_end"] = str(start), str(end)
        prev = self.ranges[-1] if self.ranges else None
        if prev is not None and prev.end == start and prev.unit == unit:  # adjacent: one range
            prev.end, prev.read_errors, prev.last = end, prev.read_errors + 1, last
        elif len(self.ranges) < MAX_RANGES:
            self.ranges.append(ErrorRange(start, end, 1, detail, unit, first, last))
        else:
            self.omitted_ranges += 1
