"""Where each Parquet row group's bytes lie, read from the footer here rather than through
pyarrow: pyarrow's `RowGroupMetaData.column()` aborts the whole process (an uncaught C++
exception, pyarrow 25) on a damaged column chunk's size statistics, so a reader that must
survive any input cannot call it. Only the Thrift compact protocol is decoded, and only the
row groups' column chunk offsets are kept."""

from __future__ import annotations

import struct

_MAX_DEPTH = 32


class FooterError(ValueError):
    pass


def row_group_spans(data_tail: bytes) -> list[tuple[int, int]]:
    """[start, end) of every row group's column chunks, from the file's last bytes
    (`...footer, 4-byte footer length, PAR1`; at least the whole footer)."""
    if len(data_tail) < 8 or data_tail[-4:] != b"PAR1":
        raise FooterError("no Parquet footer")
    (length,) = struct.unpack("<I", data_tail[-8:-4])
    if length > len(data_tail) - 8:
        raise FooterError("footer longer than the bytes given")
    meta, _ = _Compact(data_tail[-8 - length : -8]).struct(0)
    spans = []
    for group in _list(meta.get(4)):
        starts, ends = [], []
        for chunk in _list(_dict(group).get(1)):
            col = _dict(_dict(chunk).get(3))
            start = _int(col.get(9))
            if _int(col.get(11, 0)) > 0:
                start = min(start, _int(col[11]))
            starts.append(start)
            ends.append(start + _int(col.get(7)))
        spans.append((min(starts), max(ends)) if starts else (0, 0))
    return spans


def _list(v) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise FooterError("expected a list")
    return v


def _dict(v) -> dict:
    if not isinstance(v, dict):
        raise FooterError("expected a struct")
    return v


def _int(v) -> int:
    if not isinstance(v, int) or v < 0:
        raise FooterError("expected an offset")
    return v


class _Compact:
    """A Thrift compact-protocol decoder: structs as {field id: value}, lists as lists."""

    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise FooterError("footer ends early")
        self.pos += 1
        return self.buf[self.pos - 1]

    def varint(self) -> int:
        out = shift = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7
            if shift > 70:
                raise FooterError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int, depth: int):
        if depth > _MAX_DEPTH:
            raise FooterError("footer nested too deep")
        if kind in (1, 2):
            return kind == 1
        if kind == 3:
            return self.byte()
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            self.pos += 8
            return None
        if kind == 8:
            n = self.varint()
            if self.pos + n > len(self.buf):
                raise FooterError("footer ends early")
            self.pos += n
            return None  # strings and binaries: not needed
        if kind in (9, 10):
            head = self.byte()
            n, elem = head >> 4, head & 0x0F
            if n == 15:
                n = self.varint()
            if n > len(self.buf):
                raise FooterError("list longer than the footer")
            if elem in (1, 2):  # booleans in a list take a byte each
                return [self.byte() == 1 for _ in range(n)]
            return [self.value(elem, depth + 1) for _ in range(n)]
        if kind == 11:
            n = self.varint()
            if n > len(self.buf):
                raise FooterError("map longer than the footer")
            if n:
                types = self.byte()
                for _ in range(n):
                    self.value(types >> 4, depth + 1)
                    self.value(types & 0x0F, depth + 1)
            return None
        if kind == 12:
            return self.struct(depth + 1)[0]
        raise FooterError(f"unknown Thrift type {kind}")

    def struct(self, depth: int) -> tuple[dict, int]:
        out, fid = {}, 0
        while True:
            head = self.byte()
            kind = head & 0x0F
            if kind == 0:
                return out, self.pos
            delta = head >> 4
            fid = fid + delta if delta else self.zigzag()
            out[fid] = self.value(kind, depth)
