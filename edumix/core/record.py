"""The document record, the drop record, and the one Arrow schema every writer uses.

Every stage passes `Document`s along and turns the ones it removes into `Drop`s, so a
run can account for each input record exactly (see `edumix.pipelines.accounting`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .hashing import make_doc_id

# Open key sets (`metadata`, `signals`, `scores`) are stored as lists of {key, value} structs,
# sorted by key. That is how Parquet stores a map anyway, minus the MAP annotation that
# Hugging Face `datasets` cannot type; every reader (pandas, polars, duckdb, datatrove) reads
# it, values keep their type, and `kv_dict` gives the exact dict back. Runs of schema version 1
# (edumix.core.run_dir.SCHEMA_VERSION) stored Arrow maps: `kv_dict` reads those too.
KV_COLUMNS = ("metadata", "signals", "scores")


def kv_type(value: pa.DataType) -> pa.DataType:
    return pa.list_(pa.struct([pa.field("key", pa.string(), nullable=False), pa.field("value", value)]))


def kv_list(mapping: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A dict as the stored column value: {key, value} items sorted by key."""
    return [{"key": k, "value": v} for k, v in sorted((mapping or {}).items())]


def kv_dict(stored: Any) -> dict[str, Any]:
    """The stored value back as a dict, from either schema: a list of {key, value} items
    (version 2) or of (key, value) pairs (pyarrow's to_pylist of a version-1 map)."""
    if not stored:
        return {}
    if isinstance(stored, dict):
        return dict(stored)
    return dict((item["key"], item["value"]) if isinstance(item, dict) else tuple(item) for item in stored)


# Arrow schema of a curated shard. Per-stage numbers go into `signals` (raw measurements,
# e.g. a dup ratio) and `scores` (model outputs, e.g. edu level); free-form provenance
# goes into `metadata`. Key/value lists keep the schema fixed while later stages add keys.
DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("crawl_date", pa.string()),  # ISO-8601 as the source gave it
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_offset", pa.int64(), nullable=False),  # byte offset / line / row
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        # Classifier outputs (classifiers/): they drive tiers and the data mix.
        pa.field("quality_score", pa.float64()),  # P(high quality)
        pa.field("edu_score", pa.float64()),  # expected educational value, 0-5
        pa.field("edu_tier", pa.string()),  # A | B | C
        pa.field("domain", pa.string()),  # general | math | code | multilingual
        pa.field("domain_score", pa.float64()),
        # Tokens of `text` (filters/tokens.py: the trainer's tokenizer, or a labelled estimate).
        pa.field("n_tokens", pa.int64()),
        pa.field("metadata", kv_type(pa.string())),
        pa.field("signals", kv_type(pa.float64())),
        pa.field("scores", kv_type(pa.float64())),
    ]
)

# The removal ledger: the same columns plus where and why the document was dropped.
REJECTED_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("stage", pa.string(), nullable=False))
    .append(pa.field("reason", pa.string(), nullable=False))
    .append(pa.field("detail", pa.string()))
)


# A data-mix cell file (mix/phase=P/DOMAIN.TIER.part-*.parquet): the documents the mixer chose
# for a phase, each with how many times the phase uses it (deterministic upsampling). `phase`
# is only the directory's hive key, never a column, so no reader sees it twice.
MIX_SCHEMA = DOCUMENT_SCHEMA.append(pa.field("repeat", pa.int32(), nullable=False))


# Lone surrogates, NULs and noncharacters a reader replaced with U+FFFD (pipelines/formats/text.py).
TEXT_REPAIRED = "text_repaired"


@dataclass
class RawRecord:
    """What a reader yields before extraction: an HTML body to extract, or text as-is."""

    url: str | None
    crawl_date: str | None
    source_file: str
    source_offset: int
    source_format: str  # warc | arc | wet | jsonl | parquet
    digest: str  # sha256 of the payload as read
    # html: `body` holds HTML to extract; text: `text` is final (WET, JSONL `text`);
    # other: a non-HTML payload (not carried); oversize: over read.max_record_bytes (not carried).
    kind: str = "other"
    body: bytes | None = None
    text: str | None = None
    content_type: str | None = None  # mime type, lower case, no parameters
    charset: str | None = None  # declared by the transport (HTTP header)
    body_length: int = 0  # length of the payload even when `body` was not kept
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return make_doc_id(self.url, self.digest)


@dataclass
class Document:
    id: str
    url: str | None
    crawl_date: str | None
    source_file: str
    source_offset: int
    source_format: str
    text: str
    lang: str | None = None
    quality_score: float | None = None
    edu_score: float | None = None
    edu_tier: str | None = None
    domain: str | None = None
    domain_score: float | None = None
    n_tokens: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: RawRecord, text: str, **metadata: str) -> Document:
        """The reader's count of repaired code points (carried as a string on the raw record)
        becomes the `text_repaired` signal."""
        meta = {**raw.metadata, **metadata}
        repaired = meta.pop(TEXT_REPAIRED, None)
        return cls(
            id=raw.id,
            url=raw.url,
            crawl_date=raw.crawl_date,
            source_file=raw.source_file,
            source_offset=raw.source_offset,
            source_format=raw.source_format,
            text=text,
            metadata=meta,
            signals={TEXT_REPAIRED: float(repaired)} if repaired else {},
        )

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Drop:
    """A removed document: `stage` and `reason` are stable snake_case names for the report."""

    stage: str
    reason: str
    doc: Document
    detail: str = ""

    @classmethod
    def of_raw(cls, stage: str, reason: str, raw: RawRecord, detail: str = "") -> Drop:
        doc = Document.from_raw(raw, text=raw.text or "")
        if raw.content_type:
            doc.metadata["content_type"] = raw.content_type
        doc.metadata["body_length"] = str(raw.body_length)
        return cls(stage, reason, doc, detail)

    def to_row(self) -> dict[str, Any]:
        return {**self.doc.to_row(), "stage": self.stage, "reason": self.reason, "detail": self.detail}


def to_table(rows: list[dict[str, Any]], schema: pa.Schema = DOCUMENT_SCHEMA) -> pa.Table:
    """Rows as the records give them (dicts for the key/value columns) -> the stored table."""
    kv = [c for c in KV_COLUMNS if c in schema.names]
    return pa.Table.from_pylist([{**r, **{c: kv_list(r.get(c)) for c in kv}} for r in rows], schema=schema)
