"""The shipped classifiers on the demo crawl: educational pages land in higher tiers than
spam and thin pages, and code/math pages get their domain."""

import statistics
from pathlib import Path

import background
import pyarrow.parquet as pq
import pytest
from beam_helpers import curate_job, finished_run

from edumix.demo import write_demo_crawl
from edumix.demo.crawl import _plan

# keep every page so each kind can be scored: no dedup, no rule filters
EVERY_PAGE = {
    "dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")},
    "filters": {"enabled": False},
}


def _classify_job(workdir: Path) -> background.Job:
    workdir.mkdir(parents=True, exist_ok=True)
    write_demo_crawl(workdir / "demo.warc.gz")
    return curate_job("classify-demo", [workdir / "demo.warc.gz"], workdir, EVERY_PAGE)


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the run below starts in a child process when collection ends (it needs
    nothing from the tests before it), on the core the suite leaves idle."""
    return [_classify_job(workdir)] if any("scored" in item.fixturenames for item in items) else []


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """`edumix curate` of the demo crawl (EVERY_PAGE): (report, [(page kind, kept row)])."""
    run, report, _ = finished_run(
        background.take("classify-demo") or _classify_job(tmp_path_factory.mktemp("classify"))
    )
    kind = {f.url: f.kind for f in _plan(120, 0)}
    rows = pq.read_table(run / "shards").to_pylist()
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
