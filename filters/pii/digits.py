"""Digit chains: the shape every digit-based entity (phone, SSN, card) is found in."""

from __future__ import annotations

import re

import phonenumbers

# A digit chain: digit runs joined by 1-4 of libphonenumber's punctuation characters (what
# PhoneNumberMatcher allows between digit blocks; it includes space, '-', '.', '/', '(', ')'
# and 'x') or tabs. Newlines break chains: no configured recognizer matches across one.
_PHONE_PUNCT = getattr(
    phonenumbers.phonenumberutil,
    "_VALID_PUNCTUATION",
    "-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000"
    "()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e",
)
_SEP = f"[{_PHONE_PUNCT}Xx\t]"
DIGIT_CHAIN = re.compile(rf"\d+(?:{_SEP}{{1,4}}\d+)*")
# Fewest digits in one chain for each digit-shaped entity (phone: a guard enforces it; SSN
# and card: implied by presidio's patterns and ours).
MIN_DIGITS = {"PHONE_NUMBER": 6, "US_SSN": 9, "CREDIT_CARD": 12}


def digit_count(s: str) -> int:
    return sum(c.isdigit() for c in s)


def max_chain_digits(s: str) -> int:
    return max((digit_count(m.group()) for m in DIGIT_CHAIN.finditer(s)), default=0)
