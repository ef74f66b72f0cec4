"""The offline presidio analyzer: an NLP engine that never downloads, and edumix's
recognizers (offline email domains, public IPs, extended cards, libphonenumber phones)."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar

import spacy
import tldextract
from presidio_analyzer import (
    AnalysisExplanation,
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
)

from edumix.core.config import PiiConfig

from .entities import LANGUAGE, NER_ENTITIES, NER_INSTALL_HINT, NER_MODELS
from .phones import ENTITY as PHONE
from .phones import PhoneDetector


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
def blank_pipeline() -> spacy.language.Language:
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


_NON_PERSONAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


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


class LibPhoneRecognizer(EntityRecognizer):
    """PHONE_NUMBER from a `phones.PhoneDetector`. It sets its own scores and has no context
    words, so presidio's context enhancer leaves them alone; a number found next to a cue
    (before or after it) is marked with IS_SCORE_ENHANCED_BY_CONTEXT_KEY for the guards
    (`cued_phone`). Returns unguarded results: the scrubber guards them."""

    NAME = "LibPhoneRecognizer"

    def __init__(self, detector: PhoneDetector):
        self.detector = detector
        super().__init__(supported_entities=[PHONE], name=self.NAME, supported_language=LANGUAGE)

    def load(self) -> None:  # libphonenumber's metadata ships in its wheel
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list:
        if entities and PHONE not in entities:
            return []
        results = []
        for p in self.detector.find(text):
            explanation = AnalysisExplanation(
                recognizer=self.name,
                original_score=p.score,
                textual_explanation=f"libphonenumber {p.tier.name} ({p.region}){', cued' if p.cued else ''}",
            )
            metadata = {
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: p.cued,
            }
            results.append(RecognizerResult(PHONE, p.start, p.end, p.score, explanation, metadata))
        return results


@functools.lru_cache(maxsize=4)
def phone_detector(regions: tuple[str, ...]) -> PhoneDetector:
    """One PhoneDetector per region list and process: analyzers built for the same config
    share its verdict cache (footers and contact blocks repeat across pages)."""
    return PhoneDetector(regions)


def cued_phone(result: RecognizerResult) -> bool:
    """A phone number LibPhoneRecognizer found next to a cue (before or after it): the guards
    treat it like a number after a cue word."""
    meta = result.recognition_metadata or {}
    return (
        result.entity_type == PHONE
        and meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) == LibPhoneRecognizer.NAME
        and bool(meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY))
    )


def _english_registry() -> RecognizerRegistry:
    """presidio's default registry YAML, English only. Loading it logs one warning per
    recognizer of another language (~20 per worker, every run): they are left out on purpose,
    so those warnings are dropped here."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    presidio_log = logging.getLogger("presidio-analyzer")
    level = presidio_log.level
    presidio_log.setLevel(logging.ERROR)
    try:
        registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=None)
    finally:
        presidio_log.setLevel(level)
    return registry


def _predefined_recognizers(entities: Iterable[str]) -> list:
    """presidio's stock pattern recognizers (its default registry YAML, English) for
    `entities`, without the NLP (NER) recognizer."""
    registry = _english_registry()
    wanted = set(entities)
    return [
        r for r in registry.recognizers if not isinstance(r, SpacyRecognizer) and wanted & set(r.supported_entities)
    ]


@functools.lru_cache(maxsize=1)
def pattern_entities() -> frozenset[str]:
    """Entity types presidio's stock (non-NER) English recognizers detect."""
    registry = _english_registry()
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
        nlp_engine = OfflineSpacyNlpEngine(blank_pipeline(), "blank:en")

    recognizers = []
    for rec in _predefined_recognizers(wanted):
        if isinstance(rec, EmailRecognizer):
            rec = OfflineEmailRecognizer()
        elif isinstance(rec, IpRecognizer):
            rec = PublicIpRecognizer()
        elif isinstance(rec, CreditCardRecognizer):
            rec = ExtendedCreditCardRecognizer(context=rec.context)
        elif isinstance(rec, PhoneRecognizer):
            rec = LibPhoneRecognizer(phone_detector(tuple(cfg.phone_regions)))
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
    return _engine(recognizers, OfflineSpacyNlpEngine(blank_pipeline(), "blank:en"))


def pure_special_cases() -> frozenset[str]:
    rules = getattr(blank_pipeline().tokenizer, "rules", None) or {}
    return frozenset(k.lower() for k in rules if k.isalnum())


def sure_context_word(word: str, stop: frozenset, special: frozenset) -> bool:
    """A whitespace-delimited word that is certainly one spaCy token counted by presidio's
    context window: letters/digits only, not a stop word, not a tokenizer special case."""
    w = word.lower()
    return word.isalnum() and w not in stop and w not in special
