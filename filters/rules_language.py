"""Per-language pieces the datatrove filters need: a word tokenizer that works offline, and
the language facts that decide which English-centred checks apply.

Word tokenizers. datatrove picks a tokenizer per language from its
`tokenizer_assignment.csv`; several need packages edumix does not install (jieba for
Chinese, SudachiPy for Japanese, indic-nlp for Hindi/Marathi/Bengali, kiwipiepy, pythainlp,
pyvi), and the Stanza ones (Scottish Gaelic, ...) would download models at run time. Also
its two-letter lookup is unreliable in 0.10.1 (the csv's TRUE/FALSE columns are read as
non-empty strings, so e.g. "hi" lands on the Latin-script Hindi row and asks for Stanza).
`word_tokenizer(lang)` therefore looks the language up by its default script
("hin_Deva"), tries datatrove's tokenizer for it (never a Stanza one), and falls back, in
order, to a blank spaCy pipeline of that language with spaCy's default settings (Chinese:
character segmentation), to one token per character for scripts without spaces, and to
spaCy's multi-language "xx" tokenizer. Every candidate is tried on a sample string before
it is chosen, so a missing package is found once, at set-up, not on a document.

Language facts:
- `UNSPACED`: scripts that do not separate words with spaces. Word-length checks make no
  sense there (a "word" is a character or a whole clause), and C4's words-per-line check
  (whitespace split) would remove every line.
- `C4_FOREIGN_PUNCT`: languages whose sentences end in marks C4's terminal-punctuation
  list (`. ? ! " '`) does not have (danda, 。, ։, ።, ۔...): C4 would remove every line.
- `GOPHER_STOP_WORDS`: Gopher's check asks for >= 2 of 8 very common English function words.
  edumix gives the same check a short list of very frequent function words for other
  languages (written for edumix); a language without a list skips the check.
"""

from __future__ import annotations

import csv
import functools
import logging
import os
import re

from datatrove.pipeline.filters.gopher_quality_filter import (
    STOP_WORDS as _DATATROVE_EN_STOP_WORDS,
)
from datatrove.utils.text import PUNCTUATION
from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, strip_strings

from .spacy_memo import memoized

log = logging.getLogger(__name__)

UNSPACED = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "dz", "yue", "wuu"})
C4_FOREIGN_PUNCT = UNSPACED | frozenset({"hi", "mr", "bn", "ne", "sa", "pa", "or", "as", "gom", "ur", "hy", "am", "ti"})

GOPHER_STOP_WORDS: dict[str, tuple[str, ...]] = {
    "en": tuple(_DATATROVE_EN_STOP_WORDS),
    "de": ("der", "die", "und", "das", "ist", "zu", "den", "mit"),
    "fr": ("le", "la", "de", "et", "les", "des", "est", "un"),
    "es": ("de", "la", "que", "el", "en", "y", "los", "se"),
    "it": ("di", "che", "il", "la", "e", "per", "un", "non"),
    "pt": ("de", "que", "o", "a", "e", "do", "da", "em"),
    "ca": ("de", "la", "i", "el", "que", "a", "les", "en"),
    "nl": ("de", "het", "een", "en", "van", "is", "dat", "op"),
    "sv": ("och", "att", "det", "i", "som", "en", "på", "är"),
    "da": ("og", "i", "at", "det", "en", "til", "er", "som"),
    "no": ("og", "i", "det", "som", "en", "på", "er", "til"),
    "nb": ("og", "i", "det", "som", "en", "på", "er", "til"),
    "nn": ("og", "i", "det", "som", "ein", "på", "er", "til"),
    "fi": ("ja", "on", "ei", "että", "se", "oli", "mutta", "kuin"),
    "ru": ("и", "в", "не", "на", "что", "с", "по", "это"),
    "uk": ("і", "в", "на", "що", "не", "з", "до", "та"),
    "pl": ("i", "w", "na", "się", "nie", "z", "do", "to"),
    "cs": ("a", "se", "na", "je", "v", "že", "to", "s"),
    "sk": ("a", "sa", "na", "je", "v", "že", "to", "s"),
    "tr": ("ve", "bir", "bu", "da", "de", "için", "ile", "çok"),
    "el": ("και", "το", "να", "του", "της", "η", "σε", "με"),
    "ar": ("في", "من", "على", "أن", "إلى", "عن", "التي", "الذي"),
    "fa": ("و", "در", "به", "از", "که", "این", "را", "با"),
    "hi": ("के", "है", "में", "की", "और", "से", "को", "का"),
    "mr": ("आणि", "आहे", "या", "व", "हे", "की", "ते", "तर"),
    "bn": ("এবং", "এই", "করে", "থেকে", "হয়", "না", "ও", "যে"),
    "gd": ("agus", "an", "a", "air", "na", "ann", "is", "gu"),
}

_SAMPLE = "Hello world. This is a test, 123! Привет, мир. 你好世界。"
_SOLO = (
    "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_SOLO_CHARS = re.compile(rf"[{_SOLO}]|(?:(?![{_SOLO}])\w)+|[^\w\s]+")
_SENT_END = re.compile(r"(?<=[.!?。！？।॥۔؟])\s*")


class BlankSpacyTokenizer(SpaCyTokenizer):
    """datatrove's SpaCyTokenizer with spaCy's default settings for the language (datatrove
    forces jieba for Chinese and its own Japanese tokenizer)."""

    def __init__(self, language: str):
        WordTokenizer.__init__(self, language)
        self.config = None
        self._tokenizer = None


class CharScriptTokenizer(WordTokenizer):
    """For scripts without spaces: one token per CJK/kana/hangul/Thai/... character; other
    text splits into runs of word characters and runs of punctuation."""

    def word_tokenize(self, text: str) -> list[str]:
        return strip_strings(_SOLO_CHARS.findall(text))

    def sent_tokenize(self, text: str) -> list[str]:
        return strip_strings(_SENT_END.split(text))

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        spans, start = [], 0
        for m in _SENT_END.finditer(text):
            if m.start() > start:
                spans.append((start, m.start()))
            start = m.end()
        if start < len(text):
            spans.append((start, len(text)))
        return spans


_EDGE_PUNCT = "".join(sorted(set(PUNCTUATION) - set(" \t\n\r")))


class WhitespaceWordTokenizer(WordTokenizer):
    """Words as the Gopher paper counts them: whitespace-separated (edge punctuation
    stripped).

    datatrove's language tokenizers make every punctuation mark a word of its own, and
    GopherQualityFilter counts those words too in "80% of words contain a letter": on the
    HPLT v2 dev excerpts the median share is then 0.79-0.90 by language (0.8 fails 57% of
    the Russian pages), against 0.95-0.98 with whitespace words.
    """

    def __init__(self, language: str | None = None):
        super().__init__(language)

    def word_tokenize(self, text: str) -> list[str]:
        # Punctuation at a word's edges is not part of it ("and," is the stop word "and";
        # Marathi's most common stop word usually ends a sentence: "आहे."); a token that is
        # only punctuation stays, as a symbol word (Gopher counts those apart).
        return [w.strip(_EDGE_PUNCT) or w for w in text.split()]

    def sent_tokenize(self, text: str) -> list[str]:
        return strip_strings(_SENT_END.split(text))

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return CharScriptTokenizer.span_tokenize(self, text)


@functools.cache
def gopher_word_tokenizer(lang: str, mode: str = "whitespace") -> WordTokenizer:
    """The tokenizer GopherQualityFilter counts words with: whitespace words (the paper's),
    except for scripts without spaces, or the language's own with mode="datatrove"."""
    if mode == "whitespace" and lang not in UNSPACED:
        return WhitespaceWordTokenizer(lang)
    return word_tokenizer(lang)


@functools.lru_cache(maxsize=1)
def _default_script_keys() -> dict[str, str]:
    """ISO 639-1 (or -3) -> datatrove's "code3_Script" key of the language's default script."""
    from datatrove.utils._import_utils import ASSETS_PATH

    keys: dict[str, str] = {}
    preferred: dict[str, bool] = {}
    with open(os.path.join(ASSETS_PATH, "tokenizer_assignment.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["default_script"].strip().upper() != "TRUE" or not row["type"]:
                continue
            key = f"{row['code_3']}_{row['script']}"
            keys.setdefault(row["code_3"], key)
            code1 = row["code_1"]
            if code1:
                is_default = row["default_code_1"].strip().upper() == "TRUE"
                if code1 not in keys or (is_default and not preferred.get(code1)):
                    keys[code1] = key
                    preferred[code1] = is_default
    return keys


def _works(tok: WordTokenizer) -> bool:
    try:
        tok.word_tokenize(_SAMPLE)
        tok.sent_tokenize(_SAMPLE)
        return True
    except Exception as e:  # noqa: BLE001 -- ImportError for a missing package, OSError, ValueError...
        log.info("word tokenizer %s(%s) unavailable: %s", type(tok).__name__, tok.language, e)
        return False


@functools.cache
def word_tokenizer(lang: str) -> WordTokenizer:
    """A working, offline word tokenizer for `lang` (ISO 639-1/-3); one instance per language
    per process, so datatrove's tokenization cache is shared between the filters."""
    from datatrove.utils.word_tokenizers import StanzaTokenizer, load_word_tokenizer

    candidates: list = []
    key = _default_script_keys().get(lang)
    if key:
        try:
            tok = load_word_tokenizer(key)
            if not isinstance(tok, StanzaTokenizer):  # Stanza downloads its models
                candidates.append(tok)
        except Exception as e:  # noqa: BLE001 -- any failure: try the next candidate
            log.info("datatrove has no usable tokenizer for %s (%s): %s", lang, key, e)
    if lang in UNSPACED:
        # Before spaCy's blank Chinese, whose character segmentation also splits Latin words.
        candidates.append(lambda: CharScriptTokenizer(lang))
    if re.fullmatch(r"[a-z]{2,3}", lang or ""):
        candidates.append(lambda: BlankSpacyTokenizer(lang))
    candidates.append(lambda: BlankSpacyTokenizer("xx"))
    for cand in candidates:
        try:
            tok = cand() if callable(cand) and not isinstance(cand, WordTokenizer) else cand
        except Exception as e:  # noqa: BLE001 -- any failure: try the next candidate
            log.info("tokenizer candidate for %s failed: %s", lang, e)
            continue
        if _works(tok):
            return memoized(tok)
    return CharScriptTokenizer(lang)


def stop_words(lang: str, overrides: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...] | None:
    if overrides and lang in overrides:
        return tuple(overrides[lang])
    return GOPHER_STOP_WORDS.get(lang)
