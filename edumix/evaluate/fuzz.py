"""Damaged inputs for the readers: generated crawl files, a mutator, and the check that a
reader finishes on anything and accounts for every byte.

    warc_bytes(records=34)              a per-record-gzip WARC (warcinfo, then response/request pairs)
    warc_bytes(records=34, gzip=False)  the same WARC uncompressed
    arc_bytes(records=20)               an ARC file: the filedesc header, then HTML responses
    jsonl_bytes(lines=1000)             one `{"text", "url"}` object per line
    parquet_bytes(rows=200, group=50)   a `text`/`url` table in row groups of `group` rows
    mutate(data, rng)                   byte flips, a truncation and/or inserted garbage
    check_reader(name, data)            read it all; a Crash or the items with their ByteAccount
    fuzz(seeds, tries, seed)            mutate seed files, check each: FuzzCounts

`tests/test_fuzz_inputs.py` runs a short fuzz in CI; `benchmarks/fuzz_inputs.py` a long one
(it also runs whole curate runs on damaged files). The seed files are generated here or
come from the shared crawl samples (`edumix.core.shared_data`), never copied into the repo.
"""

from __future__ import annotations

import gzip as gzip_module
import io
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from edumix.core.config import ReadConfig
from edumix.core.record import REJECTED_SCHEMA, Drop, RawRecord, to_table
from edumix.core.shared_data import shared_data_dir
from edumix.pipelines.formats import ByteAccount, is_known_format, iter_records
from edumix.pipelines.formats.account import FRAMING, READ_ERRORS, RECORDS

_WORDS = (
    "river delta sediment water flows north valley rain soil crops farmers harvest season "
    "bridge city market trade salt boats harbour storm coast tide islands history village"
).split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def _page(rng: random.Random, i: int) -> bytes:
    paras = "".join(f"<p>{' '.join(_sentence(rng, rng.randint(8, 20)) for _ in range(4))}</p>" for _ in range(4))
    head = f"<!doctype html><html><head><title>Page {i}</title></head>"
    return f"{head}<body><article>{paras}</article></body></html>".encode()


def warc_bytes(records: int = 34, seed: int = 0, gzip: bool = True) -> bytes:
    """A WARC of `records` records: a warcinfo, then request/response pairs (HTML pages);
    with `gzip`, one gzip member per record, as crawlers write them."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(seed)
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gzip)
    date = datetime(2024, 5, 1, tzinfo=UTC)
    writer.write_record(writer.create_warcinfo_record("fuzz.warc", {"software": "edumix fuzz"}))
    for i in range(records - 1):
        url = f"http://fuzz.example/{i // 2}"
        warc_headers = {"WARC-Date": date.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if i % 2 == 0:
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "fuzz.example")], is_http_request=True)
            rec = writer.create_warc_record(url, "request", http_headers=http, warc_headers_dict=warc_headers)
        else:
            body = _page(rng, i)
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            rec = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=warc_headers
            )
        writer.write_record(rec)
    return buf.getvalue()


def arc_bytes(records: int = 20, seed: int = 0) -> bytes:
    """An ARC (v1) file: the `filedesc://` header record, then `records - 1` HTML responses."""
    rng = random.Random(seed)
    desc = b"1 0 edumix fuzz\nURL IP-address Archive-date Content-type Archive-length\n"
    out = [b"filedesc://fuzz.arc 0.0.0.0 20240501000000 text/plain %d\n%s\n" % (len(desc), desc)]
    for i in range(records - 1):
        body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + _page(rng, i)
        out.append(b"http://fuzz.example/%d 127.0.0.1 20240501000000 text/html %d\n%s\n" % (i, len(body), body))
    return b"".join(out)


def jsonl_bytes(lines: int = 1000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    rows = (
        json.dumps({"text": _sentence(rng, rng.randint(10, 40)), "url": f"https://fuzz.example/{i}"})
        for i in range(lines)
    )
    return "".join(r + "\n" for r in rows).encode()


def parquet_bytes(rows: int = 200, group: int = 50, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    table = pa.table(
        {
            "text": [_sentence(rng, rng.randint(10, 40)) for _ in range(rows)],
            "url": [f"https://fuzz.example/p{i}" for i in range(rows)],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=group)
    return buf.getvalue()


def generated_seeds(seed: int = 0) -> dict[str, bytes]:
    """Generated seed files, one of each format edumix reads (names carry the format)."""
    jsonl = jsonl_bytes(300, seed)
    return {
        "gen.warc.gz": warc_bytes(34, seed),
        "gen.warc": warc_bytes(20, seed, gzip=False),
        "gen.arc": arc_bytes(20, seed),
        "gen.jsonl": jsonl,
        "gen.jsonl.gz": gzip_module.compress(jsonl, mtime=0),
        "gen.jsonl.zst": zstandard.ZstdCompressor().compress(jsonl),
        "gen.parquet": parquet_bytes(200, 50, seed),
    }


def shared_seeds() -> dict[str, bytes]:
    """The shared crawl samples (WARC, WET, WAT, ARC; edge cases included); {} without them."""
    root = shared_data_dir() / "warc"
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if is_known_format(p.name)}


# --- mutations -----------------------------------------------------------------------------

# Format magic, record separators, and JSON escapes of code points no encoder takes.
_GARBAGE = (
    b"WARC/1.0\r\n",
    b"\x1f\x8b\x08\x00",
    b"\r\n\r\n",
    b"\n",
    b"\x00" * 16,
    b"{",
    b"PAR1",
    b"\xff\xfe",
    b"\\ud800",
    b"\\udfff\\u0000",
    b"\\uffff",
)


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One to three of: flip 1-32 bytes (all near one spot, or spread), cut the file, insert
    garbage (random bytes, a format's magic, a copy of another part of the file)."""
    out = bytearray(data)
    done = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        kind = rng.choice(("flip", "flip", "truncate", "insert"))
        if not out:
            break
        if kind == "flip":
            n = rng.randint(1, 32)
            spread = rng.random() < 0.5
            at = rng.randrange(len(out))
            for _ in range(n):
                i = rng.randrange(len(out)) if spread else min(len(out) - 1, at + rng.randrange(64))
                out[i] ^= rng.randint(1, 255)
            done.append(f"flip {n}{' spread' if spread else f' @{at}'}")
        elif kind == "truncate":
            at = rng.randrange(len(out))
            del out[at:]
            done.append(f"cut @{at}")
        else:
            at = rng.randrange(len(out) + 1)
            choice = rng.random()
            if choice < 0.4:
                junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 512)))
            elif choice < 0.7:
                junk = rng.choice(_GARBAGE)
            else:
                start = rng.randrange(len(out))
                junk = bytes(out[start : start + rng.randint(1, 4096)])
            out[at:at] = junk
            done.append(f"insert {len(junk)} @{at}")
    return bytes(out), ", ".join(done)


# --- the check -----------------------------------------------------------------------------


@dataclass
class ReadOutcome:
    items: list
    account: ByteAccount
    seconds: float

    @property
    def records(self) -> int:
        return len(self.items)

    @property
    def read_errors(self) -> int:
        return sum(1 for i in self.items if isinstance(i, Drop) and i.reason == "read_error")

    @property
    def read(self) -> int:
        """Records read whole (everything but read errors)."""
        return self.records - self.read_errors


class Crash(Exception):
    pass


def check_reader(name: str, data: bytes, cfg: ReadConfig | None = None) -> ReadOutcome:
    """Read `data` as a file called `name`; raise Crash when the reader raises, a byte is not
    attributed, or a record could not be written (a string no Arrow column takes)."""
    cfg = cfg or ReadConfig()
    account = ByteAccount(len(data))
    start = time.perf_counter()
    try:
        items = list(iter_records(io.BytesIO(data), name, cfg, account))
    except Exception as e:
        raise Crash(f"reader raised {type(e).__name__}: {e}") from e
    seconds = time.perf_counter() - start
    if account.unattributed != 0:
        raise Crash(f"{account.unattributed} bytes unattributed ({account.bytes}, size {len(data)})")
    if sum(account.bytes.values()) != len(data) or min(account.bytes.values()) < 0:
        raise Crash(f"attribution {account.bytes} does not add up to {len(data)} bytes")
    _check_positions(name, data, items)
    rows = []
    for item in items:
        if isinstance(item, Drop):
            rows.append(item.to_row())
        elif isinstance(item, RawRecord):
            for value in (item.text, item.url, item.crawl_date, *item.metadata.values()):
                if value is not None:
                    value.encode("utf-8")  # what exact dedup's key and every writer do
        else:
            raise Crash(f"reader yielded a {type(item).__name__}")
    try:
        to_table(rows, REJECTED_SCHEMA)
    except Exception as e:
        raise Crash(f"a read_error cannot be written: {type(e).__name__}: {e}") from e
    return ReadOutcome(items, account, seconds)


def _check_positions(name: str, data: bytes, items: list) -> None:
    """Read errors' byte ranges lie in the file, in order, apart; record offsets never go back
    (except inside a gzip member holding several WARC records, where they are approximate)."""
    end = 0
    offsets = []
    for item in items:
        doc = item.doc if isinstance(item, Drop) else item
        offsets.append(doc.source_offset)
        if isinstance(item, Drop) and "byte_start" in doc.metadata:
            start, stop = int(doc.metadata["byte_start"]), int(doc.metadata["byte_end"])
            if not end <= start <= stop <= len(data):
                raise Crash(f"read error range {start}-{stop} out of order or outside the file (after {end})")
            end = stop
    gzipped_warc = data[:2] == b"\x1f\x8b" and not name.endswith((".jsonl.gz", ".ndjson.gz", ".json.gz"))
    if not gzipped_warc and any(b < a for a, b in zip(offsets, offsets[1:])):
        raise Crash(f"record offsets go back: {offsets[:50]}")


@dataclass
class FuzzCounts:
    tried: int = 0
    crashes: int = 0
    unattributed_bytes: int = 0
    records: int = 0  # items yielded, read errors included
    read_errors: int = 0
    read: int = 0  # records read whole from the damaged files
    seed_records: int = 0  # records the same files held undamaged
    bytes: Counter = field(default_factory=Counter)
    by_seed: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # "name (mutation): what went wrong"
    slowest: tuple[float, str] = (0.0, "")


def fuzz(seeds: dict[str, bytes], tries: int, seed: int = 0, budget_s: float | None = None) -> FuzzCounts:
    """`tries` mutated files drawn round-robin from `seeds`, each read and checked; stops
    early when `budget_s` runs out. Deterministic for a given seed (the budget aside)."""
    rng = random.Random(seed)
    counts = FuzzCounts()
    names = sorted(seeds)
    whole = {name: check_reader(name, data).read for name, data in seeds.items()}
    deadline = None if budget_s is None else time.monotonic() + budget_s
    for i in range(tries):
        if deadline is not None and time.monotonic() > deadline:
            break
        name = names[i % len(names)]
        data, how = mutate(seeds[name], rng)
        counts.tried += 1
        counts.by_seed[name] += 1
        try:
            outcome = check_reader(name, data)
        except Crash as e:
            counts.crashes += 1
            counts.failures.append(f"{name} ({how}): {e}")
            continue
        counts.records += outcome.records
        counts.read_errors += outcome.read_errors
        counts.read += outcome.read
        counts.seed_records += whole[name]
        counts.unattributed_bytes += abs(outcome.account.unattributed)
        counts.bytes.update(outcome.account.bytes)
        if outcome.seconds > counts.slowest[0]:
            counts.slowest = (outcome.seconds, f"{name} ({how})")
    return counts


__all__ = [
    "FRAMING",
    "READ_ERRORS",
    "RECORDS",
    "Crash",
    "FuzzCounts",
    "ReadOutcome",
    "check_reader",
    "fuzz",
    "arc_bytes",
    "generated_seeds",
    "jsonl_bytes",
    "mutate",
    "parquet_bytes",
    "shared_seeds",
    "warc_bytes",
]
