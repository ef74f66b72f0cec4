"""PII scrubbing against presidio's synthetic eval set: its loader, span-level scoring (exact
and overlapping spans, per entity type), and the text workloads of the throughput table. The
benchmark ``benchmarks/pii_eval.py`` prints the tables; tests/test_pii.py holds the same scores
to floors.

Data (read from ``$EDUMIX_SHARED_DATA``, default ``<repo>/../shared/data``; never copied):

* ``pii/presidio_synth_dev.json`` - 754 synthetic sentences from presidio-research, each with
  gold spans. Its entity names are presidio's for the six types scored here (``SIX``); the
  data's GPE is presidio's LOCATION (``DATASET_TO_PRESIDIO``).
* ``seed/*.jsonl`` - real passages, the "most documents have no PII" workload (``seed_texts``).
* the demo crawl (``edumix.demo.write_demo_crawl``), its HTML responses extracted in-process by
  ``filters.extract.Extractor`` (``demo_texts``).

Span matching: exact = same type, start and end; overlap = same type, intersecting (a
prediction is correct if it overlaps a gold span, a gold span is found if a prediction
overlaps it).
"""

from __future__ import annotations

import glob
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SIX = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN")
# dataset name -> presidio name, where they differ
DATASET_TO_PRESIDIO = {"GPE": "LOCATION"}


Span = tuple[str, int, int]


def load_eval(path: Path) -> list[tuple[str, set[Span]]]:
    rows = json.loads(path.read_text())
    out = []
    for row in rows:
        gold = {
            (DATASET_TO_PRESIDIO.get(s["entity_type"], s["entity_type"]), s["start_position"], s["end_position"])
            for s in row["spans"]
        }
        out.append((row["full_text"], gold))
    return out


# ---------------------------------------------------------------------------------------
# Span metrics


@dataclass
class Counts:
    pred: int = 0
    gold: int = 0
    tp_exact: int = 0
    pred_overlap: int = 0  # predictions overlapping a gold span of their type
    gold_overlap: int = 0  # gold spans overlapped by a prediction of their type

    def prf(self, exact: bool) -> tuple[float, float, float]:
        p_hit, g_hit = (self.tp_exact, self.tp_exact) if exact else (self.pred_overlap, self.gold_overlap)
        p = p_hit / self.pred if self.pred else 1.0
        r = g_hit / self.gold if self.gold else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def score(preds: Sequence[set[Span]], golds: Sequence[set[Span]], entities: Sequence[str]) -> dict[str, Counts]:
    by = {e: Counts() for e in entities}
    for pred, gold in zip(preds, golds, strict=True):
        pred = {p for p in pred if p[0] in by}
        gold = {g for g in gold if g[0] in by}
        for p in pred:
            c = by[p[0]]
            c.pred += 1
            c.tp_exact += p in gold
            c.pred_overlap += any(_overlaps(p, g) for g in gold)
        for g in gold:
            c = by[g[0]]
            c.gold += 1
            c.gold_overlap += any(_overlaps(g, p) for p in pred)
    total = Counts()
    for c in by.values():
        for f in ("pred", "gold", "tp_exact", "pred_overlap", "gold_overlap"):
            setattr(total, f, getattr(total, f) + getattr(c, f))
    by["ALL"] = total
    return by


def as_spans(results) -> set[Span]:
    return {(r.entity_type, r.start, r.end) for r in results}


# ---------------------------------------------------------------------------------------
# Workloads


def seed_texts(root: Path, limit: int | None) -> list[str]:
    texts = []
    for path in sorted(glob.glob(str(root / "seed" / "*.jsonl"))):
        with open(path, encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh if line.strip()]
    return texts[:limit] if limit else texts


def demo_texts(pages: int) -> list[str]:
    """Extracted text of the demo crawl's HTML responses (in-process trafilatura)."""
    if pages <= 0:
        return []
    try:
        from edumix.core.config import ExtractConfig, ReadConfig
        from edumix.core.record import Document, RawRecord
        from edumix.demo import write_demo_crawl
        from edumix.filters.extract import Extractor
        from edumix.pipelines.formats import iter_records
    except ImportError as e:  # pragma: no cover - the demo is optional here
        print(f"note: demo crawl not available ({e}); skipping workload 'demo'")
        return []
    texts = []
    with tempfile.TemporaryDirectory(prefix="edumix-pii-") as tmp:
        path = Path(tmp) / "demo.warc.gz"
        write_demo_crawl(path, pages=pages, seed=0)
        with Extractor(ExtractConfig(timeout_s=0)) as extract, open(path, "rb") as fh:
            for rec in iter_records(fh, str(path), ReadConfig()):
                if isinstance(rec, RawRecord) and rec.kind == "html":
                    out = extract(rec)
                    if isinstance(out, Document) and out.text:
                        texts.append(out.text)
    return texts


def overlap_recall(preds: Sequence[set[Span]], golds: Sequence[set[Span]], entities: Sequence[str]) -> float:
    return score(preds, golds, entities)["ALL"].prf(False)[1]
