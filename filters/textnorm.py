"""Text normalisation shared by exact-dup hashing and MinHash shingling.

The rules are datatrove's `simplify_text` with its default `TextNormConfig` (lowercase,
digit runs -> "0", datatrove's punctuation set -> space, whitespace collapsed, NFD with
combining marks (Mn) dropped), reusing datatrove's own tables (`NUMBERS_PATTERN`,
`PUNCTUATION_TRANS`), plus one addition:

* Scripts written without spaces (Han, Hiragana, Katakana, Bopomofo, Thai, Lao, Khmer,
  Myanmar) get a space around every character, so each character is a word. Otherwise a
  Chinese or Japanese paragraph is one or two "words" and yields one or two shingles, and
  every such document would look unrelated to its own near-copies. Hangul is left as is
  (Korean separates words with spaces).

Why not call `simplify_text` itself: its diacritics step is a per-character Python
generator (~110 us for a 2 kB document, more than the whole MinHash signature). The steps
here run in C (bytes.translate / re / `regex`); `tests/test_minhash.py` checks the result
equals `simplify_text` on the seed corpora. The one known difference: datatrove collapses
whitespace *before* dropping combining marks, so a mark standing alone between two spaces
leaves a double space there and a single space here.

Known effect of the datatrove rules on Japanese: NFD + dropping Mn removes the (han)dakuten,
so "が" and "か" normalise alike; harmless for near-dup detection.
"""

from __future__ import annotations

import re
import unicodedata

import regex
from datatrove.utils.text import NUMBERS_PATTERN, PUNCTUATION_TRANS

# datatrove maps every punctuation code point to " ".
_PUNCT_CHARS = "".join(chr(c) for c in sorted(PUNCTUATION_TRANS))
_PUNCT_RE = re.compile("[" + re.escape(_PUNCT_CHARS) + "]")
_ASCII_PUNCT = bytes(c for c in sorted(PUNCTUATION_TRANS) if c < 128)
_ASCII_PUNCT_TABLE = bytes.maketrans(_ASCII_PUNCT, b" " * len(_ASCII_PUNCT))
_COMBINING_MARKS = regex.compile(r"\p{Mn}+")
_UNSPACED_SCRIPTS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Bopomofo}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")
# Blocks holding every character of those scripts (a superset): a plain `re` scan is ~3x
# faster than the `regex` script lookup, which then only runs on documents that need it.
_MAYBE_UNSPACED = re.compile(
    "[\u02ea\u02eb\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\u2e80-\u9fff"
    "\ua9e0-\ua9ff\uaa60-\uaa7f\uf900-\ufaff\uff66-\uff9f\U000116d0-\U000116ff"
    "\U00016fe0-\U00016fff\U0001aff0-\U0001b16f\U0001f200-\U0001f2ff\U00020000-\U0003ffff]"
)


def words(text: str) -> list[str]:
    """Normalised tokens used for shingles (and, joined by spaces, for exact-dup hashes)."""
    text = NUMBERS_PATTERN.sub("0", text.lower())
    if text.isascii():
        # Fast path (about half of web text): no diacritics, no unspaced scripts.
        return text.encode("ascii").translate(_ASCII_PUNCT_TABLE).decode("ascii").split()
    text = _PUNCT_RE.sub(" ", text)
    text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    if not text.isascii() and _MAYBE_UNSPACED.search(text):  # isascii: most Latin-script text
        text = _UNSPACED_SCRIPTS.sub(r" \g<0> ", text)
    return text.split()


def normalize_text(text: str) -> str:
    """The normalised text: `words(text)` joined by single spaces ("" when it has none)."""
    return " ".join(words(text))
