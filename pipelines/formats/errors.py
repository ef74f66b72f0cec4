"""The one way a reader reports a record it could not read."""

from __future__ import annotations

from edumix.core.hashing import content_digest
from edumix.core.record import Drop, RawRecord
from edumix.core.stages import READ


def read_error(source_file: str, offset: int, fmt: str, error: BaseException | str) -> Drop:
    detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}".strip()
    raw = RawRecord(
        url=None,
        crawl_date=None,
        source_file=source_file,
        source_offset=offset,
        source_format=fmt,
        digest=content_digest(f"{source_file}@{offset}".encode()),
    )
    return Drop.of_raw(READ, "read_error", raw, detail=" ".join(detail.split())[:500])
