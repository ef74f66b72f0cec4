"""Token-distribution KL divergence of a document against its corpus.

In the pipeline this is two passes over the same PCollection:

1. every document contributes `token_counts(text)`; a global combine (per language) sums
   them: the `Counter`s have at most `vocab_size` integer keys, so the combine's accumulator
   is bounded whatever the corpus size, and the sum is exact, hence deterministic on any
   runner and worker count;
2. `corpus_distribution(total, vocab_size)` turns the sum into a small picklable
   `CorpusDist` (top-K bucket probabilities plus one "other" mass), handed to the filter as
   a side input, and `kl_divergence(token_counts(doc), dist)` scores each document.

Tokens are case-folded words (each CJK/kana/Thai character one token; see
`rules_text.words`) hashed into `vocab_size` buckets with crc32, which is stable
across processes (Python's `hash()` is salted per process). Collisions merge a rare word
into a bucket with other words; with 2^16 buckets they barely move the divergence.

The divergence is KL(doc || corpus) in nats, with the document distribution smoothed
towards the corpus (Dirichlet prior of weight `prior` tokens): p_doc(w) = (c_w + prior *
q(w)) / (N + prior). The corpus side is smoothed additively (`alpha` per bucket) so no
bucket has q = 0.

KL of an empirical distribution grows with the number of tokens it is estimated from, so
one absolute threshold cannot serve a 100-word and a 5,000-word page. `windowed_kl` scores
a document as the mean KL of its first `windows` windows of `window` tokens (150 x 4 by
default): every document is measured at the same sample size. On the English seed
passages (../shared/data/seed) with a corpus built from them, KL > 2.0 at 150 tokens marks
2% of the textbook and general passages and 66% of the boilerplate set; at 500 tokens
the same threshold would mark 20% of the textbooks.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from edumix.filters.rules_text import words

DEFAULT_VOCAB = 1 << 16


def bucket(word: str, vocab_size: int = DEFAULT_VOCAB) -> int:
    return zlib.crc32(word.encode("utf-8", "surrogatepass")) % vocab_size


def token_counts(text: str, vocab_size: int = DEFAULT_VOCAB, max_tokens: int = 20_000) -> Counter:
    """Bucket counts of the first `max_tokens` tokens of `text` (bounded work and keys)."""
    toks = words(text[: max_tokens * 12])[:max_tokens]
    return Counter(bucket(t, vocab_size) for t in toks)


@dataclass
class CorpusDist:
    """A corpus token distribution: probabilities of the `top_k` most frequent buckets,
    and the remaining mass spread evenly over the other buckets."""

    vocab_size: int
    total_tokens: int
    top: dict[int, float] = field(default_factory=dict)
    other_mass: float = 0.0

    def prob(self, key: int) -> float:
        p = self.top.get(key)
        if p is not None:
            return p
        rest = self.vocab_size - len(self.top)
        return self.other_mass / rest if rest > 0 else 0.0


def corpus_distribution(
    total: Counter, vocab_size: int = DEFAULT_VOCAB, top_k: int = 20_000, alpha: float = 0.5
) -> CorpusDist:
    """Summed `token_counts` -> `CorpusDist`. Deterministic: ties in the top-K cut are
    broken by bucket id. `alpha` is added to every bucket's count (additive smoothing)."""
    n = sum(total.values())
    denom = n + alpha * vocab_size
    if denom <= 0:
        return CorpusDist(vocab_size, 0, {}, 1.0)
    ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
    top = {int(k): (v + alpha) / denom for k, v in ranked}
    return CorpusDist(vocab_size, int(n), top, max(0.0, 1.0 - sum(top.values())))


def kl_divergence(counts: Counter, dist: CorpusDist, prior: float = 100.0) -> float:
    """KL(doc || corpus) in nats over the buckets the document uses, plus the prior's
    share of the mass on the buckets it does not use (both terms are exact)."""
    n = sum(counts.values())
    if n == 0:
        return 0.0
    keys = list(counts)
    c = np.fromiter((counts[k] for k in keys), dtype=np.float64, count=len(keys))
    q = np.fromiter((dist.prob(k) for k in keys), dtype=np.float64, count=len(keys))
    q = np.maximum(q, 1e-300)
    denom = n + prior
    p = (c + prior * q) / denom
    kl_used = float(np.sum(p * np.log(p / q)))
    # Unused buckets: p(w) = prior * q(w) / denom, so each contributes p * log(prior / denom);
    # their total probability is prior * (1 - sum q_used) / denom.
    unused_mass = prior * max(0.0, 1.0 - float(q.sum())) / denom
    kl_unused = unused_mass * math.log(prior / denom) if prior > 0 else 0.0
    return max(0.0, kl_used + kl_unused)


def windowed_kl(
    text: str, dist: CorpusDist, window: int = 150, windows: int = 4, prior: float = 100.0, min_tokens: int = 20
) -> tuple[float, int] | None:
    """(mean KL over the document's first `windows` full windows of `window` tokens, tokens
    used). A document shorter than one window is scored on what it has, if at least
    `min_tokens`; None when it has fewer."""
    toks = words(text[: window * windows * 12])[: window * windows]
    if len(toks) < min_tokens:
        return None
    chunks = [toks[i : i + window] for i in range(0, len(toks), window)]
    if len(chunks) > 1 and len(chunks[-1]) < window:
        chunks.pop()
    values = [kl_divergence(Counter(bucket(t, dist.vocab_size) for t in chunk), dist, prior) for chunk in chunks]
    return sum(values) / len(values), sum(len(c) for c in chunks)
