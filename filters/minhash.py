"""MinHash signatures and LSH band keys for near-duplicate detection, computed in bulk.

The maths is datasketch's (`datasketch.MinHash(num_perm, seed, scheme="affine64")`: its
permutation parameters and its MurmurHash3 pre-mix); only the loop is ours, vectorised
with numpy so that a document costs a few array operations instead of one Python call
per shingle. The result is bit-identical to datasketch fed one shingle at a time:

    m = MinHasher().reference_minhash()        # MinHash(112, seed=1, hashfunc=shingle_hash,
    for sh in shingle_tuples(text, 5):         #         scheme="affine64")
        m.update(sh)
    assert np.array_equal(m.hashvalues, MinHasher().signature(text))

Shingle encoding (what datasketch's `hashfunc` receives): a tuple of normalised words
(`filters.textnorm.words`). Its 64-bit hash is a polynomial over the words' xxh3-64
hashes, mod 2^64:

    h = 0;  for w in words: h = h * _MULT + xxh3_64(w.encode("utf-8"))

which numpy evaluates for every n-gram of a document at once from the (L,) array of word
hashes. `_MULT` is odd, so two n-grams that differ in one word never collide.

Conventions:
* A document with fewer than `ngram` (but at least one) words is one shingle: its whole
  word sequence (so short documents can still match their exact copies).
* An empty document (no words) has no shingles; its signature is the sentinel
  `EMPTY_SIGNATURE` value in every slot (what datasketch's empty MinHash holds), it has
  no band keys, and its estimated Jaccard with anything is 0: empty documents never match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
import xxhash
from datasketch import MinHash

# The MurmurHash3 pre-mix datasketch applies (private: tests pin bit-identity with MinHash).
from datasketch.minhash import _fmix

from edumix.core.config import MinHashConfig
from edumix.filters.textnorm import words as _words

SCHEME = "affine64"
EMPTY_SIGNATURE = np.iinfo(np.uint64).max  # sentinel value in every slot of an empty doc
_MULT = 0x9E3779B97F4A7C15  # odd (2^64 / golden ratio)
_MULT_U64 = np.uint64(_MULT)
_MASK64 = (1 << 64) - 1
# Shingles whose (permutation x shingle) values are computed at once: 112 x 8192 x 8 B =
# 7.3 MB of scratch. Measured (one thread): 8192-16384 is ~2x faster per value than 2048
# (longer inner loops); 32768 is ~3x slower (out of cache).
_CHUNK_ROWS = 8192


def _xxh64(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode("utf-8"))


class _WordHashCache(dict):
    """word -> xxh3-64, filled on first use; a dict hit is ~5x cheaper than hashing again.

    Bounded (cleared when full) so a long-running worker's memory stays flat; clearing
    only costs speed, never changes a hash.
    """

    max_size = 1 << 18

    def __missing__(self, word: str) -> int:
        if len(self) >= self.max_size:
            self.clear()
        h = self[word] = _xxh64(word)
        return h


_WORD_HASHES = _WordHashCache()


def shingle_hash(words: Sequence[str]) -> int:
    """64-bit hash of one shingle (a tuple of normalised words); datasketch's `hashfunc`."""
    h = 0
    for w in words:
        h = (h * _MULT + _xxh64(w)) & _MASK64
    return h


def shingle_tuples(text: str, ngram: int) -> list[tuple[str, ...]]:
    """The document's shingles as word tuples (with repeats), the reference encoding."""
    ws = _words(text)
    if not ws:
        return []
    if len(ws) < ngram:
        return [tuple(ws)]
    return [tuple(ws[i : i + ngram]) for i in range(len(ws) - ngram + 1)]


def _batch_shingle_hashes(word_lists: Sequence[list[str]], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of many documents, repeats included, concatenated in document order.

    Returns (hashes (T,) uint64, counts (n,) int64): document i owns the next counts[i]
    hashes; counts[i] = L_i - ngram + 1, or 1 for a short document, or 0 for an empty one.
    All words of the batch are hashed into one array and every n-gram hash is evaluated
    by ngram-1 array operations over the whole batch; the n-grams straddling two
    documents are then masked out. Batching saves ~10 numpy calls per document.
    """
    n = len(word_lists)
    lens = np.fromiter(map(len, word_lists), dtype=np.int64, count=n)  # (n,)
    n_words = int(lens.sum())
    wh = np.fromiter(  # (W,) hash of every word of the batch
        map(_WORD_HASHES.__getitem__, chain.from_iterable(word_lists)), dtype=np.uint64, count=n_words
    )
    counts = np.where(lens >= ngram, lens - ngram + 1, np.minimum(lens, 1))  # (n,)
    n_pos = n_words - ngram + 1  # n-grams of the concatenation, straddling ones included
    if n_pos > 0:
        h = wh[:n_pos].copy()  # (n_pos,) h[p] = hash of words p .. p+ngram-1
        for j in range(1, ngram):
            h *= _MULT_U64  # wraps mod 2^64, as in shingle_hash
            h += wh[j : j + n_pos]
        starts = np.zeros(n, dtype=np.int64)  # (n,) first word of each document
        np.cumsum(lens[:-1], out=starts[1:])
        # Position of each n-gram start within its document; keep those that fit in it.
        pos_in_doc = np.arange(n_pos, dtype=np.int64) - np.repeat(starts, lens)[:n_pos]  # (n_pos,)
        keep = pos_in_doc <= np.repeat(lens - ngram, lens)[:n_pos]  # (n_pos,)
        hashes = h[keep]  # (T_long,) documents with >= ngram words only
    else:
        hashes = np.empty(0, dtype=np.uint64)
    short = np.flatnonzero((lens > 0) & (lens < ngram))
    if short.size:  # rare: one shingle of all the document's words
        vals = [shingle_hash(word_lists[i]) for i in short]
        long_counts = np.where(lens >= ngram, counts, 0)
        before = np.concatenate(([0], np.cumsum(long_counts)))[short]  # insert positions
        hashes = np.insert(hashes, before, np.array(vals, dtype=np.uint64))
    return hashes, counts


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """Distinct shingle hashes of a document, sorted: shape (S,) uint64; (0,) when empty."""
    return np.unique(_batch_shingle_hashes([_words(text)], ngram)[0])


def true_jaccard(text_a: str, text_b: str, ngram: int) -> float:
    """Exact Jaccard of the two shingle-hash sets (0.0 when either document is empty)."""
    return _set_jaccard(shingle_hashes(text_a, ngram), shingle_hashes(text_b, ngram))


def _set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted distinct uint64 arrays (0.0 when either is empty)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """P(a pair with Jaccard s shares at least one band): the LSH S-curve 1-(1-s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


def candidate_threshold(bands: int, rows: int) -> float:
    """The Jaccard at which the S-curve crosses 0.5 (solved exactly, not (1/b)^(1/r))."""
    return (1.0 - 0.5 ** (1.0 / bands)) ** (1.0 / rows)


class MinHasher:
    """MinHash signatures (datasketch's maths, numpy's loop) and their LSH band keys."""

    def __init__(self, num_perm: int = 112, bands: int = 14, rows: int = 8, ngram: int = 5, seed: int = 1):
        if bands * rows != num_perm:
            raise ValueError(f"bands x rows must equal num_perm ({bands} x {rows} != {num_perm})")
        if ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        self.num_perm, self.bands, self.rows, self.ngram, self.seed = num_perm, bands, rows, ngram, seed
        # datasketch's own permutation parameters, not re-derived: (2, num_perm) uint64.
        perms = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
        self._a = np.ascontiguousarray(perms[0], dtype=np.uint64)  # (P,)
        self._b = np.ascontiguousarray(perms[1], dtype=np.uint64)  # (P,)

    @classmethod
    def from_config(cls, cfg: MinHashConfig) -> MinHasher:
        return cls(num_perm=cfg.num_perm, bands=cfg.bands, rows=cfg.rows, ngram=cfg.ngram, seed=cfg.seed)

    def reference_minhash(self) -> MinHash:
        """An empty datasketch MinHash that, fed `shingle_tuples`, gives our signatures."""
        return MinHash(num_perm=self.num_perm, seed=self.seed, hashfunc=shingle_hash, scheme=SCHEME)

    def signature(self, text: str) -> np.ndarray:
        """Signature of one document: shape (num_perm,) uint64.

        A lean path with ~half the numpy calls of `signatures` (per-call overhead is most
        of the cost for one document); `signatures` on a batch is still ~1.5x faster.
        """
        return self._signature_of_words(_words(text))

    def _signature_of_words(self, ws: list[str]) -> np.ndarray:
        if len(ws) < self.ngram:  # empty or one short shingle: rare, use the general path
            return self._signatures(*_batch_shingle_hashes([ws], self.ngram))[0]
        wh = np.fromiter(map(_WORD_HASHES.__getitem__, ws), dtype=np.uint64, count=len(ws))  # (L,)
        n_shingles = len(ws) - self.ngram + 1
        if n_shingles > _CHUNK_ROWS:
            return self._signatures(*_batch_shingle_hashes([ws], self.ngram))[0]
        h = wh[:n_shingles].copy()  # (S,)
        for j in range(1, self.ngram):
            h *= _MULT_U64
            h += wh[j : j + n_shingles]
        phv = np.multiply.outer(self._a, _fmix(h, 64))  # (P, S)
        phv += self._b[:, None]
        return phv.min(axis=1)

    def signatures(self, texts: Iterable[str]) -> np.ndarray:
        """Signatures of many documents: shape (n, num_perm) uint64.

        The fastest path (~1.5x `signature` per document): pass batches of ~100-1000
        documents; scratch memory grows with the batch's total word count.
        """
        return self._signatures(*_batch_shingle_hashes([_words(t) for t in texts], self.ngram))

    def signatures_from_hashes(self, hashes: Sequence[np.ndarray]) -> np.ndarray:
        """Signatures from per-document shingle-hash arrays (repeats allowed): (n, num_perm)."""
        lengths = np.fromiter((h.size for h in hashes), dtype=np.int64, count=len(hashes))  # (n,)
        flat = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        return self._signatures(flat.astype(np.uint64, copy=False), lengths)

    def _signatures(self, hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(T,) concatenated shingle hashes, (n,) per-document counts -> (n, num_perm) uint64.

        All documents' shingles are processed together in fixed-size chunks, so the
        per-document cost is a share of a few large numpy calls.
        """
        n = lengths.size
        sigs = np.full((n, self.num_perm), EMPTY_SIGNATURE, dtype=np.uint64)  # (n, P)
        offsets = np.zeros(n + 1, dtype=np.int64)  # (n+1,) doc i owns rows [offsets[i], offsets[i+1])
        np.cumsum(lengths, out=offsets[1:])
        total = int(offsets[-1])
        if total == 0:
            return sigs
        hv = _fmix(hashes, 64)  # (T,) datasketch's pre-mix of every input hash
        starts = offsets[:-1][lengths > 0]  # (n_nonempty,) first row of each non-empty doc
        docs = np.flatnonzero(lengths > 0)  # (n_nonempty,)
        # Transposed (P, m) layout: reduceat then runs along contiguous memory (~5x faster
        # than (m, P) with axis=0).
        buf = np.empty((self.num_perm, min(_CHUNK_ROWS, total)), dtype=np.uint64)
        b_col = self._b[:, None]  # (P, 1)
        for lo in range(0, total, _CHUNK_ROWS):
            hi = min(lo + _CHUNK_ROWS, total)
            phv = np.multiply.outer(self._a, hv[lo:hi], out=buf[:, : hi - lo])  # (P, m)
            phv += b_col  # a*h + b mod 2^64: datasketch's affine permutation
            # Fragments of documents inside this chunk: each document appears at most once.
            first = np.searchsorted(starts, lo, side="right") - 1
            last = np.searchsorted(starts, hi, side="left")
            frag_starts = np.maximum(starts[first:last], lo) - lo  # (k,)
            frag_docs = docs[first:last]  # (k,)
            part = np.minimum.reduceat(phv, frag_starts, axis=1)  # (P, k)
            sigs[frag_docs] = np.minimum(sigs[frag_docs], part.T)
        return sigs

    def band_keys(self, sig: np.ndarray) -> list[tuple[int, int]]:
        """[(band index, xxh3-64 of the band's `rows` values as little-endian bytes)]; [] if empty."""
        if is_empty_signature(sig):
            return []
        raw = np.ascontiguousarray(sig, dtype="<u8").tobytes()
        width = self.rows * 8
        return [(b, xxhash.xxh3_64_intdigest(raw[b * width : (b + 1) * width])) for b in range(self.bands)]

    @staticmethod
    def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
        """Estimated Jaccard: the fraction of equal slots (0.0 if either doc is empty)."""
        if is_empty_signature(sig_a) or is_empty_signature(sig_b):
            return 0.0
        return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def is_empty_signature(sig: np.ndarray) -> bool:
    """True for the sentinel signature of a document with no words."""
    return bool(np.all(sig == EMPTY_SIGNATURE))


__all__ = [
    "EMPTY_SIGNATURE",
    "MinHasher",
    "candidate_probability",
    "candidate_threshold",
    "is_empty_signature",
    "shingle_hash",
    "shingle_hashes",
    "shingle_tuples",
    "true_jaccard",
]
