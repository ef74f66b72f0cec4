"""Tests for the synthetic demo crawl generator (edumix.demo.crawl)."""

from __future__ import annotations

import html
import json
import re

import pytest
from warcio.archiveiterator import ArchiveIterator

from edumix.demo import KINDS, SPECIAL_HTML_PAGES, content, write_demo_crawl
from edumix.demo.crawl import _parse_blocks, _plan

_META_CHARSET = re.compile(rb"<meta\s+charset=[\"']?([\w-]+)", re.I)


def _read(path):
    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            out.append((rec.rec_type, rec.rec_headers, rec.http_headers, rec.content_stream().read()))
    return out


def _content_type(rec) -> str:
    return (rec[2].get_header("Content-Type") or "") if rec[2] else ""


def _html_responses(records):
    return [r for r in records if r[0] == "response" and _content_type(r).startswith("text/html")]


def _article_text(body: bytes, charset: str = "utf-8") -> str:
    doc = body.decode(charset)
    inner = doc[doc.index("<article>") : doc.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", inner))


def _declared_charset(rec) -> tuple[str, str]:
    """(where, charset): HTTP Content-Type wins, then <meta charset>."""
    m = re.search(r"charset=([\w-]+)", _content_type(rec), re.I)
    if m:
        return "http", m.group(1)
    m = _META_CHARSET.search(rec[3][:2048])
    assert m, "HTML response declares no charset at all"
    return "meta", m.group(1).decode()


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.warc.gz"
    stats = write_demo_crawl(path)
    return path, stats, _read(path)


@pytest.fixture(scope="module")
def plan():
    return _plan(120, 0)


def test_same_args_same_bytes_other_seed_other_bytes(crawl, tmp_path):
    path, stats, _ = crawl
    again = write_demo_crawl(tmp_path / "again.warc.gz")
    assert (tmp_path / "again.warc.gz").read_bytes() == path.read_bytes()
    assert again.by_kind == stats.by_kind and again.records == stats.records
    other = write_demo_crawl(tmp_path / "other.warc.gz", seed=1)
    assert (tmp_path / "other.warc.gz").read_bytes() != path.read_bytes()
    assert other.path == str(tmp_path / "other.warc.gz")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_gzip_members_carry_no_timestamp(crawl):
    data = crawl[0].read_bytes()
    assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == b"\x00\x00\x00\x00"


def test_record_counts_and_order(crawl):
    _, stats, records = crawl
    assert len(records) == stats.records
    assert records[0][0] == "warcinfo"
    assert len(_html_responses(records)) == stats.html_responses
    for i, rec in enumerate(records):
        if rec[0] in ("response", "revisit"):
            req = records[i - 1]
            assert req[0] == "request"
            assert req[1].get_header("WARC-Target-URI") == rec[1].get_header("WARC-Target-URI")
            assert req[1].get_header("WARC-Concurrent-To") == rec[1].get_header("WARC-Record-ID")
    ids = [r[1].get_header("WARC-Record-ID") for r in records]
    assert len(set(ids)) == len(ids)


def test_kinds(crawl, plan):
    _, stats, _ = crawl
    assert set(stats.by_kind) == set(KINDS)
    assert all(stats.by_kind[k] > 0 for k in KINDS), stats.by_kind
    assert sum(stats.by_kind.values()) == 120
    # by_kind excludes the special charset/huge pages, which are extra HTML responses.
    assert sum(stats.by_kind.values()) == stats.html_responses - len(SPECIAL_HTML_PAGES)
    assert {k: sum(f.kind == k for f in plan) for k in KINDS} == stats.by_kind


def test_plan_matches_file(crawl, plan):
    """The tests below inspect the plan; make sure it is exactly what was written."""
    html_plan = [f for f in plan if f.kind in KINDS or f.kind in SPECIAL_HTML_PAGES]
    written = _html_responses(crawl[2])
    assert [(f.url, f.body) for f in html_plan] == [(r[1].get_header("WARC-Target-URI"), r[3]) for r in written]


def test_exact_duplicates_are_byte_identical(crawl, plan):
    dups = [f for f in plan if f.kind == "exact_dup"]
    assert dups
    for f in dups:
        assert f.body == f.source.body and f.source.kind != "exact_dup"
        assert plan.index(f.source) < plan.index(f)
    assert any(f.url == f.source.url for f in dups)  # URL dedup catches these
    assert any(f.url != f.source.url for f in dups)  # only content dedup catches these
    payloads = {}
    for rec in _html_responses(crawl[2]):
        payloads.setdefault(rec[3], set()).add(rec[1].get_header("WARC-Target-URI"))
    assert any(len(urls) > 1 for urls in payloads.values())


def test_near_duplicates_are_close_but_not_equal(plan):
    def shingles(text):
        words = text.split()
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    near = [f for f in plan if f.kind == "near_dup"]
    assert near
    for f in near:
        assert f.body != f.source.body and f.url != f.source.url
        a, b = shingles(_article_text(f.body)), shingles(_article_text(f.source.body))
        assert len(a & b) / len(a | b) > 0.6


def test_non_english_pages_declare_lang(plan):
    langs = set()
    for f in plan:
        if f.kind == "non_english":
            m = re.search(rb'<html lang="([a-z]{2})">', f.body)
            assert m and m.group(1) != b"en"
            langs.add(m.group(1).decode())
            assert len(re.findall(r"[.。!?]", _article_text(f.body))) >= 4  # several sentences
    assert {"de", "fr", "es", "it", "pt", "pl", "nl"} <= langs
    assert langs & {"ru", "zh", "ja"}


def test_html_payloads_decode_with_declared_charset(crawl):
    seen, huge = set(), 0
    for rec in _html_responses(crawl[2]):
        where, charset = _declared_charset(rec)
        rec[3].decode(charset)  # strict: raises on a wrong declaration
        seen.add((where, charset.lower()))
        huge += len(rec[3]) > 2 * 1024 * 1024
    assert {("http", "utf-8"), ("http", "windows-1252"), ("http", "iso-8859-1"), ("meta", "windows-1251")} <= seen
    assert huge == 1


def test_special_pages_are_really_non_utf8(plan):
    by_kind = {f.kind: f for f in plan if f.kind in SPECIAL_HTML_PAGES}
    assert set(by_kind) == set(SPECIAL_HTML_PAGES)
    for kind in ("charset_windows_1252", "charset_iso_8859_1", "meta_charset_only"):
        with pytest.raises(UnicodeDecodeError):
            by_kind[kind].body.decode("utf-8")
    assert "€" in by_kind["charset_windows_1252"].body.decode("windows-1252")
    assert "Köln" in by_kind["charset_iso_8859_1"].body.decode("iso-8859-1")
    assert "чаепитие" in by_kind["meta_charset_only"].body.decode("windows-1251")
    assert by_kind["meta_charset_only"].content_type == "text/html"


def test_every_page_is_a_full_document_with_site_boilerplate(plan):
    footers: dict[str, set[bytes]] = {}
    for f in plan:
        if f.kind not in KINDS:
            continue
        for tag in (b"<html lang=", b"<title>", b"<nav", b"<header", b"<main>", b"<article>", b"<aside", b"<footer"):
            assert tag in f.body, (f.url, tag)
        footer = f.body[f.body.index(b"<footer") :]
        footers.setdefault(f.page.site.host, set()).add(footer)
    assert all(len(v) == 1 for v in footers.values())  # footer identical across a site


def test_word_counts(plan):
    for f in plan:
        if f.kind not in KINDS:
            continue
        words = len(_article_text(f.body).split())
        if f.kind == "edu":
            assert 300 <= words <= 900, (f.url, words)
        elif f.kind == "math":
            assert 200 <= words <= 700, (f.url, words)
            assert "$" in _article_text(f.body)
        elif f.kind == "code":
            assert b"<pre><code" in f.body
        elif f.kind == "low_value":
            assert words < 80, (f.url, words)


def test_pii_pages_contain_fake_personal_data(plan):
    pii = [_article_text(f.body) for f in plan if f.kind == "pii"]
    assert pii
    formats = set()
    for text in pii:
        assert re.search(r"[\w.]+@example\.(com|org)", text)
        assert re.search(r"\b(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}\b", text)
        assert re.search(r"\d+ [A-Z]\w+ (Avenue|Lane|Street|Road|Way|Close), ", text)
        for name, pattern in (
            ("intl", r"\+1 555-01\d\d"),
            ("paren", r"\(555\) 01\d-\d{4}"),
            ("uk", r"\+44 20 7946 0\d{3}"),
            ("dots", r"555\.01\d\.\d{4}"),
        ):
            if re.search(pattern, text):
                formats.add(name)
    assert formats == {"intl", "paren", "uk", "dots"}


def test_non_document_records(crawl):
    records = crawl[2]
    types = {r[0] for r in records}
    assert {"warcinfo", "request", "response", "metadata", "revisit"} <= types
    assert sum(r[0] == "revisit" for r in records) == 1
    by_ct = {_content_type(r).split(";")[0]: r[3] for r in records if r[0] == "response"}
    assert by_ct["image/png"].startswith(b"\x89PNG\r\n\x1a\n")
    pdf = by_ct["application/pdf"]
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"{" in by_ct["text/css"]
    assert json.loads(by_ct["application/json"])["results"]
    statuses = {r[2].get_statuscode() for r in records if r[0] == "response"}
    assert {"200", "301"} <= statuses
    for r in records:
        if r[0] == "response" and r[2].get_statuscode() == "200":
            assert int(r[2].get_header("Content-Length")) == len(r[3])


@pytest.mark.parametrize("pages", [0, 1, 7, 25])
def test_small_crawls(tmp_path, pages):
    stats = write_demo_crawl(tmp_path / "small.warc.gz", pages=pages, seed=5)
    assert sum(stats.by_kind.values()) == pages
    records = _read(tmp_path / "small.warc.gz")
    assert len(records) == stats.records
    assert len(_html_responses(records)) == stats.html_responses == pages + len(SPECIAL_HTML_PAGES)


def test_content_library_is_varied():
    groups = (
        content.EDU_ARTICLES,
        content.MATH_ARTICLES,
        content.CODE_ARTICLES,
        content.GENERAL_ARTICLES,
        content.NON_ENGLISH,
    )
    paragraphs = {b[1] for g in groups for a in g for b in _parse_blocks(a.text) if b[0] == "p"}
    assert len(paragraphs) >= 60
    assert all(site.lang in content.LABELS for site in content.SITES.values())
