"""Duplicated n-gram coverage (Gopher's measure) per line and per document.

Llama 3 removes "lines that consist of repeated content such as logging or error messages"
with the duplicated n-gram coverage ratio: such lines are long and each one is unique, so
exact line dedup misses them, but their n-grams recur all over the document. datatrove has
the document-level measure inside GopherRepetitionFilter (characters of a repeated n-gram's
second and later occurrences), not a per-line one, so this module provides both from one
counting pass:

- a line's coverage: the share of its word characters that lie in an n-gram occurring at
  least `min_count` times in the document (first occurrences included: a block of 40
  near-identical log lines is removed whole, not all but one);
- the document's coverage: the same share over all its lines.

Defaults (`DupNgramConfig`): 5-grams, `min_count` 3, lines at >= 0.9 coverage removed. On
the seed corpora in ../shared/data/seed this removes 0.3% of the characters of the
OpenStax/Python-docs passages that are not code or math (a question or a formula asked
three times), 0.02% of general prose and 1.8% of the boilerplate/spam set; with
`min_count` 2 it removed 1.4% of those textbook characters.

Tokens are case-folded words with digits read as 0 (`rules_text.words`: combining marks
kept inside words, each CJK/kana/hangul/Thai character a token of its own), and n-grams
never cross a line break. Lines with fewer than `max(n, min_line_tokens)` tokens are never removed (their coverage
is 0): short repeated lines are exact line dedup's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edumix.filters.rules_text import words

_DIGITS = re.compile(r"\d")


def tokenize(text: str) -> list[str]:
    """Case-folded word tokens, every digit read as 0 (timestamps, counters and ids in log
    lines then repeat like the words around them); each CJK/Thai/... character is one token
    (`rules_text.words`)."""
    return words(_DIGITS.sub("0", text))


@dataclass
class LineCoverage:
    line_coverage: list[float]  # one per text.split("\n") line
    doc_coverage: float  # over all tokens of the document
    tokens: int


def ngram_coverage(text: str, n: int, min_count: int = 2, min_line_tokens: int = 0) -> LineCoverage:
    """Per-line and document duplicated n-gram coverage (character-weighted): an n-gram
    counts as duplicated when it occurs `min_count` or more times in the document.

    N-grams are counted as 64-bit hashes in one numpy array (a 10 MB page has ~2M of them),
    not as a dict of tuples."""
    lines = text.split("\n")
    line_tokens = [tokenize(line) for line in lines]
    hashes: list[int] = []
    for toks in line_tokens:
        hashes.extend(hash(tuple(toks[i : i + n])) for i in range(len(toks) - n + 1))
    if hashes:
        _, inverse, counts = np.unique(np.asarray(hashes, dtype=np.int64), return_inverse=True, return_counts=True)
        repeated = (counts >= min_count)[inverse].tolist()
    else:
        repeated = []
    coverage: list[float] = []
    doc_total = doc_covered = 0
    pos = 0
    for toks in line_tokens:
        total = sum(len(t) for t in toks)
        doc_total += total
        grams = max(0, len(toks) - n + 1)
        flags = repeated[pos : pos + grams]
        pos += grams
        if not any(flags):
            coverage.append(0.0)
            continue
        covered = [False] * len(toks)
        for i, dup in enumerate(flags):
            if dup:
                for j in range(i, i + n):
                    covered[j] = True
        chars = sum(len(t) for t, c in zip(toks, covered) if c)
        doc_covered += chars
        coverage.append(chars / total if len(toks) >= min_line_tokens else 0.0)
    return LineCoverage(coverage, doc_covered / doc_total if doc_total else 0.0, doc_total)


def remove_repeated_lines(text: str, coverage: list[float], threshold: float) -> tuple[str, int, int]:
    """Drop the lines whose coverage is at least `threshold`. Returns (text, lines removed,
    characters removed)."""
    lines = text.split("\n")
    kept, removed, removed_chars = [], 0, 0
    for line, cov in zip(lines, coverage):
        if cov >= threshold:
            removed += 1
            removed_chars += len(line) + 1
        else:
            kept.append(line)
    if not removed:
        return text, 0, 0
    return "\n".join(kept).strip("\n"), removed, removed_chars
