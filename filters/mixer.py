"""The data-mix plan: how many times each (domain, tier) cell's documents are used in a
phase so the phase's tokens follow the target domain weights.

Sampling is by a hash of the document id, never by random state, so any worker decides
a document's `repeat` alone and reruns give the same mix. The plan is exact to within a
hash bucket: the pipeline first sums tokens per (cell, bucket), then the plan picks, per
cell, how many buckets get one copy more than the rest. No cell is ever gathered on one
worker.

A cell that cannot reach its target without more than `max_epochs` uses is capped and
the missing tokens are reported as a shortfall; they are never silently filled from
another domain.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from edumix.core.config import MixConfig, PhaseMixConfig


def mix_bucket(doc_id: str, buckets: int) -> int:
    """The document's sampling priority: lower buckets are taken first."""
    digest = hashlib.blake2b(doc_id.encode(), digest_size=8, person=b"edumix-mix").digest()
    return int.from_bytes(digest, "big") * buckets >> 64


@dataclass
class CellSupply:
    """Documents and tokens per hash bucket of one (domain, tier) cell."""

    docs: np.ndarray  # (K,) int64
    tokens: np.ndarray  # (K,) int64

    @classmethod
    def empty(cls, buckets: int) -> CellSupply:
        return cls(np.zeros(buckets, np.int64), np.zeros(buckets, np.int64))


def supply_from_histogram(
    rows: Iterable[tuple[tuple, tuple[int, int]]], buckets: int, min_length_class: int = 0
) -> dict[tuple[str, str], CellSupply]:
    """((domain, tier, bucket[, length class]), (docs, tokens)) rows -> supply per cell,
    counting only rows of at least `min_length_class` (see `length_class`)."""
    out: dict[tuple[str, str], CellSupply] = {}
    for key, (docs, tokens) in rows:
        domain, tier, bucket = key[:3]
        if (key[3] if len(key) > 3 else 0) < min_length_class:
            continue
        cell = out.setdefault((domain, tier), CellSupply.empty(buckets))
        cell.docs[bucket] += docs
        cell.tokens[bucket] += tokens
    return out


def length_thresholds(cfg: MixConfig) -> tuple[int, ...]:
    """The distinct `min_tokens` of the phases, ascending: the histogram's length classes."""
    return tuple(sorted({p.min_tokens for p in cfg.phases.values() if p.min_tokens is not None}))


def length_class(n_tokens: int, thresholds: tuple[int, ...]) -> int:
    """How many of the thresholds a document of n_tokens reaches (0: none)."""
    return sum(1 for t in thresholds if n_tokens >= t)


@dataclass(frozen=True)
class CellPlan:
    phase: int
    domain: str
    tier: str
    whole: int  # copies every document of the cell gets
    extra_below: int  # documents in buckets below this get one copy more
    rate: float  # the planned uses per document (target / supply, capped)
    documents: int  # documents used at least once
    unique_tokens: int  # tokens of those documents
    tokens: int  # tokens the phase reads from the cell (with repetition)
    supply_documents: int
    supply_tokens: int

    def repeat(self, bucket: int) -> int:
        return self.whole + (1 if bucket < self.extra_below else 0)

    @property
    def epochs(self) -> float:
        return self.tokens / self.unique_tokens if self.unique_tokens else 0.0


@dataclass(frozen=True)
class PhasePlan:
    phase: int
    tiers: tuple[str, ...]
    budget_tokens: int
    budget_auto: bool
    targets: dict[str, float]
    cells: list[CellPlan]
    shortfall: dict[str, int] = field(default_factory=dict)  # domain -> tokens missing at max_epochs
    min_tokens: int | None = None  # only documents this long (long-document sampling)

    @property
    def tokens(self) -> int:
        return sum(c.tokens for c in self.cells)

    def domain_tokens(self) -> dict[str, int]:
        out = {d: 0 for d in self.targets}
        for c in self.cells:
            out[c.domain] = out.get(c.domain, 0) + c.tokens
        return out

    def achieved(self) -> dict[str, float]:
        total = self.tokens
        return {d: round(t / total, 6) if total else 0.0 for d, t in self.domain_tokens().items()}


def _cell_plan(phase: int, domain: str, tier: str, supply: CellSupply, rate: float) -> CellPlan:
    whole = math.floor(rate)
    frac = rate - whole
    total = int(supply.tokens.sum())
    cum_tokens = np.concatenate([[0], np.cumsum(supply.tokens)])  # (K+1,)
    cum_docs = np.concatenate([[0], np.cumsum(supply.docs)])
    # The bucket cut whose cumulative tokens come closest to the fractional target.
    extra_below = int(np.argmin(np.abs(cum_tokens - frac * total))) if frac > 0 else 0
    extra_tokens, extra_docs = int(cum_tokens[extra_below]), int(cum_docs[extra_below])
    docs_total = int(supply.docs.sum())
    return CellPlan(
        phase=phase,
        domain=domain,
        tier=tier,
        whole=whole,
        extra_below=extra_below,
        rate=round(rate, 6),
        documents=docs_total if whole >= 1 else extra_docs,
        unique_tokens=total if whole >= 1 else extra_tokens,
        tokens=whole * total + extra_tokens,
        supply_documents=docs_total,
        supply_tokens=total,
    )


def plan_phase(
    phase: int, pcfg: PhaseMixConfig, cfg: MixConfig, supply: Mapping[tuple[str, str], CellSupply]
) -> PhasePlan:
    targets = {d: w for d, w in cfg.targets.items()}
    available = {
        d: sum(int(s.tokens.sum()) for (dd, t), s in supply.items() if dd == d and t in pcfg.tiers) for d in targets
    }
    if pcfg.budget_tokens is not None:
        budget, auto = pcfg.budget_tokens, False
    else:  # the largest budget every weighted domain can fill once
        limits = [available[d] / w for d, w in targets.items() if w > 0 and available[d] > 0]
        budget, auto = (int(min(limits)) if limits else 0), True
    cells, shortfall = [], {}
    for domain, weight in targets.items():
        want = budget * weight
        rate = min(want / available[domain], cfg.max_epochs) if available[domain] else 0.0
        if want > cfg.max_epochs * available[domain]:
            shortfall[domain] = int(round(want - cfg.max_epochs * available[domain]))
        for tier in pcfg.tiers:
            if (domain, tier) in supply and rate > 0:
                cells.append(_cell_plan(phase, domain, tier, supply[(domain, tier)], rate))
    return PhasePlan(phase, tuple(pcfg.tiers), budget, auto, targets, cells, shortfall, pcfg.min_tokens)


def plan_mix(supply: Mapping[tuple[str, str], CellSupply], cfg: MixConfig) -> dict[int, PhasePlan]:
    """Every phase from one supply (no phase has `min_tokens`)."""
    return {phase: plan_phase(phase, pcfg, cfg, supply) for phase, pcfg in sorted(cfg.phases.items())}


def plan_mix_from_histogram(rows, cfg: MixConfig) -> dict[int, PhasePlan]:
    """Every phase from the pipeline's histogram, ((domain, tier, bucket, length class),
    (docs, tokens)) rows: a phase with `min_tokens` plans from the documents that long only."""
    rows = list(rows)
    thresholds = length_thresholds(cfg)
    plans = {}
    for phase, pcfg in sorted(cfg.phases.items()):
        least = length_class(pcfg.min_tokens, thresholds) if pcfg.min_tokens is not None else 0
        plans[phase] = plan_phase(phase, pcfg, cfg, supply_from_histogram(rows, cfg.hash_buckets, least))
    return plans
