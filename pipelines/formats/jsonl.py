"""JSON Lines (.jsonl, .gz, .zst) with a `text` or an `html` field (plain Python, no Beam).

Each line is decoded on its own, so a bad line (invalid UTF-8, bad JSON, not an object)
is one `read_error` with its line and byte range, and reading goes on with the next line.
A compressed stream that breaks (a truncated or corrupt gzip/zstd file) ends the file: the
compressed bytes from there on are one read_error (a deflate stream has no point to
resume from, and the line numbers after a gap would be guesses). Lines the decompressor
makes of damaged bytes before it notices are bad lines like any other. In a compressed
file a line's byte range is mapped back through .stream.Decompressed (close, not exact).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from edumix.core.config import ReadConfig
from edumix.core.record import Drop, RawRecord

from .account import FRAMING, ByteAccount
from .fields import record_from_fields
from .stream import Decompressed

# A line longer than this is a read_error, read past in chunks rather than held in memory:
# JSON escapes a payload to at most 6x its size, so no line under it holds a record that
# read.max_record_bytes would carry (longer records are `oversize`, counted at extraction).
_LINE_SLACK = 8
_CHUNK = 1 << 20


def iter_jsonl(
    fh: BinaryIO,
    source_file: str,
    cfg: ReadConfig,
    compression: str | None = None,
    account: ByteAccount | None = None,
) -> Iterator[RawRecord | Drop]:
    """One record per non-blank line; `source_offset` is the 1-based line number."""
    account = account if account is not None else ByteAccount.of(fh)
    if compression is None:
        lines, raw_pos = fh, _same
    else:
        lines = Decompressed(fh, compression)
        raw_pos = lines.raw_pos
    max_line = cfg.max_record_bytes * _LINE_SLACK
    lineno = 0
    try:
        while line := lines.readline(max_line + 1):
            lineno += 1
            if len(line) > max_line and not line.endswith(b"\n"):
                yield from _skip_long_line(lines, lineno, max_line, raw_pos, source_file, account)
                continue
            yield from _line(line, lineno, raw_pos(lines.tell()), source_file, cfg, account)
    except Exception as e:  # noqa: BLE001 - a truncated/corrupt compressed stream ends the file
        yield account.error(account.size, source_file, lineno + 1, "jsonl", f"{type(e).__name__}: {e}")
        return
    account.to(account.size, FRAMING)  # compressed: the stream's trailer


def _same(offset: int) -> int:
    return offset


def _skip_long_line(lines, lineno: int, max_line: int, raw_pos, source_file: str, account: ByteAccount):
    """Read past the rest of a line too long to hold: one read_error for all of it."""
    while more := lines.readline(_CHUNK):
        if more.endswith(b"\n"):
            break
    detail = f"line longer than {max_line} bytes"
    yield account.error(raw_pos(lines.tell()), source_file, lineno, "jsonl", detail, None, "line", lineno, lineno)


def _line(line: bytes, lineno: int, end: int, source_file: str, cfg: ReadConfig, account: ByteAccount):
    def error(detail: str) -> Drop:
        return account.error(end, source_file, lineno, "jsonl", detail, None, "line", lineno, lineno)

    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        yield error(f"invalid UTF-8 at byte {e.start} of the line ({line[e.start : e.start + 4]!r})")
        return
    if not text.strip():
        account.to(end, FRAMING)
        return
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        yield error(f"bad JSON: {e}")
        return
    if not isinstance(obj, dict):
        yield error(f"expected an object, got {type(obj).__name__}")
        return
    item = record_from_fields(obj, source_file, lineno, "jsonl", cfg)
    yield account.take(end, item, "line", lineno, lineno)
