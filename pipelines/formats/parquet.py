"""Parquet files with a `text` or an `html` column (plain Python, no Beam).

Read one row group at a time: a row group that cannot be read is one `read_error` for
its rows (their number and the group's bytes come from the footer) and reading goes on
with the next group. A file whose footer cannot be read is one read_error for all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from edumix.core.config import ReadConfig
from edumix.core.record import Drop, RawRecord

from .account import FRAMING, RECORDS, ByteAccount
from .fields import record_from_fields
from .parquet_footer import FooterError, row_group_spans


def _tail(fh: BinaryIO, size: int, footer: int) -> bytes:
    """The footer, its length and the closing magic."""
    fh.seek(max(0, size - footer - 8))
    return fh.read(footer + 8)


def _rows(batch: pa.RecordBatch) -> list[tuple[dict, int]]:
    """(row, code points replaced) for each row. pyarrow does not check that a string column
    holds UTF-8; a value that is not is decoded with U+FFFD (counted), so one bad value does
    not cost its row group."""
    try:
        return [(row, 0) for row in batch.to_pylist()]
    except UnicodeDecodeError:
        pass
    columns, counts = {}, [0] * batch.num_rows
    for name, col in zip(batch.schema.names, batch.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            values = col.cast(pa.large_binary()).to_pylist()
            columns[name] = [None if v is None else _decode(v, counts, i) for i, v in enumerate(values)]
        else:
            columns[name] = col.to_pylist()
    return [({name: columns[name][i] for name in columns}, counts[i]) for i in range(batch.num_rows)]


def _decode(value: bytes, counts: list[int], i: int) -> str:
    text = value.decode("utf-8", errors="replace")
    counts[i] += text.count("\ufffd") - value.count("\ufffd".encode())
    return text


def iter_parquet(
    fh: BinaryIO, source_file: str, cfg: ReadConfig, account: ByteAccount | None = None
) -> Iterator[RawRecord | Drop]:
    """One record per row; `source_offset` is the 0-based row index."""
    account = account if account is not None else ByteAccount.of(fh)
    try:
        pf = pq.ParquetFile(fh)
        meta = pf.metadata
        groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
        spans = row_group_spans(_tail(fh, account.size, meta.serialized_size))  # not rg.column(): see there
        if len(spans) != len(groups):
            raise FooterError(f"the footer lists {len(spans)} row groups, pyarrow {len(groups)}")
    except Exception as e:  # noqa: BLE001 - no footer, no row groups: one counted error
        yield account.error(account.size, source_file, 0, "parquet", f"{type(e).__name__}: {e}")
        return
    wanted = {cfg.text_field, cfg.html_field, cfg.url_field, cfg.date_field}
    columns = [c for c in pf.schema_arrow.names if c in wanted]
    if cfg.text_field not in columns and cfg.html_field not in columns:
        names = ", ".join(pf.schema_arrow.names)
        detail = f"no {cfg.text_field!r} or {cfg.html_field!r} column (has: {names})"
        yield account.error(account.size, source_file, 0, "parquet", detail)
        return
    first_row = 0
    for g, (rg, (start, end)) in enumerate(zip(groups, spans)):
        account.to(min(start, account.size), FRAMING)  # the magic before the first group, gaps between groups
        end = max(account.cursor, min(end, account.size))
        rows, read = rg.num_rows, 0
        try:
            for batch in pf.iter_batches(batch_size=1024, row_groups=[g], columns=columns):
                for row, repaired in _rows(batch):
                    yield record_from_fields(row, source_file, first_row + read, "parquet", cfg, repaired)
                    read += 1
            if read < rows:
                raise ValueError(f"the footer says {rows} rows, the row group holds {read}")
        except Exception as e:  # noqa: BLE001 - a corrupt page or column chunk: this group only
            first, last = first_row + read, first_row + max(rows - 1, read)
            detail = f"row group {g} of {len(groups)}: {type(e).__name__}: {e}"
            yield account.error(end, source_file, first, "parquet", detail, None, "row", first, last)
        else:
            account.to(end, RECORDS)
        first_row += max(rows, read)
    account.to(account.size, FRAMING)  # the footer
