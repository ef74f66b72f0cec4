"""Parquet files with a `text` or an `html` column (plain Python, no Beam)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow.parquet as pq

from edumix.core.config import ReadConfig
from edumix.core.record import Drop, RawRecord

from .errors import read_error
from .fields import record_from_fields


def iter_parquet(fh: BinaryIO, source_file: str, cfg: ReadConfig) -> Iterator[RawRecord | Drop]:
    """One record per row; `source_offset` is the 0-based row index."""
    row_index = 0
    try:
        pf = pq.ParquetFile(fh)
        wanted = {cfg.text_field, cfg.html_field, cfg.url_field, cfg.date_field}
        columns = [c for c in pf.schema_arrow.names if c in wanted]
        if cfg.text_field not in columns and cfg.html_field not in columns:
            yield read_error(
                source_file,
                0,
                "parquet",
                f"no {cfg.text_field!r} or {cfg.html_field!r} column (has: {', '.join(pf.schema_arrow.names)})",
            )
            return
        for batch in pf.iter_batches(batch_size=1024, columns=columns):
            for row in batch.to_pylist():
                yield record_from_fields(row, source_file, row_index, "parquet", cfg)
                row_index += 1
    except Exception as e:  # noqa: BLE001 - corrupt file or page: counted, not fatal
        yield read_error(source_file, row_index, "parquet", e)
