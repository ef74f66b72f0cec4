"""The shipped classifiers on the demo crawl: educational pages land in higher tiers than
spam and thin pages, and code/math pages get their domain."""

import statistics

import pyarrow.parquet as pq
import pytest

from edumix.core.config import RunConfig
from edumix.demo import write_demo_crawl
from edumix.demo.crawl import _plan
from edumix.pipelines.curate import run_curate


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("classify")
    write_demo_crawl(tmp / "demo.warc.gz")
    # keep every page so each kind can be scored: no dedup, no rule filters
    cfg = RunConfig.model_validate(
        {"dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")}, "filters": {"enabled": False}}
    )
    report = run_curate([str(tmp / "demo.warc.gz")], str(tmp / "out"), cfg)
    kind = {f.url: f.kind for f in _plan(120, 0)}
    rows = pq.read_table(tmp / "out" / "shards").to_pylist()
    return report, [(kind.get(r["url"]), r) for r in rows]


def test_every_kept_document_has_scores(scored):
    report, rows = scored
    assert rows and all(r["edu_tier"] in ("A", "B", "C") and r["domain"] for _, r in rows)
    assert all(0 <= r["quality_score"] <= 1 and 0 <= r["edu_score"] <= 5 for _, r in rows)
    assert sum(report["stats"]["classify"]["tiers"].values()) == report["kept"]


def test_educational_pages_outrank_spam_and_thin_pages(scored):
    _, rows = scored
    edu = [r["edu_score"] for k, r in rows if k == "edu"]
    junk = [r["edu_score"] for k, r in rows if k in ("spam", "low_value")]
    assert edu and junk
    assert statistics.median(edu) > statistics.median(junk)
    tier_rank = {"A": 2, "B": 1, "C": 0}
    assert statistics.mean(tier_rank[r["edu_tier"]] for k, r in rows if k == "edu") > statistics.mean(
        tier_rank[r["edu_tier"]] for k, r in rows if k in ("spam", "low_value")
    )


def test_code_and_math_pages_get_their_domain(scored):
    _, rows = scored
    code = [r["domain"] for k, r in rows if k == "code"]
    math = [r["domain"] for k, r in rows if k == "math"]
    assert code.count("code") / len(code) >= 0.75
    assert math.count("math") / len(math) >= 0.6
    assert all(r["domain"] == "multilingual" for k, r in rows if k == "non_english" and r["lang"] != "en")
