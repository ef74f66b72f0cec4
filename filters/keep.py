"""Which document of a duplicate group survives: deterministic, whatever the runner.

Every rule ends in the full record identity (id, source file, offset), so two runs,
or two workers, always pick the same keeper.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from edumix.record import Document

_MAX_LEN = 10**12


def identity(doc: Document) -> tuple[str, str, int]:
    return (doc.id, doc.source_file, doc.source_offset)


def pick_by_date(docs: Iterable[Document], keep: str) -> Document:
    """URL duplicates: the latest (or earliest) crawl; undated crawls lose either way."""
    docs = list(docs)
    dated = [d for d in docs if d.crawl_date]
    if dated:
        best = max(d.crawl_date for d in dated) if keep == "latest" else min(d.crawl_date for d in dated)
        docs = [d for d in dated if d.crawl_date == best]
    return min(docs, key=identity)


def pick_longest(docs: Iterable[Document]) -> Document:
    return min(docs, key=lambda d: (-len(d.text), identity(d)))


def node_label(doc: Document, keep: str) -> str:
    """A unique, sortable label whose minimum over a cluster is the cluster's keeper, so
    connected components by min-label propagation elect the keeper directly.
    Format: `<rank>|<id>|<source digest>`."""
    if keep == "longest":
        rank = f"{_MAX_LEN - len(doc.text):013d}"
    else:  # earliest crawl; undated sorts last
        rank = doc.crawl_date or "~"
    source = hashlib.sha1(f"{doc.source_file}@{doc.source_offset}".encode()).hexdigest()[:10]
    return f"{rank}|{doc.id}|{source}"


def label_doc_id(label: str) -> str:
    return label.split("|")[-2]
