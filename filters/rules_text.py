"""Word tokens shared by edumix's own rules (dup n-grams, dirty words, KL).

Python's `\\w` leaves out combining marks (Unicode category M: Devanagari and Bengali vowel
signs, Arabic harakat...), so `re.findall(r"\\w+", "हिंदी")` cuts the word into pieces.
Words here are runs of `\\w` or combining marks. Characters of scripts that do not put
spaces between words (CJK ideographs, kana, hangul syllables, Thai, Lao, Khmer, Myanmar,
Tibetan) are one token each.
"""

from __future__ import annotations

import re
import sys
import unicodedata

SOLO_RANGES = (
    "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)


def _mark_ranges() -> str:
    """Every combining mark (category M*) as a regex character-class body of ranges."""
    out, start, prev = [], None, None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            if start is None:
                start = cp
            elif cp != prev + 1:
                out.append((start, prev))
                start = cp
            prev = cp
    if start is not None:
        out.append((start, prev))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in out)


_MARKS = _mark_ranges()
# A word: \w or marks, excluding the solo scripts; or one solo character.
WORD = re.compile(rf"[{SOLO_RANGES}]|(?:[^\W{SOLO_RANGES}]|[{_MARKS}])+")


def words(text: str) -> list[str]:
    """Case-folded word tokens (see the module docstring)."""
    return WORD.findall(text.casefold())
