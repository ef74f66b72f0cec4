"""The mix plan (filters/mixer.py) on synthetic supplies: targets met when supply
suffices, shortfalls reported (never filled) when it does not, repetition capped."""

import numpy as np
import pytest
from pydantic import ValidationError

from edumix.core.config import MixConfig, PhaseMixConfig
from edumix.filters.mixer import (
    length_class,
    length_thresholds,
    mix_bucket,
    plan_mix,
    plan_mix_from_histogram,
    plan_phase,
    supply_from_histogram,
)

K = 1024
TIERS = ("A", "B", "C")


def make_docs(counts: dict[str, int], seed: int = 0) -> list[tuple[str, str, str, int]]:
    """(id, domain, tier, n_tokens) with web-like long-tailed lengths."""
    rng = np.random.default_rng(seed)
    docs = []
    for domain, n in counts.items():
        for i in range(n):
            tokens = int(rng.lognormal(6.5, 1.0)) + 20
            docs.append((f"{domain}-{i:06d}", domain, TIERS[i % 3], tokens))
    return docs


def granularity(plan, supply, domain) -> float:
    """The stated tolerance: each cell cuts at the bucket boundary nearest its target, so
    it misses by at most half of its largest bucket."""
    return sum(supply[(c.domain, c.tier)].tokens.max() / 2 for c in plan.cells if c.domain == domain)


def supply_of(docs):
    rows = [((d, t, mix_bucket(i, K)), (1, n)) for i, d, t, n in docs]
    return supply_from_histogram(rows, K)


def recount(plan, docs) -> dict[str, int]:
    """Tokens per domain from each document's own repeat decision (what the writers do)."""
    out: dict[str, int] = {}
    cells = {(c.domain, c.tier): c for c in plan.cells}
    for doc_id, domain, tier, n in docs:
        if (domain, tier) in cells:
            out[domain] = out.get(domain, 0) + n * cells[(domain, tier)].repeat(mix_bucket(doc_id, K))
    return out


DEFAULT = MixConfig()
PLENTY = make_docs({"general": 3000, "math": 2000, "code": 1500, "multilingual": 800})


def test_targets_met_within_half_a_point_when_supply_suffices():
    supply = supply_of(PLENTY)
    budget = 2_000_000  # below every domain's supply x max_epochs
    plan = plan_phase(1, PhaseMixConfig(budget_tokens=budget), DEFAULT, supply)
    assert plan.shortfall == {}
    for domain, share in plan.achieved().items():
        assert abs(share - DEFAULT.targets[domain]) < 0.005, (domain, share)
        assert abs(plan.domain_tokens()[domain] - budget * DEFAULT.targets[domain]) <= granularity(plan, supply, domain)
    assert abs(plan.tokens - budget) / budget < 0.005
    # the plan's numbers are what per-document decisions add up to, exactly
    assert recount(plan, PLENTY) == {d: t for d, t in plan.domain_tokens().items() if t}


def test_shortfall_is_reported_not_filled():
    docs = make_docs({"general": 3000, "math": 40, "code": 1500, "multilingual": 800})
    supply = supply_of(docs)
    math_supply = sum(n for _, d, _, n in docs if d == "math")
    budget = 2_000_000
    plan = plan_phase(1, PhaseMixConfig(budget_tokens=budget), DEFAULT, supply)
    want = budget * DEFAULT.targets["math"]
    assert plan.shortfall == {"math": round(want - DEFAULT.max_epochs * math_supply)}
    tokens = plan.domain_tokens()
    assert tokens["math"] == DEFAULT.max_epochs * math_supply  # capped at max_epochs, every doc 4x
    assert {c.repeat(b) for c in plan.cells if c.domain == "math" for b in range(K)} == {4}
    for domain in ("general", "code", "multilingual"):  # the others keep their own targets
        assert abs(tokens[domain] - budget * DEFAULT.targets[domain]) <= granularity(plan, supply, domain)


def test_missing_domain_is_all_shortfall():
    docs = make_docs({"general": 500, "math": 300, "code": 200})
    plan = plan_phase(1, PhaseMixConfig(budget_tokens=100_000), DEFAULT, supply_of(docs))
    assert plan.shortfall["multilingual"] == 8_000
    assert "multilingual" not in {c.domain for c in plan.cells}


def test_auto_budget_fills_targets_without_repetition():
    supply = supply_of(PLENTY)
    plan = plan_phase(1, PhaseMixConfig(), DEFAULT, supply)
    assert plan.budget_auto and plan.shortfall == {}
    assert max(c.rate for c in plan.cells) == pytest.approx(1.0, abs=1e-6)  # the scarcest domain, used once
    assert all(c.whole <= 1 and c.epochs <= 1.0 for c in plan.cells)
    for domain, share in plan.achieved().items():
        assert abs(share - DEFAULT.targets[domain]) < 0.005


def test_upsampling_repeats_documents_within_the_cap():
    supply = supply_of(PLENTY)
    total = sum(n for *_, n in PLENTY)
    plan = plan_phase(1, PhaseMixConfig(budget_tokens=2 * total), DEFAULT, supply)
    general = [c for c in plan.cells if c.domain == "general"]
    for c in general:
        assert 2 <= c.rate <= DEFAULT.max_epochs and {c.repeat(b) for b in range(K)} <= {c.whole, c.whole + 1}
        assert c.epochs == pytest.approx(c.rate, rel=0.01)
    assert recount(plan, PLENTY) == {d: t for d, t in plan.domain_tokens().items() if t}


def test_phases_draw_only_from_their_tiers():
    plans = plan_mix(supply_of(PLENTY), DEFAULT)
    assert {c.tier for c in plans[1].cells} == {"A", "B", "C"}
    assert {c.tier for c in plans[2].cells} == {"A"}
    assert plans[2].tokens < plans[1].tokens


def test_bucket_is_deterministic_and_uniform():
    buckets = [mix_bucket(f"doc-{i}", K) for i in range(20_000)]
    assert buckets == [mix_bucket(f"doc-{i}", K) for i in range(20_000)]
    counts = np.bincount(buckets, minlength=K)
    assert counts.min() > 0 and counts.max() < 3 * counts.mean()


@pytest.mark.parametrize(
    "bad",
    [
        {"targets": {"general": 0.5, "math": 0.4}},  # sums to 0.9
        {"targets": {"general": 1.2, "math": -0.2}},
        {"targets": {"science": 1.0}},
        {"phases": {}},
        {"phases": {1: {"tiers": []}}},
        {"phases": {1: {"tiers": ["D"]}}},
        {"phases": {1: {"budget_tokens": 0}}},
        {"max_epochs": 0.5},
    ],
)
def test_bad_mix_config_is_refused(bad):
    with pytest.raises(ValidationError):
        MixConfig.model_validate(bad)


def test_a_long_document_phase_plans_from_long_documents_only():
    """`min_tokens` (long-document sampling): the phase's supply, plan and shortfall count
    only documents that long; the other phases plan exactly as without it."""
    docs = make_docs({"general": 600, "math": 300, "code": 200, "multilingual": 100})
    cut = int(np.median([n for *_, n in docs]))
    plain = MixConfig()
    cfg = MixConfig(phases={**plain.phases, 3: PhaseMixConfig(min_tokens=cut)})
    assert length_thresholds(cfg) == (cut,) and length_class(cut - 1, (cut,)) == 0 and length_class(cut, (cut,)) == 1
    rows = [((d, t, mix_bucket(i, K), length_class(n, (cut,))), (1, n)) for i, d, t, n in docs]
    plans = plan_mix_from_histogram(rows, cfg)
    before = plan_mix(supply_of(docs), plain)
    assert plans[1] == before[1] and plans[2] == before[2]
    long_docs = [x for x in docs if x[3] >= cut]
    assert plans[3] == plan_phase(3, cfg.phases[3], cfg, supply_of(long_docs))
    assert plans[3].min_tokens == cut
    assert sum(c.supply_tokens for c in plans[3].cells) == sum(n for *_, n in long_docs)
    # unset, the key is not in the dump, so configs without it keep their hash
    assert (
        "min_tokens" not in PhaseMixConfig().model_dump()
        and PhaseMixConfig(min_tokens=5).model_dump()["min_tokens"] == 5
    )
    with pytest.raises(ValidationError):
        PhaseMixConfig(min_tokens=0)
