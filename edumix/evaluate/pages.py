"""The fixed sample of trafilatura's eval pages that the throughput benchmarks wrap in WARCs
(and tests/test_spacy_memo.py reads), and a tiny page to time fixed costs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

EVAL_SUBDIR = Path("extraction") / "trafilatura_eval"
TINY_HTML = (
    b"<html><head><title>Tiny</title></head><body><article><h1>Tiny page</h1>"
    b"<p>A single short paragraph of text, long enough for trafilatura to keep it as the "
    b"main content of this page, which exists only to time fixed costs.</p></article></body></html>"
)


def choose_eval_pages(root: Path, pages: int) -> list[tuple[str, Path]]:
    """(url, gzipped HTML path) of `pages` distinct pages, ranked by a stable hash of the
    key; label keys (hard::, recall::) get an invalid-TLD URL. [] if the data is absent."""
    eval_dir = root / EVAL_SUBDIR
    index = eval_dir / "evaldata.json"
    if pages <= 0 or not index.is_file():
        return []
    data = json.loads(index.read_text())
    ranked = sorted(data, key=lambda k: hashlib.sha256(f"0:{k}".encode()).hexdigest())
    chosen: list[tuple[str, Path]] = []
    seen: set[str] = set()
    for key in ranked:
        name = data[key]["file"]
        path = eval_dir / "html" / (name if name.endswith(".gz") else name + ".gz")
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        url = key if key.startswith(("http://", "https://")) else f"http://trafilatura-eval.invalid/{name}"
        chosen.append((url, path))
        if len(chosen) == pages:
            break
    return chosen
