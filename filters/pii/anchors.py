"""Pre-screen anchors: cheap regexes every configured entity's values contain, so presidio
only analyses windows around them (see the package docstring)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable

from .digits import DIGIT_CHAIN, MIN_DIGITS, digit_count
from .guards import looks_like_date

_EMAIL_ANCHOR = re.compile(r"[!#$%&'*+\-/=?^_`{|}~\w]@\w")  # presidio's email: local char, @, word char
_IBAN_ANCHOR = re.compile(r"[^\W\d_]{2}\d{2}")  # country code + check digits ([A-Z], any case-folding)
_IPV4_ANCHOR = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_IPV6_ANCHOR = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*")  # kept only with a digit
_ANCHORS_BY_ENTITY = {
    "EMAIL_ADDRESS": (_EMAIL_ANCHOR,),
    "IBAN_CODE": (_IBAN_ANCHOR,),
    "IP_ADDRESS": (_IPV4_ANCHOR, _IPV6_ANCHOR),
}
ANCHORED_ENTITIES = frozenset(MIN_DIGITS) | frozenset(_ANCHORS_BY_ENTITY)
_SINGLE_DECIMAL = re.compile(r"\d+\.\d+")


def _is_digit_anchor(chain: str, min_digits: int) -> bool:
    """A digit chain that can hold a digit-shaped entity: enough digits, and not a date or
    a plain decimal number (the guards reject every span such a chain alone carries)."""
    return digit_count(chain) >= min_digits and not _SINGLE_DECIMAL.fullmatch(chain) and not looks_like_date(chain)


class Anchors:
    """Where configured entities can be: the pre-screen's windows are built around these
    spans, and `find` keeps only results that overlap one (and, when they contain
    whitespace, lie within MARGIN of the anchors), so the windows provably contain them."""

    def __init__(self, entities: Iterable[str]):
        entities = set(entities)
        mins = [MIN_DIGITS[e] for e in entities if e in MIN_DIGITS]
        self.min_digits = min(mins) if mins else None
        self.regexes = tuple(rx for e in sorted(entities & set(_ANCHORS_BY_ENTITY)) for rx in _ANCHORS_BY_ENTITY[e])

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted anchor spans of `text`."""
        out = []
        if self.min_digits is not None:
            md = self.min_digits
            out += [m.span() for m in DIGIT_CHAIN.finditer(text) if _is_digit_anchor(m.group(), md)]
        for rx in self.regexes:
            if rx is _IPV6_ANCHOR:
                out += [m.span() for m in rx.finditer(text) if any(c.isdigit() for c in m.group())]
            else:
                out += [m.span() for m in rx.finditer(text)]
        out.sort()
        return out

    @staticmethod
    def reach(spans: list[tuple[int, int]], margin: int) -> list[tuple[int, int]]:
        """The anchors widened by `margin` on both sides, merged."""
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a - margin <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b + margin)
            else:
                merged.append([a - margin, b + margin])
        return [(a, b) for a, b in merged]

    @staticmethod
    def windows(
        text: str, spans: list[tuple[int, int]], margin: int, extend_left: Callable[[str, int], int] | None = None
    ) -> list[tuple[int, int]]:
        """Disjoint [start, end) windows: the anchors +- margin, the start moved left by
        `extend_left(text, start)` (default: to the start of its word), the end snapped right to
        whitespace, overlapping windows merged."""
        n = len(text)
        out: list[list[int]] = []
        for s, e in Anchors.reach(spans, margin):
            s = (extend_left or _word_start)(text, max(0, s))
            e = min(n, e)
            while e < n and not text[e].isspace():
                e += 1
            if out and s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return [(s, e) for s, e in out]

    @staticmethod
    def covers(text: str, spans: list[tuple[int, int]], reach: list[tuple[int, int]], start: int, end: int) -> bool:
        """Whether a result [start, end) overlaps an anchor and, if it holds whitespace, lies
        inside one merged reach interval."""
        k = bisect_left(spans, (end,))
        if not any(start < b for _, b in spans[:k]):
            return False
        if not any(c.isspace() for c in text[start:end]):
            return True
        j = bisect_right(reach, (start, float("inf"))) - 1
        return j >= 0 and reach[j][0] <= start and end <= reach[j][1]


def _word_start(text: str, i: int) -> int:
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i
