"""Readers on real crawl files: every record is a RawRecord or a counted Drop."""

import gzip
import io
import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from shared_data import shared

from edumix.core.config import ReadConfig
from edumix.core.record import Drop, RawRecord
from edumix.pipelines.formats import detect_format, iter_records
from edumix.pipelines.formats.warc import normalize_url, parse_content_type

CFG = ReadConfig()


def read_path(path, cfg=CFG):
    with open(path, "rb") as fh:
        return list(iter_records(fh, str(path), cfg))


def read_bytes(name, data, cfg=CFG):
    return list(iter_records(io.BytesIO(data), name, cfg))


def kinds(items):
    return Counter(f"{i.stage}.{i.reason}" if isinstance(i, Drop) else i.kind for i in items)


def test_commoncrawl_sample_all_16_html_responses():
    items = read_path(shared("warc", "commoncrawl_sample", "warcfile.warc.gz"))
    html = [i for i in items if isinstance(i, RawRecord) and i.kind == "html"]
    assert len(html) == 16
    # request/metadata/warcinfo records are counted, not lost
    assert kinds(items) == {"html": 16, "read.non_response": 34}
    assert all(r.url.startswith("http") and r.crawl_date.startswith("2020-08") for r in html)
    assert all(r.body and r.body_length == len(r.body) for r in html)
    assert len({r.id for r in html}) == 16
    offsets = [i.source_offset if isinstance(i, RawRecord) else i.doc.source_offset for i in items]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)


def test_dolma_wget_37_responses_with_bracketed_uris():
    items = []
    for path in sorted(shared("warc", "dolma_wget").glob("*.warc.gz")):
        items += read_path(path)
    html = [i for i in items if isinstance(i, RawRecord) and i.kind == "html"]
    assert len(html) == 37
    assert all(not r.url.startswith("<") and not r.url.endswith(">") for r in html)
    assert all(r.url.startswith(("http://", "https://")) for r in html)
    # wget's own log and arguments are resource records of text/plain: not HTML
    others = [i for i in items if isinstance(i, RawRecord) and i.kind == "other"]
    assert {o.content_type for o in others} == {"text/plain"}


def test_normalize_url():
    assert normalize_url("<https://example.org/a b>") == "https://example.org/a%20b"
    assert normalize_url(" http://x.org/?q=1&r=%20 ") == "http://x.org/?q=1&r=%20"
    assert normalize_url("<>") is None and normalize_url(None) is None


def test_parse_content_type():
    assert parse_content_type('text/html; charset="UTF-8"') == ("text/html", "utf-8")
    assert parse_content_type("TEXT/HTML") == ("text/html", None)
    assert parse_content_type(None) == (None, None)


def test_whirlwind_warc_and_wet():
    warc = read_path(shared("warc", "whirlwind_cc2024", "whirlwind.warc.gz"))
    wet = read_path(shared("warc", "whirlwind_cc2024", "whirlwind.warc.wet.gz"))
    (page,) = [i for i in warc if isinstance(i, RawRecord)]
    (text,) = [i for i in wet if isinstance(i, RawRecord)]
    assert page.kind == "html" and page.source_format == "warc"
    assert text.kind == "text" and text.source_format == "wet" and len(text.text) > 100
    assert page.url == text.url


def test_clipped_file_is_a_read_error_not_a_partial_page():
    items = read_path(shared("warc", "commoncrawl_sample", "clipped.warc.gz"))
    (drop,) = items
    assert isinstance(drop, Drop) and drop.reason == "read_error"
    assert "truncated" in drop.detail and drop.doc.source_file.endswith("clipped.warc.gz")


# What each warcio edge-case file must yield: (records + drops by kind). Unreadable bytes
# are a counted read_error and reading resumes after them; nothing raises. A whole-file
# gzip (one member, many records: "non-chunked") is read record by record.
EDGE_CASES = {
    "bad.arc": {"read.non_response": 1, "other": 3},
    "example-bad-non-chunked.warc.gz": {"read.non_response": 5, "html": 1},
    "example-bad.warc.gz.bad": {"read.non_response": 4, "html": 2},
    "example-digest.warc": {"read.non_response": 4},
    "example-iana.org-chunked.warc": {"read.non_response": 2, "html": 1},
    "example-resource.warc.gz": {"read.non_response": 2, "html": 1},
    "example-space-in-target-uri.warc.gz": {"read.non_response": 1, "other": 1},
    "example-space-in-url.arc": {"read.non_response": 1, "read.read_error": 1},
    "example-trunc.warc": {"read.non_response": 3, "html": 1},
    "example-wget-bad-target-uri.warc.gz": {"read.non_response": 3, "html": 1, "other": 2},
    # a record split over two gzip members: one read_error for both, then the request record
    "example-wrong-chunks.warc.gz": {"read.read_error": 1, "read.non_response": 1},
    "example.arc": {"read.non_response": 1, "html": 1},
    "example.arc.gz": {"read.non_response": 1, "html": 1},
    "example.warc": {"read.non_response": 5, "html": 1},
    "example.warc.gz": {"read.non_response": 5, "html": 1},
    "post-test.warc.gz": {"read.non_response": 3, "other": 3},
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_warcio_edge_cases(name):
    items = read_path(shared("warc", "warcio_edgecases", name))
    assert kinds(items) == EDGE_CASES[name]
    for item in items:
        if isinstance(item, Drop) and item.reason == "read_error":
            assert item.detail and item.doc.source_file.endswith(name) and item.doc.source_offset >= 0


def test_every_edge_case_file_is_listed():
    names = {p.name for p in shared("warc", "warcio_edgecases").iterdir() if not p.name.startswith("LICENSE")}
    assert names == set(EDGE_CASES)


def test_arc_records_are_marked_arc_with_stable_ids():
    path = shared("warc", "warcio_edgecases", "example.arc.gz")
    first, second = read_path(path), read_path(path)
    (page,) = [i for i in first if isinstance(i, RawRecord)]
    assert page.source_format == "arc" and "warc_record_id" not in page.metadata
    assert [i.id if isinstance(i, RawRecord) else i.doc.id for i in first] == [
        i.id if isinstance(i, RawRecord) else i.doc.id for i in second
    ]


def test_detect_format_by_name_and_by_content():
    assert detect_format("a.warc.gz", b"") == ("warc", None)
    assert detect_format("a.jsonl.zst", b"") == ("jsonl", "zstd")
    assert detect_format("a.bin", gzip.compress(b"WARC/1.0\r\n")) == ("warc", None)
    assert detect_format("a.bin", gzip.compress(b'{"text": "x"}\n')) == ("jsonl", "gzip")
    assert detect_format("a.bin", b"PAR1....") == ("parquet", None)
    assert detect_format("a.bin", b"hello") is None


def test_unknown_format_is_one_read_error():
    (drop,) = read_bytes("notes.txt", b"just some text")
    assert drop.reason == "read_error" and "unrecognised file format" in drop.detail


JSONL = (
    b'{"text": "plain text doc", "url": "https://a.example/1"}\n'
    b"\n"
    b'{"html": "<html><body><p>hello</p></body></html>", "url": "https://a.example/2"}\n'
    b"not json\n"
    b'["a list"]\n'
    b'{"url": "https://a.example/3"}\n'
    b'{"text": 42}\n'
)


@pytest.mark.parametrize(
    "name,data",
    [
        ("d.jsonl", JSONL),
        ("d.jsonl.gz", gzip.compress(JSONL)),
        ("d.jsonl.zst", zstandard.ZstdCompressor().compress(JSONL)),
    ],
)
def test_jsonl_bad_lines_are_counted_and_reading_goes_on(name, data):
    items = read_bytes(name, data)
    assert kinds(items) == {"text": 1, "html": 1, "read.read_error": 4}
    assert [i.source_offset if isinstance(i, RawRecord) else i.doc.source_offset for i in items] == [1, 3, 4, 5, 6, 7]
    errors = [i.detail for i in items if isinstance(i, Drop)]
    assert "bad JSON" in errors[0] and "expected an object" in errors[1]
    assert "neither 'text' nor 'html'" in errors[2] and "is int" in errors[3]


def test_truncated_gzip_jsonl_ends_in_read_error():
    data = gzip.compress(b"".join(json.dumps({"text": f"doc {i} " * 50}).encode() + b"\n" for i in range(200)))
    items = read_bytes("t.jsonl.gz", data[: len(data) // 2])
    assert isinstance(items[-1], Drop) and items[-1].reason == "read_error"
    assert all(isinstance(i, RawRecord) for i in items[:-1]) and len(items) > 2


def test_jsonl_custom_field_names():
    cfg = ReadConfig(text_field="content", url_field="link")
    (rec,) = read_bytes("d.jsonl", b'{"content": "abc", "link": "https://b.example/"}\n', cfg)
    assert rec.text == "abc" and rec.url == "https://b.example/"


def parquet_bytes(table):
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def test_parquet_text_and_html_columns():
    table = pa.table({"url": ["u1", "u2"], "text": ["t1", None], "html": [None, "<p>x</p>"], "other": [1, 2]})
    items = read_bytes("p.parquet", parquet_bytes(table))
    assert [i.kind for i in items] == ["text", "html"]
    assert [i.source_offset for i in items] == [0, 1]


def test_parquet_without_content_column_is_a_clear_read_error():
    (drop,) = read_bytes("p.parquet", parquet_bytes(pa.table({"body": ["x"]})))
    assert drop.reason == "read_error" and "no 'text' or 'html' column" in drop.detail


def test_corrupt_parquet_is_a_read_error():
    data = parquet_bytes(pa.table({"text": ["x" * 1000] * 100}))
    (drop,) = read_bytes("p.parquet", data[:200] + data[-100:])
    assert drop.reason == "read_error"


def test_oversize_record_is_not_carried():
    cfg = ReadConfig(max_record_bytes=10)
    (rec,) = read_bytes("d.jsonl", b'{"text": "a long text over ten bytes"}\n', cfg)
    assert rec.kind == "oversize" and rec.text is None and rec.body_length == 26


def handmade_warc(version: str, html: bytes) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    head = (
        f"{version}\r\nWARC-Type: response\r\nWARC-Target-URI: http://old.example.org/page\r\n"
        "WARC-Date: 2008-04-30T20:48:25Z\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    )
    return head.encode() + http + b"\r\n\r\n"


@pytest.mark.parametrize("version", ["WARC/0.18", "WARC/1.1"])
def test_older_and_newer_warc_versions(version):
    data = handmade_warc(version, b"<html><body><p>old page</p></body></html>")
    for name, payload in (("old.warc", data), ("old.warc.gz", gzip.compress(data))):
        (rec,) = read_bytes(name, payload)
        assert rec.kind == "html" and rec.url == "http://old.example.org/page" and rec.charset == "utf-8"
        assert rec.body.endswith(b"</html>") and rec.crawl_date == "2008-04-30T20:48:25Z"
