"""File formats edumix reads, and how a file's format is recognised.

Plain Python over a binary file object, so the readers are tested without Beam and the
Beam source (`pipelines.read`) only opens files and fans them out.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

from edumix.core.config import ReadConfig
from edumix.core.record import Drop, RawRecord

from .account import ByteAccount
from .jsonl import iter_jsonl
from .parquet import iter_parquet
from .warc import iter_warc

_BY_SUFFIX = [
    ((".warc", ".warc.gz", ".arc", ".arc.gz", ".wet", ".wet.gz", ".wat", ".wat.gz"), ("warc", None)),
    ((".jsonl", ".ndjson", ".json"), ("jsonl", None)),
    ((".jsonl.gz", ".ndjson.gz", ".json.gz"), ("jsonl", "gzip")),
    ((".jsonl.zst", ".ndjson.zst", ".json.zst"), ("jsonl", "zstd")),
    ((".parquet",), ("parquet", None)),
]
_GZIP, _ZSTD, _PARQUET = b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"PAR1"


def format_from_name(path: str) -> tuple[str, str | None] | None:
    name = path.lower()
    for suffixes, fmt in _BY_SUFFIX:
        if name.endswith(suffixes):
            return fmt
    return None


def sniff_format(head: bytes) -> tuple[str, str | None] | None:
    """Recognise a file by its first bytes, for names that say nothing (`x.warc.gz.bad`)."""
    compression = None
    if head.startswith(_GZIP):
        compression = "gzip"
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return None
    elif head.startswith(_ZSTD):
        return "jsonl", "zstd"
    elif head.startswith(_PARQUET):
        return "parquet", None
    stripped = head.lstrip()
    if stripped.startswith((b"WARC/", b"filedesc://")):
        return "warc", None  # warcio reads gzip members itself
    if stripped.startswith(b"{"):
        return "jsonl", compression
    return None


def detect_format(path: str, head: bytes, configured: str = "auto") -> tuple[str, str | None] | None:
    if configured != "auto":
        compression = "gzip" if head.startswith(_GZIP) else "zstd" if head.startswith(_ZSTD) else None
        return configured, (None if configured != "jsonl" else compression)
    return format_from_name(path) or sniff_format(head)


def iter_records(
    fh: BinaryIO, path: str, cfg: ReadConfig, account: ByteAccount | None = None
) -> Iterator[RawRecord | Drop]:
    """Every record of one file, as RawRecord or Drop; never raises for bad content. Every
    byte of the file ends up in `account` (see .account), as a record's, a read error's or
    framing."""
    account = account if account is not None else ByteAccount.of(fh)
    head = fh.read(4096)
    fh.seek(0)
    detected = detect_format(path, head, cfg.format)
    if detected is None:
        detail = f"unrecognised file format (first bytes {head[:16]!r})"
        yield account.error(account.size, path, 0, "unknown", detail)
        return
    fmt, compression = detected
    if fmt == "warc":
        yield from iter_warc(fh, path, cfg.max_record_bytes, account)
    elif fmt == "jsonl":
        yield from iter_jsonl(fh, path, cfg, compression, account)
    else:
        yield from iter_parquet(fh, path, cfg, account)


def is_known_format(path: str) -> bool:
    """Whether a file name says a format edumix reads (how a directory input is expanded)."""
    return format_from_name(path) is not None


__all__ = ["ByteAccount", "detect_format", "format_from_name", "is_known_format", "iter_records", "sniff_format"]
