"""Main-text extraction quality on trafilatura's multilingual evaluation set.

Data: ``$EDUMIX_SHARED_DATA/extraction/trafilatura_eval`` (default
``<repo>/../shared/data``): ``evaldata.json`` maps a URL (or a ``hard::``/``recall::``
label) to ``{file, with: [...], without: [...]}``; ``html/<file>.gz`` is the gzip of
the raw page bytes, in the page's own encoding. Nothing from it is copied into the repo.

For each extractor setting (one table row of the benchmark), over a fixed sample of pages:

* recall  - fraction of all ``with`` snippets (must appear in the main text) found;
* leak    - fraction of all ``without`` snippets (boilerplate, comments, teasers)
  found; lower is better;
* empty   - pages with empty output (extractor errors count as empty, see ``err``);
* docs/s  - pages per second of wall time, extraction only (bodies are decompressed
  beforehand; the edumix rows include our charset detection, the baselines their own);

and, against trafilatura decoding the raw bytes itself (the baseline, measured in
the same run), the ratio of each metric.

Snippet matching: whitespace is normalised on both sides (every run of Unicode
whitespace, NBSP included, becomes one space; ends stripped), then a snippet counts
as found if it is a plain case-sensitive substring of the normalised text. Case is
kept so a decoding that mangles capitals, or a boilerplate block that merely shares
words, is not forgiven; no other Unicode normalisation (NFC etc.) is applied.

Sample: keys are ranked by sha256("<seed>:<key>") (stable across runs and Python
processes, unlike ``hash()``) and the first N are taken, so the same N and seed always
give the same pages, and a bigger N is a superset of a smaller one.

The benchmark ``benchmarks/extraction_quality.py`` prints the table for every setting;
``tests/test_extraction_quality.py`` pins the edumix default's numbers on the fixed sample.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edumix.core.config import ExtractConfig
from edumix.core.shared_data import shared_data_dir
from edumix.evaluate.pages import EVAL_SUBDIR
from edumix.filters.extract import decode_html, extract_main_text, trafilatura_options

DEFAULT_SAMPLE = 250
DEFAULT_SEED = 0

ExtractFn = Callable[[bytes, "str | None"], str]


def default_root() -> Path:
    return shared_data_dir() / EVAL_SUBDIR


@dataclass(frozen=True)
class Page:
    key: str  # evaldata.json key: the page URL, or a label such as "hard::<file>"
    file: str
    body: bytes = field(repr=False)  # raw page bytes (decompressed, not decoded)
    with_: tuple[str, ...]
    without: tuple[str, ...]

    @property
    def url(self) -> str | None:
        return self.key if self.key.startswith(("http://", "https://")) else None

    @property
    def is_utf8(self) -> bool:
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def load_annotations(root: Path) -> dict[str, dict]:
    with open(root / "evaldata.json", encoding="utf-8") as f:
        return json.load(f)


def load_pages(root: Path, keys: Sequence[str], annotations: dict[str, dict] | None = None) -> list[Page]:
    annotations = annotations if annotations is not None else load_annotations(root)
    pages = []
    for key in keys:
        item = annotations[key]
        body = gzip.decompress((root / "html" / f"{item['file']}.gz").read_bytes())
        pages.append(Page(key, item["file"], body, tuple(item.get("with", ())), tuple(item.get("without", ()))))
    return pages


def load_sample(root: Path, n: int | None = DEFAULT_SAMPLE, seed: int = DEFAULT_SEED) -> list[Page]:
    """The first `n` pages by sha256("<seed>:<key>"); all pages (same order) when n is None."""
    annotations = load_annotations(root)
    keys = sorted(annotations, key=lambda k: _rank(seed, k))
    return load_pages(root, keys if n is None else keys[:n], annotations)


def normalise(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Scores:
    name: str
    pages: int = 0
    with_total: int = 0
    with_found: int = 0
    without_total: int = 0
    without_found: int = 0
    empty: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def recall(self) -> float:
        return self.with_found / self.with_total if self.with_total else float("nan")

    @property
    def leakage(self) -> float:
        return self.without_found / self.without_total if self.without_total else float("nan")

    @property
    def docs_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else float("inf")


def page_hits(text: str, page: Page) -> tuple[int, int]:
    """(with snippets found, without snippets found) in `text`."""
    norm = normalise(text)
    return (
        sum(normalise(s) in norm for s in page.with_),
        sum(normalise(s) in norm for s in page.without),
    )


def score(extract_fn: ExtractFn, pages: Sequence[Page], name: str = "") -> Scores:
    """Run `extract_fn(body, url) -> text` on every page and tally the snippet hits.
    Exceptions count as errors and as empty output; only extraction time is measured."""
    scores = Scores(name or getattr(extract_fn, "__name__", "extractor"))
    texts = []
    start = time.perf_counter()
    for page in pages:
        try:
            texts.append(extract_fn(page.body, page.url) or "")
        except Exception:  # noqa: BLE001 - a failure is a data point, not a crash
            scores.errors += 1
            texts.append("")
    scores.seconds = time.perf_counter() - start
    for page, text in zip(pages, texts):
        found_with, found_without = page_hits(text, page)
        scores.pages += 1
        scores.with_total += len(page.with_)
        scores.with_found += found_with
        scores.without_total += len(page.without)
        scores.without_found += found_without
        scores.empty += not text.strip()
    return scores


# --- extractor settings ---------------------------------------------------------


def edumix(cfg: ExtractConfig | None = None) -> ExtractFn:
    """Our pipeline: decode_html (charset detection) then trafilatura."""
    cfg = cfg or ExtractConfig()

    def run(body: bytes, url: str | None) -> str:
        return extract_main_text(body, url, None, cfg)[0]

    return run


def trafilatura_raw(cfg: ExtractConfig | None = None) -> ExtractFn:
    """Baseline: trafilatura.extract on the raw bytes, trafilatura decoding them itself
    (UTF-8, else cchardet / charset_normalizer guesses). Same options as
    extract_main_text, so the only difference from the edumix row is the decoding."""
    import trafilatura

    cfg = cfg or ExtractConfig()

    def run(body: bytes, url: str | None) -> str:
        text = trafilatura.extract(body, url=url, **trafilatura_options(cfg))
        return (text or "").strip()

    return run


def resiliparse_main() -> ExtractFn | None:
    """Resiliparse main-content heuristics on the text our decode_html produced
    (None if resiliparse is not installed)."""
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree
    except ImportError:
        return None

    def run(body: bytes, url: str | None) -> str:
        html, _ = decode_html(body)
        return extract_plain_text(HTMLTree.parse(html), main_content=True)

    return run


BASELINE = "trafilatura (own decoding)"


def settings() -> dict[str, ExtractFn]:
    rows: dict[str, ExtractFn] = {
        "edumix default": edumix(),
        "edumix favor_precision": edumix(ExtractConfig(favor_precision=True)),
        "edumix favor_recall": edumix(ExtractConfig(favor_recall=True)),
        BASELINE: trafilatura_raw(),
    }
    resili = resiliparse_main()
    if resili is not None:
        rows["resiliparse main_content"] = resili
    return rows


# --- decoding comparison ----------------------------------------------------------


def trafilatura_encoding(body: bytes) -> str:
    """The codec trafilatura's own decode_file ends up using (mirrors its logic)."""
    from trafilatura.utils import detect_encoding

    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    for guess in detect_encoding(body):
        try:
            body.decode(guess)
            return codecs.lookup(guess).name  # "windows-1252" -> "cp1252", as decode_html names it
        except (LookupError, UnicodeDecodeError):
            continue
    return "utf-8 (errors=replace)"


@dataclass
class DecodingRow:
    page: Page
    ours: str  # codec chosen by decode_html
    theirs: str  # codec chosen by trafilatura
    ours_found: int
    theirs_found: int
    same_text: bool  # identical extracted text (the snippets can miss mojibake elsewhere)


def compare_decoding(pages: Sequence[Page]) -> list[DecodingRow]:
    """For pages whose bytes are not valid UTF-8: our default pipeline vs trafilatura
    decoding the bytes itself, in must-include snippets found."""
    ours_fn, theirs_fn = edumix(), trafilatura_raw()
    rows = []
    for page in pages:
        if page.is_utf8:
            continue
        ours, theirs = ours_fn(page.body, page.url), theirs_fn(page.body, page.url)
        rows.append(
            DecodingRow(
                page,
                decode_html(page.body)[1],
                trafilatura_encoding(page.body),
                page_hits(ours, page)[0],
                page_hits(theirs, page)[0],
                ours == theirs,
            )
        )
    return rows
