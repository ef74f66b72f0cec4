"""Line dedup pieces (Llama 3 style): count normalised lines per bucket of documents and
remove the lines that recur in many documents of a bucket (navigation, footers, cookie
banners). Plain Python; the Beam wiring is in pipelines/dedup.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

import xxhash

_DIGIT = re.compile(r"\d")  # Unicode decimal digits
_KEY_OFFSET = 1 << 63
_HEX15 = re.compile(r"[0-9a-fA-F]{15}")


def normalize_line(line: str) -> str:
    """The counting form of a line: NFKC, lower-case, digits -> 0, whitespace collapsed.

    Digits go to 0 so boilerplate that differs only in numbers ("(c) 2023 Example Inc." and
    "(c) 2024 Example Inc.", "Page 3 of 7") counts as one line. "" for a line with no
    letter or digit (blank, rules, lone punctuation): such lines are never counted or removed.
    """
    text = _DIGIT.sub("0", unicodedata.normalize("NFKC", line).lower())
    text = " ".join(text.split())
    return text if any(ch.isalnum() for ch in text) else ""


def _key(bucket: int, normalized: str) -> int:
    """xxh64 of the bucket and the line, as a SIGNED 64-bit int: Beam's VarIntCoder (which
    it infers for ints) overflows on the unsigned digest's upper half. Stable across
    processes and machines, unlike hash()."""
    data = f"{bucket}\x00{normalized}".encode("utf-8", "surrogatepass")  # lone surrogates happen
    return xxhash.xxh64_intdigest(data) - _KEY_OFFSET


def line_keys(text: str, bucket: int) -> set[int]:
    """The distinct keys of a document's lines (text.split("\\n")) in its bucket: a line
    repeated within one document counts once, so counts are numbers of documents."""
    keys = set()
    for line in text.split("\n"):
        normalized = normalize_line(line)
        if normalized:
            keys.add(_key(bucket, normalized))
    return keys


def bucket_of(doc_id: str, num_buckets: int) -> int:
    """Deterministic bucket of a hex document id (32 hex chars, edumix.core.hashing.make_doc_id).

    Uses id[15:30], not id[:15] like pipelines.write.shard_of, so buckets are independent of
    output shards. An id without 15 hex digits there falls back to xxh64 of the whole id.
    """
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be >= 1, got {num_buckets}")
    part = doc_id[15:30]
    if _HEX15.fullmatch(part):
        return int(part, 16) % num_buckets
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass")) % num_buckets


def remove_frequent_lines(text: str, bucket: int, frequent: Container[int]) -> tuple[str, int]:
    """`text` without every line whose key is in `frequent`, and how many lines went.

    All occurrences go (a frequent line is boilerplate wherever it sits). Kept lines stay
    byte-for-byte and in order. Blank lines around a removed block are merged so removal
    leaves no holes: between kept lines at most one blank line (none if there was none),
    none at the start or end of the text. Blank lines away from removals are untouched.
    Only removed lines are counted, not merged blank lines. Text with nothing to remove is
    returned as is.
    """
    lines = text.split("\n")
    out: list[str] = []
    gap: list[str] = []  # blank lines since the last kept non-blank line
    gap_removed = False  # whether a line was removed in that gap
    removed = 0
    for line in lines:
        normalized = normalize_line(line)
        if normalized and _key(bucket, normalized) in frequent:
            removed += 1
            gap_removed = True
        elif not line.strip():
            gap.append(line)
        else:
            if not gap_removed:
                out.extend(gap)
            elif out and gap:
                out.append(gap[0])
            out.append(line)
            gap, gap_removed = [], False
    if not removed:
        return text, 0
    if not gap_removed:
        out.extend(gap)
    return "\n".join(out), removed
