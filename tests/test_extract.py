"""Extraction: charset handling, drop reasons, and the child-process time budget."""

import os
import time
from pathlib import Path

import isolated_helpers
import pytest
from shared_data import shared

from edumix.core.config import ExtractConfig, ReadConfig
from edumix.core.record import Document, Drop, RawRecord
from edumix.filters.extract import Extractor, decode_html
from edumix.filters.isolated import ChildError, IsolatedCall, WorkerDied
from edumix.pipelines.formats import iter_records

PAGE = """<html><head><title>Cells</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article><h1>How cells divide</h1>
<p>Mitosis is the process by which a single cell divides into two identical daughter cells.
It is preceded by the S phase of interphase, during which DNA is replicated.</p>
<p>During prophase the chromatin condenses into chromosomes and the nuclear envelope breaks
down, so the spindle apparatus can attach to the kinetochores of each chromosome.</p>
<p>In anaphase the sister chromatids separate and move to opposite poles of the cell.</p>
</article><footer>Copyright 2026 Example Learning. All rights reserved.</footer></body></html>"""


def raw_html(body: bytes, charset=None, kind="html", **kw) -> RawRecord:
    return RawRecord(
        url="https://learn.example.org/cells",
        crawl_date=None,
        source_file="f.warc",
        source_offset=0,
        source_format="warc",
        digest="d",
        kind=kind,
        body=body if kind == "html" else None,
        content_type=kw.pop("content_type", "text/html"),
        charset=charset,
        body_length=len(body),
        **kw,
    )


@pytest.fixture(params=[0, 30], ids=["in_process", "isolated"])
def extractor(request):
    with Extractor(ExtractConfig(timeout_s=request.param)) as ex:
        yield ex


def test_extracts_main_text_without_boilerplate(extractor):
    doc = extractor(raw_html(PAGE.encode()))
    assert isinstance(doc, Document)
    assert "identical daughter cells" in doc.text and "opposite poles" in doc.text
    assert "All rights reserved" not in doc.text and "About" not in doc.text
    assert doc.id == raw_html(PAGE.encode()).id and doc.metadata["encoding"] == "utf-8"


def test_isolated_and_in_process_agree():
    with Extractor(ExtractConfig(timeout_s=0)) as a, Extractor(ExtractConfig(timeout_s=30)) as b:
        assert a(raw_html(PAGE.encode())).text == b(raw_html(PAGE.encode())).text


def test_drop_reasons(extractor):
    assert extractor(raw_html(b"\x89PNG", kind="other", content_type="image/png")).reason == "not_html"
    assert extractor(raw_html(b"x" * 10, kind="oversize")).reason == "too_large"
    empty = extractor(raw_html(b"<html><head><script>var x = 1;</script></head><body></body></html>"))
    assert isinstance(empty, Drop) and empty.reason == "extract_empty" and empty.stage == "extract"


def test_html_over_the_extract_budget_is_too_large():
    with Extractor(ExtractConfig(timeout_s=0, max_html_bytes=100)) as ex:
        drop = ex(raw_html(PAGE.encode()))
    assert drop.reason == "too_large" and "limit 100" in drop.detail


def test_text_records_pass_through(extractor):
    rec = raw_html(b"", kind="text")
    rec.text = "Already extracted text."
    assert extractor(rec).text == "Already extracted text."


def test_timeout_drops_the_page_and_the_next_page_still_extracts():
    with Extractor(ExtractConfig(timeout_s=0.001)) as ex:
        drop = ex(raw_html(PAGE.encode()))  # the child cannot even start in 1 ms
    assert drop.reason == "extract_timeout"
    with Extractor(ExtractConfig(timeout_s=0.001)) as ex:
        ex.cfg = ExtractConfig(timeout_s=30)
        ex(raw_html(PAGE.encode()))
        assert isinstance(ex(raw_html(PAGE.encode())), Document)


# -- decode_html ----------------------------------------------------------------------

TEXT = "Café crème — “smart quotes” and Zürich"


def test_decode_uses_declared_charset():
    body = f"<html><body>{TEXT}</body></html>".encode("cp1252")
    assert decode_html(body, "windows-1252") == (f"<html><body>{TEXT}</body></html>", "cp1252")


def test_latin1_label_means_windows_1252():
    body = TEXT.encode("cp1252")
    assert decode_html(body, "iso-8859-1")[0] == TEXT


def test_meta_charset_when_transport_says_nothing():
    body = f'<html><head><meta charset="windows-1252"></head><body>{TEXT}</body></html>'.encode("cp1252")
    text, enc = decode_html(body, None)
    assert TEXT in text and enc == "cp1252"


def test_wrong_declared_charset_falls_back():
    body = f"<html><body>{TEXT}</body></html>".encode()
    text, enc = decode_html(body, "shift_jis-bogus")
    assert TEXT in text and enc == "utf-8"
    # declared utf-8 but really cp1252: strict utf-8 fails, detection recovers the words
    body = ("<html><body>" + "Große Straße, schöne Grüße. " * 30 + "</body></html>").encode("cp1252")
    text, _ = decode_html(body, "utf-8")
    assert "Große Straße" in text


def test_bom_wins():
    body = "\ufeff<p>Grüße</p>".encode("utf-8")
    assert decode_html(body, "iso-8859-1")[0] == "<p>Grüße</p>"


def test_real_non_utf8_page_from_common_crawl():
    path = shared("warc", "commoncrawl_sample", "warcfile.warc.gz")
    with open(path, "rb") as fh:
        records = [r for r in iter_records(fh, str(path), ReadConfig()) if isinstance(r, RawRecord)]
    gbk = [r for r in records if r.charset in ("gb2312", "gbk")]
    assert gbk, "sample has gb2312 pages"
    with Extractor(ExtractConfig(timeout_s=0)) as ex:
        docs = [ex(r) for r in gbk]
    texts = [d.text for d in docs if isinstance(d, Document)]
    assert texts and all("\ufffd" not in t for t in texts)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)


# -- the isolated child ---------------------------------------------------------------


@pytest.fixture
def child_env(monkeypatch):
    tests_dir = str(Path(isolated_helpers.__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")])))


def test_isolated_call_round_trip_errors_and_crashes(child_env):
    call = IsolatedCall(isolated_helpers.echo)
    assert call({"a": [1, 2]}, timeout=30) == {"a": [1, 2]}
    big = b"x" * 5_000_000
    assert call(big, timeout=30) == big
    call.close()
    with pytest.raises(ChildError, match="ValueError: boom"):
        IsolatedCall(isolated_helpers.fail)("boom", timeout=30)
    dying = IsolatedCall(isolated_helpers.die)
    with pytest.raises(WorkerDied, match="exit code 3"):
        dying(3, timeout=30)


def test_isolated_call_timeout_kills_and_restarts(child_env):
    call = IsolatedCall(isolated_helpers.sleep_then_echo)
    assert call((0, "warm"), timeout=30) == "warm"
    with pytest.raises(TimeoutError):
        call((30, "slow"), timeout=0.5)
    assert call((0, "again"), timeout=30) == "again"
    call.close()


def test_isolated_call_overlaps_work_and_times_from_submission(child_env):
    """submit + result: the caller works while the child computes; the time budget runs
    from submission, so a caller busy past it finds a finished result, not a timeout."""
    call = IsolatedCall(isolated_helpers.sleep_then_echo)
    call.submit((0.1, "a"))
    time.sleep(2.0)  # the caller's own work, past the budget below (margins for a loaded machine)
    assert call.result(timeout=1.0) == "a"  # the budget ran out while the caller worked: still the result
    with pytest.raises(RuntimeError, match="no call in flight"):
        call.result(timeout=1)
    call.submit((30, "slow"))
    with pytest.raises(RuntimeError, match="already in flight"):
        call.submit((0, "b"))
    call.abandon()  # a retried bundle gives up the page: the child is replaced
    assert call((0, "after"), timeout=30) == "after"
    call.submit((30, "slow"))
    with pytest.raises(TimeoutError):
        call.result(timeout=0.3)
    call.close()
