"""Main-text extraction with trafilatura, under a size and a time budget.

Drop reasons (stage `extract`): `not_html`, `too_large`, `extract_empty`,
`extract_error`, `extract_timeout`.
"""

from __future__ import annotations

import codecs
import logging
import re

import charset_normalizer
import trafilatura

from edumix.core.config import ExtractConfig
from edumix.core.record import Document, Drop, RawRecord
from edumix.core.stages import EXTRACT

from .isolated import ChildError, IsolatedCall, WorkerDied

log = logging.getLogger(__name__)

STAGE = EXTRACT
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# WHATWG: Latin-1 and ASCII labels mean windows-1252 on the web; GB2312/GBK labels
# are decoded with GB18030, their superset.
_WEB_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030"}


def _codec(label: str | bytes | None) -> str | None:
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return _WEB_ALIASES.get(name, name)


def decode_html(body: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode an HTML body: BOM, then the transport's charset, then <meta charset>,
    then UTF-8, each only if it decodes cleanly; then UTF-8 with a few stray bytes;
    else charset_normalizer's guess."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return body.decode(enc, errors="replace"), enc
    meta = _META_CHARSET.search(body[:4096])
    tried = []
    for enc in (_codec(declared), _codec(meta.group(1) if meta else None), "utf-8"):
        if enc and enc not in tried:
            tried.append(enc)
            try:
                return body.decode(enc), enc
            except UnicodeDecodeError:
                continue
    # UTF-8 with a few bad bytes (a cut multi-byte sequence, a pasted Latin-1 char) is
    # common; a guessed single-byte charset would garble every other non-ASCII char
    # (benchmarks/extraction_quality.py: 68 -> 73 of 81 snippets on non-UTF-8 pages).
    lenient = body.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    good = sum(1 for ch in lenient if ord(ch) > 127) - bad
    if good >= 5 * bad:
        return lenient, "utf-8"
    best = charset_normalizer.from_bytes(body[:500_000]).best()
    enc = _codec(best.encoding) if best is not None else None
    enc = enc or "utf-8"
    return body.decode(enc, errors="replace"), enc


def trafilatura_options(cfg: ExtractConfig) -> dict:
    return dict(
        output_format="txt",
        include_comments=cfg.include_comments,
        include_tables=cfg.include_tables,
        favor_precision=cfg.favor_precision,
        favor_recall=cfg.favor_recall,
        deduplicate=False,  # dedup is its own stage
        with_metadata=False,
    )


def extract_main_text(body: bytes, url: str | None, charset: str | None, cfg: ExtractConfig) -> tuple[str, str]:
    """(main text, encoding used); text is '' when trafilatura finds no main content."""
    html, encoding = decode_html(body, charset)
    text = trafilatura.extract(html, url=url, **trafilatura_options(cfg))
    return (text or "").strip(), encoding


def _extract_call(args: tuple) -> tuple[str, str]:
    body, url, charset, cfg_dict = args
    return extract_main_text(body, url, charset, ExtractConfig(**cfg_dict))


class Extractor:
    """RawRecord -> Document | Drop. With `timeout_s > 0` trafilatura runs in a child
    process (one per Extractor) that is killed and restarted when a page overruns."""

    def __init__(self, cfg: ExtractConfig):
        self.cfg = cfg
        self._cfg_dict = cfg.model_dump()
        self._child = IsolatedCall(_extract_call) if cfg.timeout_s > 0 else None

    def close(self) -> None:
        if self._child is not None:
            self._child.close()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, raw: RawRecord) -> Document | Drop:
        early = self.submit(raw)
        return early if early is not None else self.collect(raw)

    def submit(self, raw: RawRecord) -> Document | Drop | None:
        """Decide what needs no extraction, else start extracting: None means the page is
        now in the child (collect it with `collect`); in-process extraction returns the
        result at once."""
        if raw.kind == "text":
            return self._finish(raw, raw.text or "")
        if raw.kind == "oversize" or (raw.kind == "html" and raw.body_length > self.cfg.max_html_bytes):
            limit = min(self.cfg.max_html_bytes, raw.body_length)
            return Drop.of_raw(STAGE, "too_large", raw, f"{raw.body_length} bytes > limit {limit}")
        if raw.kind != "html":
            return Drop.of_raw(STAGE, "not_html", raw, f"Content-Type: {raw.content_type}")
        args = (raw.body, raw.url, raw.charset, self._cfg_dict)
        if self._child is None:
            return self._guarded(raw, lambda: _extract_call(args))
        self._child.submit(args)
        return None

    def abandon(self) -> None:
        if self._child is not None:
            self._child.abandon()

    def collect(self, raw: RawRecord) -> Document | Drop:
        """The result of the page `submit` handed to the child."""
        return self._guarded(raw, lambda: self._child.result(timeout=self.cfg.timeout_s))

    def _guarded(self, raw: RawRecord, extract) -> Document | Drop:
        try:
            text, encoding = extract()
        except TimeoutError:
            return Drop.of_raw(STAGE, "extract_timeout", raw, f"over {self.cfg.timeout_s:g}s")
        except ChildError as e:
            return Drop.of_raw(STAGE, "extract_error", raw, str(e)[:500])
        except WorkerDied as e:
            return Drop.of_raw(STAGE, "extract_error", raw, f"extraction process died: {e}")
        except Exception as e:  # noqa: BLE001 - trafilatura/lxml failures are counted per page
            return Drop.of_raw(STAGE, "extract_error", raw, f"{type(e).__name__}: {e}"[:500])
        return self._finish(raw, text, encoding=encoding)

    def _finish(self, raw: RawRecord, text: str, **metadata: str) -> Document | Drop:
        if len(text) < self.cfg.min_chars:
            return Drop.of_raw(STAGE, "extract_empty", raw, f"{len(text)} chars extracted")
        return Document.from_raw(raw, text, **metadata)
