"""Phone numbers on libphonenumber's rules: candidates, a tier per candidate, cues on both sides.

    detector = PhoneDetector(PiiConfig().phone_regions)     # once per process (verdicts are cached)
    detector.find("Ruf an: 030 1234567 (Büro)")               # [PhoneSpan(8, 19, '030 1234567', ...)]
    detector.find(text, guard_reason)                         # with the precision guards applied

Why: hand-written phone patterns fit the sentences they were written against (issue 15: 11 of
23 held-out phone numbers leaked); libphonenumber knows the numbering plan of every region.

1. Candidates. libphonenumber's own `PhoneNumberMatcher` finds them (its candidate pattern,
   brackets, publication pages, dates, time stamps, inner matches, extensions), but only
   around digit chains of at least 6 digits: parsing every year and page number is what made
   presidio's phone recognizer slow on real text. One matcher pass whatever the region list:
   the region loop sits inside `_parse_and_verify`.
2. A tier per candidate string (`RegionIndex.classify`, cached):
   INTERNATIONAL  '+' (an E.123 '(0)' after the country code dropped) or an international
                  dialling prefix (00, 011...), and valid;
   VALID          a valid national number of a listed region; one region per calling code,
                  behind a prefilter on the region's possible lengths and general pattern, so
                  a long region list costs regex matches, not parses;
   POSSIBLE       a possible length for a listed region, national or international.
3. Acceptance. INTERNATIONAL stands alone. VALID stands alone when it also looks like a phone
   number and not like a count or an id: at least 7 digits, more than one digit group, not
   thousands grouping (1.234.567), and grouped the way its region writes it (EXACT_GROUPING)
   or starting with a trunk '0'. Anything else at least POSSIBLE needs a cue: a cue word
   (phone, Tel., fax, Handy, телефон, 电话...) among the 5 words before or the 3 words after
   it, a label word (home, office, desk...) right next to it ("Office: ...", "... (home)"), or
   being the next item of a list whose neighbour was accepted ("0123 456789 or 0123 456780").

Guards (code, math, dates, prices...) are the caller's: `find(text, guard)` applies
guard(text, "PHONE_NUMBER", start, end, cued) last, and the presidio recognizer
(`recognizers.LibPhoneRecognizer`) returns unguarded results with the cue flag for the
scrubber's guard. Cues and the list rule look at most 48 characters before and 24 after a
candidate, never across a blank line, so the pre-screen's windows (+-64 characters around
anchors, joined by blank lines) give the same answer as the whole text.

Relies on private helpers of phonenumbers.phonenumbermatcher (`_verify`, `_MATCHING_BRACKETS`,
`_PUB_PAGES`, `_LEAD_PATTERN`), unchanged since the Python port began; tests/test_phones.py pins them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

import phonenumbers
from phonenumbers import (
    Leniency,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberMatch,
    PhoneNumberMatcher,
    is_possible_number,
    is_valid_number,
    normalize_digits_only,
    region_code_for_number,
)
from phonenumbers import phonenumbermatcher as _pm
from phonenumbers.phonenumberutil import CountryCodeSource

from edumix.core.config import PiiConfig

from .anchors import Anchors
from .digits import DIGIT_CHAIN, MIN_DIGITS, digit_count

ENTITY = "PHONE_NUMBER"
DEFAULT_REGIONS: tuple[str, ...] = PiiConfig.model_fields["phone_regions"].default
# guard(text, entity, start, end, cued) -> why the span is not PII, or None (guards.guard_reason)
Guard = Callable[[str, str, int, int, bool], "str | None"]

BASE_SCORE = 0.4  # presidio's PhoneRecognizer score, and edumix's score_threshold
CUED_SCORE = 0.75  # + presidio's context_similarity_factor (0.35): wins overlaps like a context boost


def _words(text: str) -> tuple[str, ...]:
    """A word list written as comma-separated text (entries may hold spaces: phrases)."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


# Cue words: unambiguous near a number, anywhere in the cue window; whole words (phrases with
# a space), case-insensitive. "text" and "ring" alone are too common: only "text me", "ring us".
CUE_WORDS = _words("""
    phone, phones, telephone, tel, mobile, cell, cellphone, fax, call, call me, call us, dial, text me,
    text us, sms, whatsapp, viber, hotline, helpline, landline, pager, contact, reach me, reach us,
    ring me, ring us, my number, our number,
    telefon, telefonnummer, rufnummer, handy, handynummer, mobilnummer, festnetz, durchwahl, anrufen,
    telefoon, mobiel, bel, bellen, tlf, tfn, mobiltelefon, puhelin, gsm,
    téléphone, tél, portable, télécopie, appelez, appeler, teléfono, telefono, móvil, celular, llame,
    llamar, telefone, telemóvel, ligue, ligar, cellulare, chiamare, chiamate,
    telefonu, komórka, faks, τηλ, τηλέφωνο, κινητό, тел, телефон, телефону, моб, мобильный, факс, звоните,
    फ़ोन, फोन, मोबाइल
""")
# Matched inside words: scripts without spaces between words, and scripts whose articles and
# prepositions attach to the word (Arabic الهاتف "the phone", Hebrew בטלפון "by phone").
CUE_SUBSTRINGS = _words("""
    电话, 電話, 手机, 手機, 传真, 傳真, 携帯, 전화, 휴대폰, 팩스, โทร, điện thoại,
    هاتف, جوال, فاكس, تلفن, تماس, טלפון, פקס, נייד
""")
# Label words: a cue only right next to the number ("Office: 0123 456789", "0123 456789 (home)",
# "... 456789 - Office"); elsewhere they are ordinary words ("work covered ground unix time
# 1066005216" must not be a phone). vCard's TEL types, contact-page labels, and abbreviations
# that are words elsewhere (Swedish "kom", Turkish "cep", chemistry's "pH").
LABEL_WORDS = _words("""
    ph, mob, kom, puh, cep, home, work, office, desk, line, voice, text, video, direct, main, reception,
    switchboard, private, business, mobil, büro, privat, geschäftlich, bureau, domicile, standard,
    oficina, casa, escritório, ufficio, kantoor, thuis, biuro, офис, kontor
""")
CUE_BEFORE_CHARS, CUE_BEFORE_WORDS = 48, 5
CUE_AFTER_CHARS, CUE_AFTER_WORDS = 24, 3
# Between two items of a list of numbers: "(212) 555-0187 or 555-0108", "0123 456789 / 0123 456780".
LIST_GAP = re.compile(r"\s*(?:[,;/|]|\bor\b|\band\b|\bund\b|\boder\b|\bou\b|\bo\b|\by\b|\bet\b)?\s*\Z", re.IGNORECASE)
LIST_GAP_MAX = 8


class Tier(IntEnum):
    """How much libphonenumber vouches for a candidate (higher is stronger)."""

    NONE = 0
    POSSIBLE = 1  # a possible length for a listed region: needs a cue
    VALID = 2  # a valid national number of a listed region
    INTERNATIONAL = 3  # valid, written with '+' or an international dialling prefix


@dataclass(frozen=True)
class Verdict:
    tier: Tier
    region: str | None = None  # the first listed region that made it valid or possible (not geolocation)
    number: PhoneNumber | None = None
    international: bool = False  # '+' or an international dialling prefix


@dataclass(frozen=True)
class PhoneSpan:
    start: int
    end: int
    text: str
    tier: Tier
    region: str | None
    cued: bool  # a cue word or label next to it, or the next item of an accepted list
    score: float


# --------------------------------------------------------------------------- one candidate string


@dataclass(frozen=True)
class _Region:
    region: str
    lengths: frozenset[int]  # possible national number lengths, local-only included
    general: re.Pattern[str]  # every valid national number matches it
    prefix: re.Pattern[str] | None  # national prefix for parsing, when stripping it is plain
    always_parse: bool  # transform rules or capturing prefixes (AR, BR, MX...): no prefilter


def _metadata(region: str) -> PhoneMetadata:
    md = PhoneMetadata.metadata_for_region(region)
    if md is None:
        raise ValueError(f"unknown phone region {region!r}; see phonenumbers.SUPPORTED_REGIONS")
    return md


def _region_info(region: str) -> _Region:
    md = _metadata(region)
    gd = md.general_desc
    npfp = md.national_prefix_for_parsing
    complex_prefix = md.national_prefix_transform_rule is not None or (npfp is not None and "(" in npfp)
    return _Region(
        region=region,
        lengths=frozenset(x for x in (*(gd.possible_length or ()), *(gd.possible_length_local_only or ())) if x > 0),
        general=re.compile(gd.national_number_pattern or r"\d+"),
        prefix=re.compile(npfp) if npfp and not complex_prefix else None,
        always_parse=complex_prefix,
    )


# E.123: "+49 (0)30 ..." shows the trunk prefix that is dropped when dialling from abroad.
_TRUNK_IN_INTERNATIONAL = re.compile(r"^(\s*[+＋]\s*\d{1,3}[\s.-]*)[(（]0[)）]\s*")


class RegionIndex:
    """Classifies candidate strings against a region list, one region per calling code
    (`is_valid_number` checks every region sharing the code). A region's possible lengths
    and general pattern decide without parsing whether a national reading can be possible
    or valid there: a parse costs ~90 us per region, 22 ms for all 245. Cached per string."""

    def __init__(self, regions: Sequence[str], cache_size: int = 1 << 16):
        by_cc: dict[int, str] = {}
        for r in regions:
            by_cc.setdefault(_metadata(r).country_code, r)
        if not by_cc:
            raise ValueError("no phone regions")
        self.regions = tuple(by_cc.values())
        self._info = [_region_info(r) for r in self.regions]
        self._idd: dict[str, re.Pattern[str]] = {}  # the listed regions' international dialling prefixes
        for r in self.regions:
            pattern = _metadata(r).international_prefix
            if pattern:
                self._idd.setdefault(pattern, re.compile(pattern))
        self._matcher = PhoneNumberMatcher("", None, Leniency.VALID)  # lends its grouping checks
        # Many regions touch more metadata regexes than the re module's cache holds (512), and
        # recompiling them was 70% of the time on cold input; libphonenumber's own switch keeps
        # them all (~1,300, a few hundred kB). Process-wide: other libphonenumber users gain too.
        phonenumbers.enable_pattern_cache()
        self._cache: dict[str, Verdict] = {}
        self._grouped: dict[tuple[str, int], bool] = {}
        self._cache_size = cache_size

    def clear_cache(self) -> None:
        self._cache.clear()
        self._grouped.clear()

    def classify(self, candidate: str) -> Verdict:
        v = self._cache.get(candidate)
        if v is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            v = self._cache[candidate] = self._classify(candidate)
        return v

    def grouped(self, candidate: str, leniency: Leniency) -> bool:
        """Whether a national candidate is valid at `leniency` for some listed region
        (EXACT_GROUPING: the region's own grouping, or one block). Asked only for uncued
        candidates: it formats the number, a few times the cost of a parse. Cached."""
        if leniency <= Leniency.VALID:
            return True
        key = (candidate, int(leniency))
        ok = self._grouped.get(key)
        if ok is None:
            if len(self._grouped) >= self._cache_size:
                self._grouped.clear()
            ok = self._grouped[key] = any(
                self._verified(num, candidate, leniency) for num in self._valid_readings(candidate)
            )
        return ok

    def _verified(self, num: PhoneNumber, candidate: str, leniency: Leniency = Leniency.VALID) -> bool:
        return bool(_pm._verify(leniency, num, candidate, self._matcher))

    def _regions_for(self, digits: str) -> Iterator[tuple[_Region, bool]]:
        """Listed regions where the digits can be a national number, each with whether they
        can also be valid there. No parsing."""
        for info in self._info:
            if info.always_parse:
                yield info, True
                continue
            variants = [digits]
            if info.prefix is not None:
                m = info.prefix.match(digits)
                if m and m.end():
                    variants.append(digits[m.end() :])
            if any(len(x) in info.lengths for x in variants):
                yield info, any(info.general.fullmatch(x) for x in variants)

    def _valid_readings(self, candidate: str) -> Iterator[PhoneNumber]:
        for info, can_be_valid in self._regions_for(normalize_digits_only(candidate)):
            if not can_be_valid:
                continue
            try:
                num = phonenumbers.parse(candidate, info.region, keep_raw_input=True)
            except NumberParseException:
                continue
            if num.country_code_source != CountryCodeSource.FROM_NUMBER_WITH_IDD and is_valid_number(num):
                yield num

    def _international(self, candidate: str) -> Verdict:
        tries = [candidate]
        m = _TRUNK_IN_INTERNATIONAL.match(candidate)
        if m:
            tries.append(m.group(1) + candidate[m.end() :])
        best = Verdict(Tier.NONE)
        for c in tries:
            try:
                num = phonenumbers.parse(c, None, keep_raw_input=True)
            except NumberParseException:
                continue
            if is_valid_number(num) and self._verified(num, c):
                return Verdict(Tier.INTERNATIONAL, region_code_for_number(num), num, international=True)
            if best.tier is Tier.NONE and is_possible_number(num):
                best = Verdict(Tier.POSSIBLE, region_code_for_number(num), num, international=True)
        return best

    def _classify(self, candidate: str) -> Verdict:
        stripped = candidate.lstrip()
        if stripped[:1] in "+＋":
            return self._international(stripped)
        digits = normalize_digits_only(candidate)
        best = Verdict(Tier.NONE)
        for rx in self._idd.values():  # 00 44 20..., 011 44 20..., 001-253-...
            m = rx.match(digits)
            if m and m.end() < len(digits) and digits[m.end()] != "0":
                v = self._international("+" + digits[m.end() :])
                if v.tier is Tier.INTERNATIONAL:
                    return v
                if v.tier > best.tier:
                    best = v
        for info, can_be_valid in self._regions_for(digits):
            if not can_be_valid:
                if best.tier < Tier.POSSIBLE:
                    best = Verdict(Tier.POSSIBLE, info.region)
                continue
            try:
                num = phonenumbers.parse(candidate, info.region, keep_raw_input=True)
            except NumberParseException:
                continue
            if num.country_code_source == CountryCodeSource.FROM_NUMBER_WITH_IDD:
                continue  # read by the IDD loop above
            if is_valid_number(num) and self._verified(num, candidate):
                return Verdict(Tier.VALID, info.region, num)
            if best.tier < Tier.POSSIBLE and is_possible_number(num):
                best = Verdict(Tier.POSSIBLE, info.region, num)
        return best


# --------------------------------------------------------------------------- candidates

_EXTENSION_START = re.compile(r"[^\W\d_]|#")  # x, ext., доб., anexo, #


def main_digits(candidate: str) -> int:
    """Digits before any extension: "Mobil 300x250" is an ad-slot size, not 6 digits."""
    m = _EXTENSION_START.search(candidate)
    return digit_count(candidate[: m.start()] if m else candidate)


class _RegionLoopMatcher(PhoneNumberMatcher):
    """libphonenumber's matcher with one change: a candidate is classified against every
    region of a RegionIndex instead of parsed for one, and kept when at least POSSIBLE; the
    verdicts are left in `verdicts`, by start offset."""

    def __init__(self, text: str, index: RegionIndex, min_digits: int):
        super().__init__(text, None, Leniency.POSSIBLE)
        self._index = index
        self._min_digits = min_digits
        self.verdicts: dict[int, Verdict] = {}

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        if main_digits(candidate) < self._min_digits:
            return None
        if not _pm.fullmatch(_pm._MATCHING_BRACKETS, candidate) or _pm._PUB_PAGES.search(candidate):
            return None
        # libphonenumber's VALID-leniency check, kept at every tier: no Latin letter or currency
        # sign glued to the number (abc8005001234, $1234567); and no word glued by '-' or '_'
        # (CVE-2024-24576 validates as a national number in one of the default regions).
        if offset > 0 and not _pm._LEAD_PATTERN.match(candidate):
            prev = self.text[offset - 1]
            if self._is_invalid_punctuation_symbol(prev) or self._is_latin_letter(prev):
                return None
            if prev in "-_" and offset > 1 and self.text[offset - 2].isalnum():
                return None
        end = offset + len(candidate)
        if end < len(self.text):
            nxt = self.text[end]
            if self._is_invalid_punctuation_symbol(nxt) or self._is_latin_letter(nxt):
                return None
        verdict = self._index.classify(candidate)
        if verdict.tier is Tier.NONE:
            return None
        self.verdicts[offset] = verdict
        return PhoneNumberMatch(offset, candidate, verdict.number or PhoneNumber())


def phone_windows(text: str, min_digits: int = MIN_DIGITS[ENTITY], reach: int = 32) -> list[tuple[int, int]]:
    """Disjoint neighbourhoods (+-reach, snapped outwards to whitespace) of the digit chains
    with at least `min_digits` digits: the only places candidates are looked for."""
    chains = [m.span() for m in DIGIT_CHAIN.finditer(text) if digit_count(m.group()) >= min_digits]
    return Anchors.windows(text, chains, reach)


# --------------------------------------------------------------------------- cues

_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_PUNCT_EDGE = "()[]{}:：;,.-–—|/\"'«»"


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted({re.escape(w.lower()) for w in words}, key=len, reverse=True))


class Cues:
    """Cue words (anywhere in the window), cue substrings, and label words (right next to the
    number only)."""

    def __init__(
        self,
        words: Iterable[str] = CUE_WORDS,
        substrings: Iterable[str] = CUE_SUBSTRINGS,
        labels: Iterable[str] = LABEL_WORDS,
    ):
        words, substrings = list(words), list(substrings)
        parts = [rf"(?<![^\W\d_])(?:{_alternation(words)})(?![^\W\d_])"] if words else []
        parts += [_alternation(substrings)] if substrings else []
        self.anywhere = re.compile("|".join(parts) if parts else r"(?!)", re.IGNORECASE)
        self.labels = frozenset(w.lower() for w in labels)

    def _label(self, word: str) -> bool:
        return word.strip(_PUNCT_EDGE).lower() in self.labels

    def find(self, text: str, start: int, end: int) -> str | None:
        """The cue next to text[start:end], or None: a cue word among the CUE_BEFORE_WORDS words
        before it (within CUE_BEFORE_CHARS characters, not across a blank line) or among the
        CUE_AFTER_WORDS words after it (within CUE_AFTER_CHARS, same line); or a label word
        right before or right after it. A cue after the number is worth 0.04 of recall on such
        rows ("0490 75 40 81 (mobile)", "... 1693-Office")."""
        before = text[max(0, start - CUE_BEFORE_CHARS) : start]
        blanks = list(_BLANK_LINE.finditer(before))
        if blanks:
            before = before[blanks[-1].end() :]
        words = before.split()[-CUE_BEFORE_WORDS:]
        m = self.anywhere.search(" ".join(words))
        if m:
            return m.group()
        if words and self._label(words[-1]):
            gap = before[len(before.rstrip()) :]
            if "\n" not in gap or words[-1].endswith((":", "：")):  # "Office 0123...", "Office:\n0123..."
                return words[-1]
        after = text[end : end + CUE_AFTER_CHARS].split("\n", 1)[0]
        words = after.split()[:CUE_AFTER_WORDS]
        m = self.anywhere.search(" ".join(words))
        if m:
            return m.group()
        first = after.lstrip(" \t-–—(,")
        if first and first[0].isalpha() and self._label(first.split()[0]):
            return first.split()[0]
        return None


# --------------------------------------------------------------------------- the detector

# 5.342.447, 1,234,567, 1'759'559: thousands grouping, a count
_THOUSANDS = re.compile(r"\d{1,3}(?:([.,'’])\d{3})(?:\1\d{3})*")
# Fewest digits of a national number without a cue: "20-20-20" and 6-digit view counts are not phones.
UNCUED_MIN_DIGITS = 7


class PhoneDetector:
    """Phone numbers of a text: libphonenumber candidates around long digit chains, a tier per
    candidate, cues on either side for the weak ones. `regions`: the national formats read
    without a '+' (PiiConfig.phone_regions); one detector per region list, its verdicts cached."""

    def __init__(self, regions: Sequence[str] = DEFAULT_REGIONS, cues: Cues | None = None):
        self.index = RegionIndex(regions)
        self.cues = cues or Cues()
        self.min_digits = MIN_DIGITS[ENTITY]

    def alone(self, raw: str, v: Verdict) -> bool:
        """Whether a candidate stands without a cue: a valid '+' number, or a valid national
        number of at least UNCUED_MIN_DIGITS digits that is not one block ("order 123456789")
        or thousands grouping ("5.342.447"), and is grouped the way its region writes it or
        starts with a trunk '0' ("030 65211-1780"). '+' numbers of merely possible length
        need a cue: accepting them bought no recall and cost dev-set precision (0.985 -> 0.944)."""
        if v.international:
            return v.tier is Tier.INTERNATIONAL
        if v.tier is not Tier.VALID or main_digits(raw) < UNCUED_MIN_DIGITS:
            return False
        body = raw.strip("()[] ")
        if body.isdigit() or _THOUSANDS.fullmatch(body):
            return False
        return body[:1] == "0" or self.index.grouped(raw, Leniency.EXACT_GROUPING)

    def candidates(self, text: str) -> list[tuple[int, int, Verdict]]:
        """(start, end, verdict) of every at-least-POSSIBLE candidate, in text order."""
        out = []
        for s, e in phone_windows(text, self.min_digits):
            matcher = _RegionLoopMatcher(text[s:e], self.index, self.min_digits)
            for m in matcher:
                out.append((s + m.start, s + m.end, matcher.verdicts[m.start]))
        return out

    def find(self, text: str, guard: Guard | None = None) -> list[PhoneSpan]:
        """Accepted phone numbers of `text`, in order; a `guard` returning a reason drops a
        span (applied last, told whether the span is cued)."""
        cands = self.candidates(text)
        if not cands:
            return []
        cued = [self.cues.find(text, s, e) is not None for s, e, _ in cands]
        ok = [c or self.alone(text[s:e], v) for (s, e, v), c in zip(cands, cued, strict=True)]
        listed = [False] * len(cands)
        changed = True
        while changed:  # the next items of a list whose neighbour was accepted
            changed = False
            for i in range(len(cands)):
                if ok[i]:
                    continue
                for j in (i - 1, i + 1):
                    if 0 <= j < len(cands) and ok[j]:
                        a, b = (cands[j][1], cands[i][0]) if j < i else (cands[i][1], cands[j][0])
                        if 0 <= b - a <= LIST_GAP_MAX and LIST_GAP.match(text, a, b):
                            ok[i] = listed[i] = changed = True
                            break
        out = []
        for (s, e, v), c, keep, lst in zip(cands, cued, ok, listed, strict=True):
            if not keep:
                continue
            score = CUED_SCORE if (c and v.tier >= Tier.VALID) else BASE_SCORE
            span = PhoneSpan(s, e, text[s:e], v.tier, v.region, c or lst, score)
            if guard is None or guard(text, ENTITY, s, e, span.cued) is None:
                out.append(span)
        return out
