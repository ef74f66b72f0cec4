"""The one way a reader reports a record it could not read."""

from __future__ import annotations

from edumix.core.hashing import content_digest
from edumix.core.record import Drop, RawRecord
from edumix.core.stages import READ

from .text import repair_text


def read_error(source_file: str, offset: int, fmt: str, error: BaseException | str, url: str | None = None) -> Drop:
    detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}".strip()
    raw = RawRecord(
        url=url,
        crawl_date=None,
        source_file=source_file,
        source_offset=offset,
        source_format=fmt,
        digest=content_digest(f"{source_file}@{offset}".encode()),
    )
    detail = repair_text(" ".join(detail.split())[:500])[0]  # an exception may quote what it could not read
    return Drop.of_raw(READ, "read_error", raw, detail=detail)
