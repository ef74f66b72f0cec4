"""Dedup stages as composite PTransforms: URL, exact text, MinHash near-dup, lines.

Every step is keyed and spread over workers. No step gathers all documents,
signatures or edges on one worker. The hot keys a real crawl has ("Privacy Policy"
lines, one root holding a big cluster) are counted with combiners, which pre-aggregate
on each worker. Each composite returns {"docs", "dropped", "stats"}, where stats are
((stage, name), number) pairs summed into report.json.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable

import apache_beam as beam
import numpy as np
import xxhash
from apache_beam.pvalue import AsList, AsSingleton, TaggedOutput

from edumix.core.config import LineDedupConfig, MinHashConfig
from edumix.core.record import Document, Drop
from edumix.core.stages import EXACT_DEDUP, LINE_DEDUP, MINHASH_DEDUP, URL_DEDUP
from edumix.filters.keep import identity, label_doc_id, node_label, rank_by_date, rank_longest
from edumix.filters.lines import bucket_of, line_keys, remove_frequent_lines
from edumix.filters.minhash import MinHasher, candidate_probability, candidate_threshold, true_jaccard
from edumix.filters.textnorm import normalize_text
from edumix.filters.urls import canonical_url

from .stage import DROPPED, STATS


def _stat(stage: str, name: str, value: float = 1) -> tuple[tuple[str, str], float]:
    return ((stage, name), value)


class _KeepOnePerKey(beam.DoFn):
    """(key, docs) -> the keeper (smallest `rank`), and a Drop naming the keeper for every
    other doc. Two passes over the grouped values, holding one document at a time: a key
    with a million copies (a parked-domain page) must not be materialised on one worker."""

    def __init__(self, stage: str, reason: str, rank):
        self._stage, self._reason, self._rank = stage, reason, rank

    def process(self, element):
        _, docs = element
        keeper, best = None, None
        for doc in docs:
            r = self._rank(doc)
            if best is None or r < best:
                keeper, best = doc, r
        yield keeper
        kept, skipped = identity(keeper), False
        for doc in docs:  # Beam's grouped values can be iterated again
            if not skipped and identity(doc) == kept:
                skipped = True  # the keeper itself (once, should a record come twice)
                continue
            yield TaggedOutput(DROPPED, Drop(self._stage, self._reason, doc, f"dup_of={keeper.id}"))


class _DedupByKey(beam.PTransform):
    """Group documents by `key_fn` (None: never a duplicate) and keep one per key."""

    def __init__(self, stage: str, reason: str, key_fn, rank):
        super().__init__()
        self._stage, self._reason, self._key_fn, self._rank = stage, reason, key_fn, rank

    def expand(self, docs):
        keyed = docs | "Key" >> beam.Map(lambda d: (self._key_fn(d), d))
        unkeyed = keyed | "NoKey" >> beam.Filter(lambda kv: kv[0] is None) | "NoKeyDocs" >> beam.Values()
        kept = (
            keyed
            | "HasKey" >> beam.Filter(lambda kv: kv[0] is not None)
            | "Group" >> beam.GroupByKey()
            | "KeepOne"
            >> beam.ParDo(_KeepOnePerKey(self._stage, self._reason, self._rank)).with_outputs(DROPPED, main="docs")
        )
        docs_out = (kept.docs, unkeyed) | "Merge" >> beam.Flatten()
        stats = keyed | "CountKeyed" >> beam.Map(lambda kv: _stat(self._stage, "no_key" if kv[0] is None else "keyed"))
        return {"docs": docs_out, DROPPED: kept[DROPPED], STATS: stats}


def UrlDedup(keep: str) -> _DedupByKey:
    return _DedupByKey(URL_DEDUP, "dup_url", lambda d: canonical_url(d.url), functools.partial(rank_by_date, keep=keep))


def signed64(h: int) -> int:
    """An unsigned 64-bit hash as a signed one: Beam's int coder is a signed varint."""
    return h - (1 << 63)


def _text_key(doc: Document) -> int | None:
    norm = normalize_text(doc.text)
    return signed64(xxhash.xxh3_64_intdigest(norm.encode())) if norm else None


def ExactDedup() -> _DedupByKey:
    return _DedupByKey(EXACT_DEDUP, "dup_exact", _text_key, rank_longest)


# -- MinHash ---------------------------------------------------------------------------

_MH = MINHASH_DEDUP


class _Sign(beam.DoFn):
    """[Document] -> (label, doc) and (label, signature bytes); one MinHasher per worker.
    Batches: one vectorised call per batch signs ~1.5x faster than per document."""

    def __init__(self, cfg: MinHashConfig):
        self._cfg = cfg

    def setup(self):
        self._hasher = MinHasher.from_config(self._cfg)

    def process(self, batch: list[Document]):
        sigs = self._hasher.signatures([d.text for d in batch])  # (n, num_perm) uint64
        for doc, sig in zip(batch, sigs, strict=True):
            label = node_label(doc, self._cfg.keep)
            yield (label, doc)
            yield TaggedOutput("sigs", (label, sig.tobytes()))


class _BandEdges(beam.DoFn):
    """Docs sharing one band hash -> edges to the smallest-label member that passes the
    Jaccard check. That is at most n-1 edges per group, never n^2."""

    MAX_CHECKS = 64  # comparisons per member in a huge band group

    def __init__(self, cfg: MinHashConfig):
        self._threshold = cfg.verify_threshold

    def process(self, element):
        _, members = element
        members = sorted(set(members))
        if len(members) < 2:
            return
        labels = [m[0] for m in members]
        sigs = [np.frombuffer(m[1], dtype=np.uint64) for m in members]
        for i in range(1, len(members)):
            for j in range(min(i, self.MAX_CHECKS)):
                if self._threshold is None or MinHasher.jaccard(sigs[i], sigs[j]) >= self._threshold:
                    yield (labels[j], labels[i])
                    break
            else:
                yield TaggedOutput(STATS, _stat(_MH, "candidates_rejected"))


def _both_ways(edge):
    a, b = edge
    yield (a, b)
    yield (b, a)


def _large_star(element):
    """Link every larger neighbour of u to the smallest node of u's neighbourhood."""
    u, neighbours = element
    neighbours = set(neighbours)
    m = min(neighbours | {u})
    for v in neighbours:
        if v > u:
            yield (m, v)


def _small_star(element):
    """Link u and its smaller neighbours to the smallest of them."""
    u, smaller = element
    group = set(smaller) | {u}
    m = min(group)
    for v in group:
        if v != m:
            yield (m, v)


class ConnectedComponents(beam.PTransform):
    """Edges (a, b) -> (root, node) for every non-root node, root = min label of its
    component, by alternating large-star / small-star rounds (Kiveris et al. 2014,
    "Connected Components in MapReduce and Beyond"): O(log n) rounds, each one
    GroupByKey, no global step. Unrolled `rounds` times. If the graph needs more, some
    nodes point to an intermediate node instead of the minimum, or a local minimum stays
    a root of its own. Both are safe: nothing is dropped without a kept neighbour, and
    at worst a duplicate is kept. They are counted as `cc_unconverged_nodes`."""

    def __init__(self, rounds: int):
        super().__init__()
        self._rounds = rounds

    def expand(self, edges):
        for r in range(self._rounds):
            edges = (
                edges
                | f"LargeBoth{r}" >> beam.FlatMap(_both_ways)
                | f"LargeGroup{r}" >> beam.GroupByKey()
                | f"LargeStar{r}" >> beam.FlatMap(_large_star)
                | f"SmallKey{r}" >> beam.Map(lambda e: (max(e), min(e)))
                | f"SmallGroup{r}" >> beam.GroupByKey()
                | f"SmallStar{r}" >> beam.FlatMap(_small_star)
            )
        return (
            edges
            | "ByNode" >> beam.Map(lambda e: (max(e), min(e)))
            | "OneRoot" >> beam.CombinePerKey(min)
            | "RootFirst" >> beam.KvSwap()
        )


def _size_bin(n: int) -> str:
    lo = 1 << (n.bit_length() - 1)
    return str(n) if n < 4 else f"{lo}-{2 * lo - 1}"


class MinHashDedup(beam.PTransform):
    def __init__(self, cfg: MinHashConfig):
        super().__init__()
        self._cfg = cfg

    def expand(self, docs):
        cfg = self._cfg
        signed = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=512)
            | "Sign" >> beam.ParDo(_Sign(cfg)).with_outputs("sigs", main="labelled")
        )
        labelled, sigs = signed.labelled, signed.sigs

        hasher_args = (cfg.num_perm, cfg.bands, cfg.rows, cfg.ngram, cfg.seed)
        bands = sigs | "BandKeys" >> beam.FlatMap(_band_items, *hasher_args)
        edges = (
            bands
            | "GroupBands" >> beam.GroupByKey()
            | "BandEdges" >> beam.ParDo(_BandEdges(cfg)).with_outputs(STATS, main="edges")
        )
        unique_edges = edges.edges | "UniqueEdges" >> beam.Distinct()
        members = unique_edges | "Components" >> ConnectedComponents(cfg.cc_rounds)  # (root, node)

        sizes = (
            members
            | "RootOnly" >> beam.Keys()
            | "ClusterSize" >> beam.combiners.Count.PerElement()
            | "PlusRoot" >> beam.MapTuple(lambda root, n: (root, n + 1))
        )
        oversize = sizes | "Oversize" >> beam.Filter(lambda rn: rn[1] > cfg.max_cluster_size) | beam.Keys()
        decisions = (
            members
            | "NodeFirst" >> beam.KvSwap()
            | "NotInOversize" >> beam.Filter(lambda nr, big: nr[1] not in big, big=beam.pvalue.AsIter(oversize))
        )  # (node, root): node is dropped in favour of root
        joined = {"doc": labelled, "root": decisions} | "JoinDecisions" >> beam.CoGroupByKey()
        out = joined | "Decide" >> beam.ParDo(_ApplyDecision()).with_outputs(DROPPED, main="docs")

        stats = [
            edges[STATS],
            sizes | "SizeHist" >> beam.Map(lambda rn: _stat(_MH, f"cluster_size/{_size_bin(rn[1])}")),
            oversize | "OversizeCount" >> beam.Map(lambda _: _stat(_MH, "clusters_oversize_kept_whole")),
            unique_edges | "EdgeCount" >> beam.Map(lambda _: _stat(_MH, "edges")),
            members | "Unconverged" >> _UnconvergedNodes(),
            _precision_stats(unique_edges, labelled, cfg),
            docs.pipeline | "SCurve" >> beam.Create(_s_curve_stats(cfg)),
        ]
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: stats | "MinHashStats" >> beam.Flatten()}


def _band_items(label_sig, num_perm, bands, rows, ngram, seed):
    label, sig_bytes = label_sig
    hasher = _hasher(num_perm, bands, rows, ngram, seed)
    for band, band_hash in hasher.band_keys(np.frombuffer(sig_bytes, dtype=np.uint64)):
        yield ((band, signed64(band_hash)), (label, sig_bytes))


@functools.lru_cache(maxsize=4)
def _hasher(num_perm, bands, rows, ngram, seed) -> MinHasher:
    return MinHasher(num_perm=num_perm, bands=bands, rows=rows, ngram=ngram, seed=seed)


class _ApplyDecision(beam.DoFn):
    def process(self, element):
        _, grouped = element
        roots = list(grouped["root"])
        for doc in grouped["doc"]:
            if roots:
                yield TaggedOutput(DROPPED, Drop(_MH, "dup_minhash", doc, f"dup_of={label_doc_id(min(roots))}"))
            else:
                yield doc


class _UnconvergedNodes(beam.PTransform):
    """Nodes that are a root and also a member of another root: a sign the components
    did not converge within cc_rounds (0 when converged)."""

    def expand(self, members):
        roles = members | "RootRole" >> beam.Map(lambda rn: (rn[0], "root"))
        node_roles = members | "NodeRole" >> beam.Map(lambda rn: (rn[1], "node"))
        return (
            (roles, node_roles)
            | "AllRoles" >> beam.Flatten()
            | "RolesPerLabel" >> beam.GroupByKey()
            | "BothRoles" >> beam.Filter(lambda kv: {"root", "node"} <= set(kv[1]))
            | "UnconvergedStat" >> beam.Map(lambda _: _stat(_MH, "cc_unconverged_nodes"))
        )


def _precision_stats(edges, labelled, cfg: MinHashConfig):
    """True shingle Jaccard of a deterministic sample of candidate pairs (the verified
    band edges that build the clusters): precision = share of pairs at or above the LSH
    threshold (1/b)^(1/r), to read beside the S-curve."""
    p = edges.pipeline
    if cfg.precision_sample == 0:
        return p | "NoPrecision" >> beam.Create([])
    sample = (
        edges
        | "PairHash" >> beam.Map(lambda ab: (signed64(xxhash.xxh64_intdigest("\t".join(ab).encode())), ab))
        | "SamplePairs" >> beam.combiners.Top.Of(cfg.precision_sample, key=lambda hp: hp[0], reverse=True)
    )  # one list of at most precision_sample pairs
    threshold = (1 / cfg.bands) ** (1 / cfg.rows)

    def score(kv):
        _, parts = kv
        texts = dict(parts)
        if len(texts) < 2:
            return
        j = true_jaccard(texts[False], texts[True], cfg.ngram)
        yield _stat(_MH, "precision/pairs")
        yield _stat(_MH, "precision/jaccard_sum", j)
        if j >= threshold:
            yield _stat(_MH, "precision/at_or_above_threshold")

    return (
        labelled
        | "SampleTexts" >> beam.ParDo(_SampleTexts(), AsSingleton(sample, default_value=[]))
        | "GroupPairs" >> beam.GroupByKey()
        | "TrueJaccard" >> beam.FlatMap(score)
    )


class _SampleTexts(beam.DoFn):
    """(label, doc) -> ((a, b), (is_b, text)) for docs in the sampled pairs (a, b)."""

    def __init__(self):
        self._src, self._by_label = None, {}

    def process(self, kv, pairs):
        if pairs is not self._src:  # index the side input once per worker
            self._src, self._by_label = pairs, {}
            for _, (a, b) in pairs:
                self._by_label.setdefault(a, []).append((a, b))
                self._by_label.setdefault(b, []).append((a, b))
        label, doc = kv
        for pair in self._by_label.get(label, ()):
            yield (pair, (label == pair[1], doc.text))


def _s_curve_stats(cfg: MinHashConfig) -> list:
    stats = [
        _stat(_MH, "lsh_threshold", (1 / cfg.bands) ** (1 / cfg.rows)),
        _stat(_MH, "s_curve_half", candidate_threshold(cfg.bands, cfg.rows)),
    ]
    for s in (0.5, 0.6, 0.7, 0.72, 0.8, 0.9):
        stats.append(_stat(_MH, f"s_curve/{s:.2f}", candidate_probability(s, cfg.bands, cfg.rows)))
    return stats


# -- lines -----------------------------------------------------------------------------

_LD = LINE_DEDUP


class _RemoveLines(beam.DoFn):
    def __init__(self, cfg: LineDedupConfig):
        self._cfg = cfg
        self._frequent_src = None
        self._frequent: set[int] = set()

    def process(self, doc: Document, num_buckets: int, frequent: Iterable[int]):
        if frequent is not self._frequent_src:  # the side input, materialised once per worker
            self._frequent_src, self._frequent = frequent, set(frequent)
        text, removed = remove_frequent_lines(doc.text, bucket_of(doc.id, num_buckets), self._frequent)
        if not removed:
            yield doc
            return
        yield TaggedOutput(STATS, _stat(_LD, "lines_removed", removed))
        yield TaggedOutput(STATS, _stat(_LD, "docs_changed"))
        signals = {**doc.signals, "dup_lines_removed": float(removed)}
        if len(text.strip()) < self._cfg.min_chars:  # the ledger keeps the original text
            doc = dataclasses.replace(doc, signals=signals)
            yield TaggedOutput(DROPPED, Drop(_LD, "dup_lines_emptied", doc, f"{removed} lines removed"))
        else:
            yield dataclasses.replace(doc, text=text, signals=signals)  # never mutate an input element


class LineDedup(beam.PTransform):
    """Llama 3 line dedup: a line in >= min_count documents of its bucket is removed
    from all of them. Line counts go through a combiner, so a boilerplate line found
    in every document is pre-summed on each worker instead of funnelling to one key."""

    def __init__(self, cfg: LineDedupConfig):
        super().__init__()
        self._cfg = cfg

    def expand(self, docs):
        cfg = self._cfg
        num_buckets = AsSingleton(
            docs
            | "CountDocs" >> beam.combiners.Count.Globally()
            | "Buckets" >> beam.Map(lambda n: max(1, math.ceil(n / cfg.bucket_docs)))
        )
        frequent = (
            docs
            | "LineKeys" >> beam.FlatMap(lambda d, n: line_keys(d.text, bucket_of(d.id, n)), n=num_buckets)
            | "One" >> beam.Map(lambda k: (k, 1))
            | "CountLines" >> beam.CombinePerKey(sum)
            | "Frequent" >> beam.Filter(lambda kv: kv[1] >= cfg.min_count)
            | "FrequentKeys" >> beam.Keys()
        )
        out = docs | "Remove" >> beam.ParDo(_RemoveLines(cfg), num_buckets, AsList(frequent)).with_outputs(
            DROPPED, STATS, main="docs"
        )
        stats = (
            out[STATS],
            frequent | "FrequentStat" >> beam.Map(lambda _: _stat(_LD, "frequent_lines")),
        ) | "LineStats" >> beam.Flatten()
        return {"docs": out.docs, DROPPED: out[DROPPED], STATS: stats}
