"""JSON Lines (.jsonl, .gz, .zst) with a `text` or an `html` field (plain Python, no Beam)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from typing import BinaryIO

import zstandard

from edumix.core.config import ReadConfig
from edumix.core.record import Drop, RawRecord

from .errors import read_error
from .fields import record_from_fields


def open_text(fh: BinaryIO, compression: str | None) -> io.TextIOBase:
    if compression == "gzip":
        fh = gzip.GzipFile(fileobj=fh)
    elif compression == "zstd":
        fh = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    return io.TextIOWrapper(fh, encoding="utf-8", errors="strict", newline="\n")


def iter_jsonl(
    fh: BinaryIO, source_file: str, cfg: ReadConfig, compression: str | None = None
) -> Iterator[RawRecord | Drop]:
    """One record per non-blank line; `source_offset` is the 1-based line number.
    A bad line is a `read_error` and reading goes on; a broken stream ends the file."""
    lineno = 0
    lines = open_text(fh, compression)
    try:
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield read_error(source_file, lineno, "jsonl", f"bad JSON: {e}")
                continue
            if not isinstance(obj, dict):
                yield read_error(source_file, lineno, "jsonl", f"expected an object, got {type(obj).__name__}")
                continue
            yield record_from_fields(obj, source_file, lineno, "jsonl", cfg)
    except Exception as e:  # noqa: BLE001 - truncated/corrupt compressed stream
        yield read_error(source_file, lineno + 1, "jsonl", e)
