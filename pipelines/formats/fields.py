"""Turn a JSONL object or a Parquet row into a RawRecord, the same way for both."""

from __future__ import annotations

from typing import Any

from edumix.core.config import ReadConfig
from edumix.core.hashing import content_digest
from edumix.core.record import Drop, RawRecord

from .errors import read_error
from .text import note_repairs, repair_text


def record_from_fields(
    row: dict[str, Any], source_file: str, offset: int, fmt: str, cfg: ReadConfig, repaired: int = 0
) -> RawRecord | Drop:
    """`repaired`: code points the caller already replaced (bytes that were not UTF-8)."""
    text, html = row.get(cfg.text_field), row.get(cfg.html_field)
    url, date = row.get(cfg.url_field), row.get(cfg.date_field)
    for name, value in ((cfg.text_field, text), (cfg.html_field, html), (cfg.url_field, url)):
        if value is not None and not isinstance(value, str):
            return read_error(source_file, offset, fmt, f"field {name!r} is {type(value).__name__}, not a string")
    if text is None and html is None:
        return read_error(source_file, offset, fmt, f"neither {cfg.text_field!r} nor {cfg.html_field!r} field")

    def clean(value: Any) -> str | None:  # once, here: no later stage sees an unencodable string
        nonlocal repaired
        if value is None:
            return None
        value, n = repair_text(str(value))
        repaired += n
        return value

    text, html, url, date = clean(text), clean(html), clean(url), clean(date)
    payload = (text if text is not None else html).encode("utf-8")
    raw = RawRecord(
        url=url or None,
        crawl_date=date,
        source_file=source_file,
        source_offset=offset,
        source_format=fmt,
        digest=content_digest(payload),
        body_length=len(payload),
    )
    note_repairs(raw.metadata, repaired)
    if len(payload) > cfg.max_record_bytes:
        raw.kind = "oversize"
    elif text is not None:
        raw.kind, raw.text = "text", text
    else:
        raw.kind, raw.body, raw.content_type = "html", payload, "text/html"
    return raw
