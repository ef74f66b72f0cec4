"""Which document of a duplicate group survives: deterministic, whatever the runner.

Every rule ends in the full record identity (id, source file, offset), so two runs,
or two workers, always pick the same keeper.
"""

from __future__ import annotations

import hashlib

from edumix.core.record import Document

_MAX_LEN = 10**12


def identity(doc: Document) -> tuple[str, str, int]:
    return (doc.id, doc.source_file, doc.source_offset)


class _Later(str):
    """A date string that sorts latest first."""

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)


def rank_by_date(doc: Document, keep: str) -> tuple:
    """URL duplicates: the latest (or earliest) crawl; undated crawls lose either way.
    The smallest rank is the keeper."""
    if not doc.crawl_date:
        return (1, "", identity(doc))
    return (0, _Later(doc.crawl_date) if keep == "latest" else doc.crawl_date, identity(doc))


def rank_longest(doc: Document) -> tuple:
    """Exact duplicates: the longest text (before normalisation) survives."""
    return (-len(doc.text), identity(doc))


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
