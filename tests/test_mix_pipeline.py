"""The data mix inside `edumix curate` on the demo crawl: cell files, the mix manifest
(exact token counts, recounted here), shortfalls, and counts from a real tokenizer."""

import json
from collections import defaultdict

import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from edumix.core.config import RunConfig
from edumix.core.run_dir import MIX_MANIFEST
from edumix.filters.tokens import TokenCounter
from edumix.pipelines.curate import run_curate

NO_DEDUP = {"dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")}}  # as conftest's run


@pytest.fixture(scope="module")
def crawl(demo_crawl):
    return demo_crawl


@pytest.fixture(scope="module")
def run(demo_mix_run):
    """The session's demo run (conftest.py), shared with tests/test_interop.py."""
    out, report = demo_mix_run
    return out, report, json.loads((out / MIX_MANIFEST).read_text())


def read_cell(run_dir, cell):
    return [row for f in cell["files"] for row in pq.read_table(run_dir / f["path"]).to_pylist()]


def test_manifest_token_counts_equal_a_recount(run):
    out, report, manifest = run
    assert manifest["token_count"] == report["token_count"] == "estimate"
    counter = TokenCounter()
    for phase, info in manifest["phases"].items():
        assert info["cells"], phase
        for cell in info["cells"]:
            rows = read_cell(out, cell)
            assert {(r["domain"], r["edu_tier"]) for r in rows} == {(cell["domain"], cell["tier"])}
            assert [r["n_tokens"] for r in rows] == counter.count([r["text"] for r in rows])
            assert cell["documents"] == len(rows) == sum(f["rows"] for f in cell["files"])
            assert cell["unique_tokens"] == sum(r["n_tokens"] for r in rows)
            assert cell["tokens"] == sum(r["n_tokens"] * r["repeat"] for r in rows)
            assert all(r["repeat"] >= 1 for r in rows)
        assert info["tokens"] == sum(c["tokens"] for c in info["cells"])
        assert sum(c["weight"] for c in info["cells"]) == pytest.approx(1.0, abs=1e-5)


def test_phase_two_is_tier_a_only_and_a_subset_of_the_shards(run):
    out, _, manifest = run
    assert {c["tier"] for c in manifest["phases"]["2"]["cells"]} == {"A"}
    kept = {r["id"] for r in pq.read_table(out / "shards").to_pylist()}
    for info in manifest["phases"].values():
        for cell in info["cells"]:
            assert {r["id"] for r in read_cell(out, cell)} <= kept


def test_demo_mix_is_near_target(run):
    """Auto budget: the largest budget every domain with documents fills once. With ~100
    documents each cell cuts at a document boundary, so a domain's achieved share is within 3
    points, or one document per cell when documents are bigger than that (phase 2 is a few
    thousand tokens), of the targets renormalised over the domains present. A domain with no
    document in a phase's tiers is reported short by its whole share, never filled from
    elsewhere."""
    out, report, manifest = run
    assert manifest["phases"]["1"]["shortfall"] == {}
    for info in manifest["phases"].values():
        present = {c["domain"] for c in info["cells"]}
        assert info["budget_auto"] and set(info["shortfall"]) == set(info["targets"]) - present
        share = sum(info["targets"][d] for d in present)
        for domain in present:
            cells = [c for c in info["cells"] if c["domain"] == domain]
            one_doc_per_cell = sum(max(r["n_tokens"] for r in read_cell(out, c)) for c in cells) / info["tokens"]
            error = abs(info["achieved"][domain] - info["targets"][domain] / share)
            assert error < max(0.03, one_doc_per_cell), (domain, info["achieved"], one_doc_per_cell)
        for domain, missing in info["shortfall"].items():
            assert info["achieved"][domain] == 0
            assert missing == round(info["targets"][domain] * info["budget_tokens"])  # nothing of it available
    assert report["mix"]["phases"].keys() == manifest["phases"].keys()
    table_tokens = sum(r["tokens"] for r in report["mix"]["table"])
    assert table_tokens == report["kept_tokens"] == report["stages"][-1]["tokens_out"]


def test_funnel_and_histograms_in_the_report(run):
    _, report, _ = run
    tokens = [s["tokens_out"] for s in report["stages"] if "tokens_out" in s]
    assert tokens == sorted(tokens, reverse=True) and tokens[-1] > 0
    hists = report["stats"]["classify"]["histograms"]
    assert sum(hists["edu"]["counts"]) == sum(hists["quality"]["counts"]) == report["kept"]
    at = report["stats"]["classify"]["tokens_at_edu_threshold"]
    assert at["0.0"] == report["kept_tokens"] and at["3.0"] <= at["2.0"] <= at["0.0"]


def train_tokenizer(run_dir, path):
    texts = [r["text"] for r in pq.read_table(run_dir / "shards").to_pylist()]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, show_progress=False))
    tok.save(str(path))
    return tok


@pytest.mark.slow
def test_real_tokenizer_counts_and_a_reported_shortfall(run, crawl, tmp_path):
    """With the trainer's tokenizer the counts are exact token counts; a budget past what
    tier A can give at max_epochs is reported as a shortfall, not filled."""
    first, _, first_manifest = run
    tok = train_tokenizer(first, tmp_path / "tokenizer.json")
    phase1_tokens = first_manifest["phases"]["1"]["tokens"]
    cfg = RunConfig.model_validate(
        {
            **NO_DEDUP,
            "mix": {
                "tokenizer": str(tmp_path / "tokenizer.json"),
                "phases": {1: {"tiers": ["A", "B", "C"]}, 2: {"tiers": ["A"], "budget_tokens": 40 * phase1_tokens}},
            },
        }
    )
    report = run_curate([str(crawl)], str(tmp_path / "run"), cfg)
    manifest = json.loads((tmp_path / "run" / MIX_MANIFEST).read_text())
    assert manifest["token_count"].startswith("tokenizer:") and report["token_count"] == manifest["token_count"]
    for cell in manifest["phases"]["1"]["cells"]:
        rows = read_cell(tmp_path / "run", cell)
        assert [r["n_tokens"] for r in rows] == [len(tok.encode(r["text"], add_special_tokens=False).ids) for r in rows]
    phase2 = manifest["phases"]["2"]
    assert set(phase2["shortfall"]) == set(phase2["targets"])  # every domain short of 40x
    by_domain = defaultdict(int)
    for cell in phase2["cells"]:
        assert cell["epochs"] == pytest.approx(4.0)  # max_epochs: every tier-A document 4 times
        by_domain[cell["domain"]] += cell["tokens"]
    for domain, missing in phase2["shortfall"].items():
        want = 40 * phase1_tokens * phase2["targets"][domain]
        assert missing == pytest.approx(want - by_domain[domain], abs=1)


def test_missing_tokenizer_is_a_clear_error_before_the_run(crawl, tmp_path):
    from edumix.pipelines.options import PipelineOptionsError

    cfg = RunConfig.model_validate({"mix": {"tokenizer": str(tmp_path / "nope.json")}})
    with pytest.raises(PipelineOptionsError, match="mix.tokenizer=.*no such file"):
        run_curate([str(crawl)], str(tmp_path / "run"), cfg)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_long_document_phase_in_the_pipeline(run, crawl, tmp_path):
    """A third phase with `min_tokens` (long-document sampling, e.g. for `--phase long`):
    only documents that long, reported in the manifest; phases 1 and 2 are byte for byte
    those of the same run without it."""
    base_dir, _, base = run
    lengths = sorted(pq.read_table(base_dir / "shards", columns=["n_tokens"]).column("n_tokens").to_pylist())
    cut = lengths[len(lengths) // 2]
    cfg = {**NO_DEDUP, "mix": {"phases": {1: {"tiers": ["A", "B", "C"]}, 2: {"tiers": ["A"]}, 3: {"min_tokens": cut}}}}
    out = tmp_path / "run"
    run_curate([str(crawl)], str(out), RunConfig.model_validate(cfg))
    manifest = json.loads((out / MIX_MANIFEST).read_text())
    assert manifest["phases"]["3"]["min_tokens"] == cut and "min_tokens" not in manifest["phases"]["1"]
    rows = [r for c in manifest["phases"]["3"]["cells"] for r in read_cell(out, c)]
    assert rows and min(r["n_tokens"] for r in rows) >= cut
    kept = pq.read_table(base_dir / "shards").to_pylist()
    assert {r["id"] for r in rows} <= {r["id"] for r in kept if r["n_tokens"] >= cut}
    long_supply = defaultdict(int)  # the phase planned from the long documents only
    for r in kept:
        if r["n_tokens"] >= cut:
            long_supply[(r["domain"], r["edu_tier"])] += r["n_tokens"]
    for c in manifest["phases"]["3"]["cells"]:
        assert c["supply_tokens"] == long_supply[(c["domain"], c["tier"])]
    for phase in ("1", "2"):
        assert manifest["phases"][phase]["cells"] == base["phases"][phase]["cells"]  # same files, sha256
