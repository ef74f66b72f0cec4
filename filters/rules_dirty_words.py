"""Dirty-word counting: a default list edumix ships (filters/data/dirty_words.txt, written for
edumix) plus an optional user list (`filters.dirty_words_file`, `--dirty-words-file`).

datatrove's C4BadWordsFilter downloads the LDNOOBW lists at run time; edumix never calls it,
so no download is ever attempted. It also drops a page for a single hit; here the signal is
the share of a document's tokens that are dirty words, and the rule fails above a threshold,
so a news story or a health page that mentions a word once is not removed.

List format: one entry per line, UTF-8; `#` starts a comment; blank lines are skipped.
Matching is case-insensitive (casefold) and Unicode-aware, on the word tokens of
`rules_text.words` (combining marks stay inside a word, so Devanagari and Arabic words
match whole):

- an entry is matched as a whole word, or as a phrase of consecutive words;
- an entry ending in `*` matches words that start with it (`fuck*` -> fucking, fucked);
  in a phrase, only its last word may end in `*`;
- an entry written in a script without spaces between words (CJK, kana, Thai) is matched
  as a substring of the text, since there is no word boundary to anchor it.

Hits do not overlap: at each word the longest matching phrase wins.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from edumix.filters.rules_text import SOLO_RANGES, words

_UNSPACED = re.compile(rf"[{SOLO_RANGES}]")

DEFAULT_LIST = "dirty_words.txt"


def read_word_list(path: str | Path) -> list[str]:
    """Entries of a word-list file (comments and blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        return parse_word_list(f.read())


def parse_word_list(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            out.append(entry.casefold())
    return out


def default_word_list() -> list[str]:
    data = resources.files("edumix.filters.data").joinpath(DEFAULT_LIST).read_text(encoding="utf-8")
    return parse_word_list(data)


class DirtyWords:
    """Counts dirty-word hits in a text; `ratio = hits / word tokens`."""

    def __init__(self, entries: list[str]):
        self.exact: set[str] = set()
        self.prefixes: list[str] = []
        self.phrases: dict[str, list[tuple[tuple[str, ...], bool]]] = {}  # first word -> (words, last is prefix)
        substrings: list[str] = []
        seen = set()
        for entry in entries:
            entry = entry.casefold().strip()
            prefix = entry.endswith("*")
            body = entry.rstrip("*").strip()
            if not body or (body, prefix) in seen:
                continue
            seen.add((body, prefix))
            if _UNSPACED.search(body):
                substrings.append(body)
                continue
            toks = tuple(words(body))
            if not toks:
                continue
            if len(toks) == 1:
                (self.prefixes.append(toks[0]) if prefix else self.exact.add(toks[0]))
            else:
                self.phrases.setdefault(toks[0], []).append((toks, prefix))
        for options in self.phrases.values():
            options.sort(key=lambda o: -len(o[0]))
        self._prefix_tuple = tuple(sorted(set(self.prefixes)))
        self._substrings = (
            re.compile("|".join(re.escape(s) for s in sorted(set(substrings), key=len, reverse=True)))
            if substrings
            else None
        )
        self.size = len(seen)

    @classmethod
    def from_config(cls, use_default: bool = True, extra_file: str | None = None) -> DirtyWords:
        entries = default_word_list() if use_default else []
        if extra_file:
            entries += read_word_list(extra_file)
        return cls(entries)

    def _word_hits(self, toks: list[str]) -> list[str]:
        hits = []
        i, n = 0, len(toks)
        prefixes = self._prefix_tuple
        while i < n:
            tok = toks[i]
            step = 1
            matched = None
            for phrase, last_prefix in self.phrases.get(tok, ()):
                k = len(phrase)
                if i + k > n or tuple(toks[i : i + k - 1]) != phrase[:-1]:
                    continue
                last = toks[i + k - 1]
                if last == phrase[-1] or (last_prefix and last.startswith(phrase[-1])):
                    matched, step = " ".join(toks[i : i + k]), k
                    break
            if matched is None and (tok in self.exact or (prefixes and tok.startswith(prefixes))):
                matched = tok
            if matched is not None:
                hits.append(matched)
            i += step
        return hits

    def hits(self, text: str) -> list[str]:
        """The matched words and phrases, in text order for word entries, then substrings."""
        if not text:
            return []
        out = self._word_hits(words(text))
        if self._substrings is not None:
            out += self._substrings.findall(text.casefold())
        return out

    def measure(self, text: str) -> tuple[int, int, float]:
        """(hits, word tokens, hits / tokens)."""
        if not text:
            return 0, 0, 0.0
        toks = words(text)
        hits = len(self._word_hits(toks))
        if self._substrings is not None:
            hits += len(self._substrings.findall(text.casefold()))
        return hits, len(toks), (hits / len(toks) if toks else 0.0)
