"""Token counts and the data mix in the pipeline (logic: filters/tokens.py, filters/mixer.py).

The mix is planned from a small global histogram (tokens per (domain, tier, hash
bucket)) passed as a side input, so assigning each document its `repeat` is a plain
map and no worker ever holds a whole cell. Cell files are then written like shards:
membership by id hash, sorted rows, names from the part index.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from edumix.core.config import MixConfig, OutputConfig
from edumix.core.record import MIX_SCHEMA, Document, Drop, to_table
from edumix.core.run_dir import mix_cell_path
from edumix.core.stages import MIX
from edumix.filters.mixer import length_class, length_thresholds, mix_bucket, plan_mix_from_histogram
from edumix.filters.tokens import TokenCounter

from .stage import STATS, ApplyBatched
from .write import WrittenFile, _sort_key, shard_of, write_parquet_atomic

_S = MIX
HIST_BINS = 20  # score histograms: quality on [0, 1], edu on [0, 5]
EDU_THRESHOLDS = [x / 2 for x in range(11)]  # 0.0, 0.5, ... 5.0


def score_bin(value: float, top: float) -> int:
    return min(HIST_BINS - 1, max(0, int(value / top * HIST_BINS)))


class _TokenCountingFn(beam.DoFn):
    """A DoFn with the run's token counter, loaded once per worker."""

    def __init__(self, tokenizer: str | None):
        self._tokenizer = tokenizer

    def setup(self):
        self._counter = TokenCounter(self._tokenizer)


class _CountTokens(_TokenCountingFn):
    def process(self, batch: list[Document]):
        for doc, n in zip(batch, self._counter.count([d.text for d in batch]), strict=True):
            yield dataclasses.replace(doc, n_tokens=n)
            yield TaggedOutput(STATS, ((_S, "kept_tokens"), n))
            if doc.quality_score is not None:
                yield TaggedOutput(STATS, ((_S, f"hist/quality/{score_bin(doc.quality_score, 1.0):02d}"), 1))
            if doc.edu_score is not None:
                yield TaggedOutput(STATS, ((_S, f"hist/edu/{score_bin(doc.edu_score, 5.0):02d}"), 1))
                for t in EDU_THRESHOLDS:
                    if doc.edu_score >= t:
                        yield TaggedOutput(STATS, ((_S, f"tokens_at_edu/{t:.1f}"), n))


def CountTokens(cfg: MixConfig) -> ApplyBatched:
    """Document -> {"docs": with n_tokens, "stats": score histograms, tokens per edu threshold}."""
    return ApplyBatched(_CountTokens(cfg.tokenizer), step="Count")


class _DropTokens(_TokenCountingFn):
    """Tokens each stage removed, for the funnel's tokens-after-each-stage."""

    def process(self, batch: list[Drop]):
        for drop, n in zip(batch, self._counter.count([d.doc.text for d in batch]), strict=True):
            yield drop.stage, n


class DropTokens(beam.PTransform):
    """Drop -> (stage, tokens removed)."""

    def __init__(self, cfg: MixConfig):
        super().__init__()
        self._cfg = cfg

    def expand(self, drops):
        return (
            drops
            | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=256)
            | "Count" >> beam.ParDo(_DropTokens(self._cfg.tokenizer))
            | "Sum" >> beam.CombinePerKey(sum)
        )


def _sum_pairs(pairs) -> tuple[int, int]:
    docs = tokens = 0
    for d, t in pairs:
        docs += d
        tokens += t
    return docs, tokens


@dataclass(frozen=True)
class MixFile:
    phase: int
    domain: str
    tier: str
    file: WrittenFile
    documents: int
    unique_tokens: int
    tokens: int


class MixShards(beam.PTransform):
    """Document (with n_tokens) -> {"files": MixFile, "plan": {phase: PhasePlan},
    "table": ((tier, domain, lang), (docs, tokens))}."""

    def __init__(self, run_dir: str, cfg: MixConfig, out: OutputConfig):
        super().__init__()
        self._run_dir = run_dir
        self._cfg = cfg
        self._out = out

    def expand(self, docs):
        cfg = self._cfg
        k = cfg.hash_buckets
        lengths = length_thresholds(cfg)  # () unless a phase samples long documents
        hist = (
            docs
            | "HistKey"
            >> beam.Map(
                lambda d: (
                    (d.domain, d.edu_tier, mix_bucket(d.id, k), length_class(d.n_tokens, lengths)),
                    (1, d.n_tokens),
                )
            )
            | "Hist" >> beam.CombinePerKey(_sum_pairs)
        )
        table = (
            docs
            | "TableKey" >> beam.Map(lambda d: ((d.edu_tier, d.domain, d.lang or "und"), (1, d.n_tokens)))
            | "Table" >> beam.CombinePerKey(_sum_pairs)
        )
        plan = (
            docs.pipeline
            | "PlanOnce" >> beam.Create([None])
            | "Plan" >> beam.Map(lambda _, h: plan_mix_from_histogram(h, cfg), h=beam.pvalue.AsList(hist))
        )
        files = (
            docs
            | "Assign"
            >> beam.FlatMap(_assign, plans=beam.pvalue.AsSingleton(plan), buckets=k, per_part=self._out.docs_per_shard)
            | "GroupPart" >> beam.GroupByKey()
            | "WritePart" >> beam.MapTuple(self._write)
        )
        return {"files": files, "plan": plan, "table": table}

    def _write(self, key: tuple[int, str, str, int, int], items) -> MixFile:
        phase, domain, tier, index, parts = key
        items = sorted(items, key=lambda item: _sort_key(item[0]))
        rows = [{**doc.to_row(), "repeat": repeat} for doc, repeat in items]
        rel = mix_cell_path(phase, domain, tier, index, parts)
        written = write_parquet_atomic(to_table(rows, MIX_SCHEMA), self._run_dir, rel, self._out)
        unique = sum(doc.n_tokens for doc, _ in items)
        tokens = sum(doc.n_tokens * repeat for doc, repeat in items)
        return MixFile(phase, domain, tier, written, len(items), unique, tokens)


def _assign(doc: Document, plans, buckets: int, per_part: int):
    bucket = mix_bucket(doc.id, buckets)
    for phase, plan in plans.items():
        if plan.min_tokens is not None and doc.n_tokens < plan.min_tokens:
            continue  # a long-document phase
        for cell in plan.cells:
            if cell.domain == doc.domain and cell.tier == doc.edu_tier:
                repeat = cell.repeat(bucket)
                if repeat > 0:
                    parts = max(1, math.ceil(cell.documents / per_part))
                    yield (phase, cell.domain, cell.tier, shard_of(doc.id, parts), parts), (doc, repeat)
