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

# Arrow schema of a curated shard. Per-stage numbers go into `signals` (raw measurements,
# e.g. a dup ratio) and `scores` (model outputs, e.g. edu level); free-form provenance
# goes into `metadata`. Maps keep the schema fixed while later stages add keys.
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
        pa.field("metadata", pa.map_(pa.string(), pa.string())),
        pa.field("signals", pa.map_(pa.string(), pa.float64())),
        pa.field("scores", pa.map_(pa.string(), pa.float64())),
    ]
)

# The removal ledger: the same columns plus where and why the document was dropped.
REJECTED_SCHEMA = (
    DOCUMENT_SCHEMA.append(pa.field("stage", pa.string(), nullable=False))
    .append(pa.field("reason", pa.string(), nullable=False))
    .append(pa.field("detail", pa.string()))
)


# A data-mix cell file (mix/phase=P/domain=D/tier=T/): the documents the mixer chose for
# a phase, each with how many times the phase uses it (deterministic upsampling).
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
    return pa.Table.from_pylist(rows, schema=schema)
