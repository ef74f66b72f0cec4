"""Deterministic, atomic Parquet writers for shards and the removal ledger.

Same input + config => byte-identical files, whatever the runner's scheduling: shard
membership comes from a hash of the document id, rows are sorted inside each file, and
file names come from the shard index, never from a worker or a clock. A file becomes
visible only by rename after it is complete.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from edumix.core.config import OutputConfig, PiiConfig
from edumix.core.hashing import file_sha256
from edumix.core.record import DOCUMENT_SCHEMA, REJECTED_SCHEMA, Document, Drop, to_table
from edumix.core.run_dir import rejected_path, shard_path


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the run directory
    rows: int
    bytes: int
    sha256: str


def _sort_key(doc: Document) -> tuple[str, str, int]:
    # id alone can repeat (same URL and payload crawled twice): break ties by source.
    return (doc.id, doc.source_file, doc.source_offset)


def write_parquet_atomic(table: pa.Table, run_dir: str, rel_path: str, cfg: OutputConfig) -> WrittenFile:
    """Write locally, hash, then copy to `run_dir/rel_path.tmp-*` and rename into place
    (works the same for local paths and gs://)."""
    compression = None if cfg.compression == "none" else cfg.compression
    with tempfile.TemporaryDirectory(prefix="edumix-") as tmp:
        local = os.path.join(tmp, "part.parquet")
        pq.write_table(table, local, compression=compression, row_group_size=cfg.row_group_rows)
        digest = file_sha256(local)
        size = os.path.getsize(local)
        final = FileSystems.join(run_dir, rel_path)
        staging = f"{final}.tmp-{uuid.uuid4().hex}"
        parent = os.path.dirname(final)
        if "://" not in final and parent:
            os.makedirs(parent, exist_ok=True)
        with open(local, "rb") as src, FileSystems.create(staging) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        FileSystems.rename([staging], [final])
    return WrittenFile(rel_path, table.num_rows, size, digest)


def shard_count(kept: int, docs_per_shard: int) -> int:
    return max(1, math.ceil(kept / docs_per_shard))


def shard_of(doc_id: str, num_shards: int) -> int:
    return int(doc_id[:15], 16) % num_shards


class WriteShards(beam.PTransform):
    """Document -> WrittenFile per shard `shards/part-NNNNN-of-MMMMM.parquet`."""

    def __init__(self, run_dir: str, cfg: OutputConfig):
        super().__init__()
        self._run_dir = run_dir
        self._cfg = cfg

    def expand(self, docs):
        per_shard = self._cfg.docs_per_shard
        n = beam.pvalue.AsSingleton(
            docs | "CountKept" >> beam.combiners.Count.Globally() | beam.Map(shard_count, per_shard)
        )
        return (
            docs
            | "AssignShard" >> beam.Map(lambda d, n: ((shard_of(d.id, n), n), d), n=n)
            | "GroupShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.MapTuple(self._write)
        )

    def _write(self, key: tuple[int, int], docs) -> WrittenFile:
        index, total = key
        rows = [d.to_row() for d in sorted(docs, key=_sort_key)]
        rel = shard_path(index, total)
        return write_parquet_atomic(to_table(rows, DOCUMENT_SCHEMA), self._run_dir, rel, self._cfg)


def _drop_key(drop: Drop) -> tuple[str, str, int]:
    return _sort_key(drop.doc)


class _WriteReason(beam.DoFn):
    """One ledger file per (stage, reason); with a PII config its documents are scrubbed
    first, by a scrubber built once per worker."""

    def __init__(self, run_dir: str, cfg: OutputConfig, pii: PiiConfig | None):
        self._run_dir, self._cfg, self._pii = run_dir, cfg, pii
        self._scrub = None

    def setup(self):
        if self._pii is not None:
            from edumix.filters.pii import PiiScrubber  # presidio loads only when it is used

            self._scrub = PiiScrubber(self._pii)

    def process(self, item):
        (stage, reason), drops = item
        drops = sorted(drops, key=_drop_key)
        if self._scrub is not None:
            drops = [dataclasses.replace(d, doc=self._scrub(d.doc)) for d in drops]
        rows = [d.to_row() for d in drops]
        yield write_parquet_atomic(
            to_table(rows, REJECTED_SCHEMA), self._run_dir, rejected_path(stage, reason), self._cfg
        )


class WriteRejected(beam.PTransform):
    """Drop -> WrittenFile per (stage, reason) `rejected/STAGE.REASON.parquet`, holding the
    first `rejected_sample_per_reason` drops by id (a deterministic sample). With `pii` (the
    run's PII settings) the sampled documents are scrubbed before they are written: dropped
    documents never passed the pii stage, and the ledger is shared as widely as the shards."""

    def __init__(self, run_dir: str, cfg: OutputConfig, pii: PiiConfig | None = None):
        super().__init__()
        self._run_dir = run_dir
        self._cfg = cfg
        self._pii = pii

    def expand(self, drops):
        n = self._cfg.rejected_sample_per_reason
        if n == 0:
            return drops.pipeline | "NoLedger" >> beam.Create([])
        return (
            drops
            | "KeyByReason" >> beam.Map(lambda d: ((d.stage, d.reason), d))
            | "SampleReason" >> beam.combiners.Top.PerKey(n, key=_drop_key, reverse=True)
            | "WriteReason" >> beam.ParDo(_WriteReason(self._run_dir, self._cfg, self._pii))
        )
