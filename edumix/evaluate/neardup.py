"""A generated near-duplicate corpus with known ground truth, for testing MinHash dedup.

    corpus = make_corpus(n_sources=60, seed=0)   # ~840 documents, deterministic, < 1 s

* Sources: ~300-800 words each, sentences of English-like words drawn from a seeded
  vocabulary of 8,000 made-up words with a flattened Zipf law (weight 1/(rank+50)), so
  text has a realistic head of common words yet two unrelated documents share almost no
  5-gram (measured: none at all for the default corpus; `tests/test_minhash.py` checks).
* Mutants: for each source, one copy per level in `LEVELS` (0.30 ... 0.95), each aimed at
  that shingle Jaccard with its source plus a uniform jitter of +-0.025 so that pairs
  cover the range continuously. A mutant is made by one of three edit styles:
    - scattered (60%): replace (1/2), insert (1/4) or delete (1/4) a word at k random
      positions - typos, small rewrites;
    - block (20%): rewrite k consecutive words - a changed paragraph;
    - tail (20%): replace the last k words - a different footer / truncation + append.
  k is found by bisection on the measured Jaccard (Jaccard falls as k grows), so the
  achieved Jaccard is close to the target; `pairs` records the achieved value, measured
  by `filters.minhash.true_jaccard` on the final texts.
* Fillers: `n_sources` unrelated documents with no copies.

Pairs of two mutants of the same source are near-duplicates too (Jaccard lower than each
one's with the source); `family` groups each source with its mutants so tests can
compute the ground truth of every within-family pair. Pairs across families are
unrelated (Jaccard ~0).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from edumix.filters.minhash import _MULT_U64, _WORD_HASHES, _set_jaccard, true_jaccard

LEVELS = (0.30, 0.40, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
JITTER = 0.025
VOCAB_SIZE = 8_000
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "bl",
    "br",
    "ch",
    "cl",
    "cr",
    "dr",
    "fl",
    "fr",
    "gl",
    "gr",
    "pl",
    "pr",
    "sh",
    "sl",
    "sp",
    "st",
    "th",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oa", "ou"]
_CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"]


@dataclass
class Corpus:
    docs: list[tuple[str, str]]  # (doc_id, text)
    pairs: list[tuple[str, str, float]]  # (mutant id, source id, true shingle Jaccard)
    source_of: dict[str, str]  # doc id -> id of the source it derives from (itself for sources/fillers)
    ngram: int = 5
    family: dict[str, list[str]] = field(default_factory=dict)  # source id -> [source, *mutants]
    target_of: dict[str, float] = field(default_factory=dict)  # mutant id -> Jaccard aimed at

    @property
    def texts(self) -> dict[str, str]:
        return dict(self.docs)


def _vocabulary(rng: random.Random) -> list[str]:
    """VOCAB_SIZE distinct lowercase ASCII made-up words (so normalisation keeps them as is)."""
    vocab: dict[str, None] = {}
    while len(vocab) < VOCAB_SIZE:
        n_syll = rng.choice((1, 1, 1, 2, 2, 2, 3))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(n_syll))
        vocab.setdefault(word, None)
    return list(vocab)


class _Words:
    """The vocabulary as ids, sampled with weight 1/(rank + 50): a Zipf-like but flat head.

    Documents are handled as (L,) int arrays of vocabulary ids while mutating, with each
    id's real word hash precomputed, so bisection measures the exact shingle Jaccard at
    numpy speed.
    """

    def __init__(self, vocab: list[str], rng: np.random.Generator):
        self.vocab = np.array(vocab, dtype=object)  # (V,)
        self.rng = rng
        weights = 1.0 / (np.arange(len(vocab)) + 50.0)
        self.p = weights / weights.sum()  # (V,)
        self.word_hash = np.fromiter(map(_WORD_HASHES.__getitem__, vocab), np.uint64, len(vocab))  # (V,)

    def sample(self, n: int) -> np.ndarray:
        return self.rng.choice(len(self.vocab), size=n, p=self.p)  # (n,) ids

    def tokens(self, ids: np.ndarray) -> list[str]:
        return self.vocab[ids].tolist()

    def shingle_set(self, ids: np.ndarray, ngram: int) -> np.ndarray:
        """Sorted distinct shingle hashes, equal to `shingle_hashes` of the rendered text."""
        wh = self.word_hash[ids]  # (L,)
        k = min(ngram, wh.size)
        n = wh.size - k + 1
        h = wh[:n].copy()  # (S,)
        for j in range(1, k):
            h *= _MULT_U64
            h += wh[j : j + n]
        return np.unique(h)


def _render(tokens: list[str], rng: random.Random) -> str:
    """Tokens as prose: capitalised sentences of 6-20 words, some commas, paragraphs.

    Normalisation lowercases and drops the punctuation, so words(text) == tokens.
    """
    out, i = [], 0
    while i < len(tokens):
        n = rng.randint(6, 20)
        sent = tokens[i : i + n]
        i += n
        if len(sent) > 8 and rng.random() < 0.4:
            sent = sent[:4] + [sent[4] + ","] + sent[5:]
        sent[0] = sent[0].capitalize()
        out.append(" ".join(sent) + rng.choice(".....?!"))
        out.append("\n\n" if rng.random() < 0.2 else " ")
    return "".join(out).strip()


_REPLACE, _INSERT, _DELETE = 0, 1, 2


def _mutate(ids: np.ndarray, target: float, words: _Words, rng: random.Random, ngram: int) -> np.ndarray:
    """A copy of `ids` whose shingle Jaccard with them is as close to `target` as bisection gets."""
    n = ids.size
    base = words.shingle_set(ids, ngram)
    style = rng.choices(("scattered", "block", "tail"), weights=(6, 2, 2))[0]
    # Every random choice is drawn up front, so edit(k) grows monotonically with k.
    rank = np.empty(n, dtype=np.int64)  # (n,) position i is edited once k > rank[i]
    rank[words.rng.permutation(n)] = np.arange(n)
    ops = words.rng.choice(3, size=n, p=(0.5, 0.25, 0.25))  # (n,) replace / insert / delete
    fresh = words.sample(2 * n)  # (2n,)
    block_at = rng.random()

    def edit(k: int) -> np.ndarray:
        if style == "scattered":
            op = np.where(rank < k, ops, -1)  # (n,) -1 = keep
            # Each position emits up to two ids: (first, second); insert emits both.
            first = np.where(op == _REPLACE, fresh[:n], np.where(op == _INSERT, fresh[n:], ids))
            emit = np.stack([op != _DELETE, op == _INSERT], axis=1)  # (n, 2)
            return np.stack([first, ids], axis=1)[emit]  # row-major: first, then second
        if style == "block":
            start = int(block_at * (n - k))
            return np.concatenate([ids[:start], fresh[:k], ids[start + k :]])
        return np.concatenate([ids[: n - k], fresh[:k]])  # tail

    def jaccard(k: int) -> float:
        return _set_jaccard(base, words.shingle_set(edit(k), ngram))

    lo, hi = 0, n
    while lo < hi:  # smallest k with jaccard(k) <= target
        mid = (lo + hi) // 2
        if jaccard(mid) > target:
            lo = mid + 1
        else:
            hi = mid
    best = min((k for k in (lo - 1, lo) if k >= 0), key=lambda k: abs(jaccard(k) - target))
    return edit(best)


def make_corpus(n_sources: int = 60, seed: int = 0, ngram: int = 5) -> Corpus:
    """Sources, their mutants at controlled Jaccard levels, and unrelated fillers (see module doc)."""
    rng = random.Random(seed)
    words = _Words(_vocabulary(rng), np.random.default_rng(seed))
    docs: list[tuple[str, str]] = []
    pairs: list[tuple[str, str, float]] = []
    source_of: dict[str, str] = {}
    family: dict[str, list[str]] = {}
    target_of: dict[str, float] = {}
    for s in range(n_sources):
        src_id = f"src{s:04d}"
        ids = words.sample(rng.randint(300, 800))
        src_text = _render(words.tokens(ids), rng)
        docs.append((src_id, src_text))
        source_of[src_id] = src_id
        family[src_id] = [src_id]
        for m, level in enumerate(LEVELS):
            target = level + rng.uniform(-JITTER, JITTER)
            mut_id = f"{src_id}-m{m:02d}"
            target_of[mut_id] = target
            mut_text = _render(words.tokens(_mutate(ids, target, words, rng, ngram)), rng)
            docs.append((mut_id, mut_text))
            source_of[mut_id] = src_id
            family[src_id].append(mut_id)
            pairs.append((mut_id, src_id, true_jaccard(mut_text, src_text, ngram)))
    for f in range(n_sources):
        fill_id = f"fill{f:04d}"
        docs.append((fill_id, _render(words.tokens(words.sample(rng.randint(300, 800))), rng)))
        source_of[fill_id] = fill_id
    order = list(range(len(docs)))
    rng.shuffle(order)  # no accidental reliance on families being adjacent
    docs = [docs[i] for i in order]
    return Corpus(docs=docs, pairs=pairs, source_of=source_of, ngram=ngram, family=family, target_of=target_of)
