"""A gzip or zstd file read line by line, knowing which compressed bytes each line came from.

Python's gzip and zstandard readers read ahead (gzip: 128 KiB, all of a small file), so the
raw file position says little about the line just read. Here the raw file is decompressed a
chunk at a time and every chunk's raw and decompressed spans are kept; `raw_pos` maps a
decompressed offset into the chunk that produced it, in proportion. That is exact at chunk
(and file) ends and close in between: good enough to give a read error a byte range in the
compressed file, which a deflate or zstd stream does not define any finer.
"""

from __future__ import annotations

import zlib
from collections import deque
from typing import BinaryIO

import zstandard

_RAW_CHUNK = 1 << 16
_SLICE = 2048  # raw bytes per decompressor call


class Decompressed:
    """`readline(limit)` and `raw_pos(offset)` over a gzip (any number of members) or zstd
    (any number of frames) file. A corrupt or truncated stream raises from `readline`
    (zlib.error, zstandard.ZstdError, EOFError) once the whole lines before the damage are read."""

    def __init__(self, fh: BinaryIO, compression: str):
        self._fh = fh
        self._new = _gzip if compression == "gzip" else _zstd
        self._d = self._new()
        self._fed = False  # the current member/frame has been given bytes
        self._raw = fh.tell()  # raw offset read up to
        self._buf = b""
        self._off = 0  # read position in _buf
        self._dpos = 0  # decompressed offset of _buf[0]
        self._spans: deque[tuple[int, int, int, int]] = deque()  # (d_start, d_end, r_start, r_end)
        self._done = False
        self._error: Exception | None = None  # raised once the lines before it are read

    def readline(self, limit: int) -> bytes:
        while True:
            nl = self._buf.find(b"\n", self._off, self._off + limit)
            if nl < 0 and self._error is not None:  # the partial line goes with the damage
                raise self._error
            if nl >= 0 or len(self._buf) - self._off >= limit or self._done:
                end = nl + 1 if nl >= 0 else min(len(self._buf), self._off + limit)
                line, self._off = self._buf[self._off : end], end
                return line
            self._fill()

    def raw_pos(self, offset: int) -> int:
        """The raw offset that decompressed offset `offset` maps to (spans before it are dropped)."""
        while len(self._spans) > 1 and self._spans[0][1] < offset:
            self._spans.popleft()
        if not self._spans:
            return self._raw
        d0, d1, r0, r1 = self._spans[0]
        if offset >= d1 or d1 == d0:
            return r1
        return r0 + (max(offset, d0) - d0) * (r1 - r0) // (d1 - d0)

    def _fill(self) -> None:
        """Decompress the next raw chunk, a slice at a time: a decompressor that fails drops
        the output of the call that failed, so the slices keep what came before the damage."""
        if self._off > len(self._buf) // 2:  # drop what was handed out
            self._dpos += self._off
            self._buf, self._off = self._buf[self._off :], 0
        data = self._fh.read(_RAW_CHUNK)
        if not data:
            self._done = True
            if self._fed and not self._d.eof:
                self._error = EOFError("compressed file ended before the end of its stream")
            return
        for i in range(0, len(data), _SLICE):
            r0 = self._raw
            self._raw += len(data[i : i + _SLICE])
            try:
                produced = self._decompress(data[i : i + _SLICE])
            except Exception as e:  # noqa: BLE001 - zlib.error, ZstdError: raised once the lines before are read
                self._error, self._done = e, True
                return
            d0 = self._dpos + len(self._buf)
            self._spans.append((d0, d0 + len(produced), r0, self._raw))
            self._buf += produced

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            self._fed = True
            out.append(self._d.decompress(data))
            if not self._d.eof:
                break
            data = self._d.unused_data
            if data and not data.strip(b"\x00"):  # gzip may be padded with zeros
                break
            self._d, self._fed = self._new(), False
        return b"".join(out)

    def tell(self) -> int:
        """Decompressed offset of the next line."""
        return self._dpos + self._off


def _gzip():
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


def _zstd():
    return zstandard.ZstdDecompressor().decompressobj()
