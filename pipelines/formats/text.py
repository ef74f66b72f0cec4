"""Text a later stage can always handle: repaired once, where it is read.

JSON allows `\\ud800` (a lone surrogate) and `\\u0000`; a decoder can hand back the same.
Python holds such strings, but encoding them (a hash, an Arrow column, a file) raises,
and one record would then crash the whole run. The readers pass every string they
produce (text, HTML, URL, date) through `repair_text`, which replaces lone surrogates,
NUL and the Unicode noncharacters (U+FDD0..U+FDEF and U+xFFFE/U+xFFFF of every plane)
with U+FFFD and counts them. The count rides on the raw record's metadata and becomes the
document's `text_repaired` signal.
"""

from __future__ import annotations

import re

from edumix.core.record import TEXT_REPAIRED as REPAIRED

REPLACEMENT = "\ufffd"

_NONCHARACTERS = "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
_INVALID = re.compile(f"[\x00\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]")


def repair_text(text: str) -> tuple[str, int]:
    """(text with every lone surrogate, NUL and noncharacter replaced by U+FFFD, how many)."""
    if text.isascii() and "\x00" not in text:  # the common case, without a regex pass
        return text, 0
    return _INVALID.subn(REPLACEMENT, text)


def repair_optional(value: str | None) -> tuple[str | None, int]:
    return (None, 0) if value is None else repair_text(value)


def note_repairs(metadata: dict[str, str], count: int) -> None:
    """Record `count` replaced code points on a record (nothing when none were)."""
    if count:
        metadata[REPAIRED] = str(count)
