"""report.html and `edumix report`: the renderer on a synthetic run with every report.json
section, on an old-style run without them, on the demo run, and in a real headless
chromium (Debian's chromium + chromedriver; skipped with the reason when they are absent)."""

import copy
import html
import json
import re
import shutil
from pathlib import Path

import background
import pytest
from beam_helpers import curate_job, finished_run
from browser import ARTIFACTS, chromium
from typer.testing import CliRunner

from edumix.cli import app
from edumix.core.config import RunConfig
from edumix.core.record import DOCUMENT_SCHEMA, REJECTED_SCHEMA, Document, Drop, to_table
from edumix.report.compare import compare_reports, config_differences, final_tokens
from edumix.report.html import (
    EXCERPT_CHARS,
    NOT_AVAILABLE,
    fmt_pct,
    human,
    write_report_html,
)

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

SECRET_EMAIL = "jane.roe.7731@example-mail.org"
SECRET_PHONE = "+1 (415) 555-0132"
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def synthetic_report() -> dict:
    """Every section the report can have, token counts from a tokenizer, one phase that
    repeats documents and misses a target."""
    stages = [
        ("read", 1000, 200),
        ("extract", 800, 50),
        ("langid", 750, 0),
        ("exact_dedup", 750, 90),
        ("quality", 660, 160),
        ("minhash_dedup", 500, 60),
        ("pii", 440, 0),
        ("classify", 440, 0),
    ]
    rows, tokens = [], 600_000
    for name, n_in, dropped in stages:
        row = {
            "stage": name,
            "in": n_in,
            "dropped": dropped,
            "out": n_in - dropped,
            "drop_rate": round(dropped / n_in, 6),
        }
        if name != "read":
            tokens -= dropped * 700
            row["tokens_out"] = tokens
        rows.append(row)
    phase = {
        "budget_tokens": 400_000,
        "budget_auto": False,
        "tiers": ["A", "B", "C"],
        "tokens": 380_000,
        "targets": {"general": 0.5, "math": 0.25, "code": 0.17, "multilingual": 0.08},
        "achieved": {"general": 0.55, "math": 0.25, "code": 0.12, "multilingual": 0.08},
        "domain_tokens": {"general": 209_000, "math": 95_000, "code": 45_600, "multilingual": 30_400},
        "shortfall": {"code": 20_000},
        "cells": [
            {
                "domain": "general",
                "tier": "A",
                "documents": 200,
                "unique_tokens": 150_000,
                "tokens": 150_000,
                "epochs": 1.0,
                "rate": 0.8,
                "weight": 0.39,
            },
            {
                "domain": "general",
                "tier": "B",
                "documents": 90,
                "unique_tokens": 59_000,
                "tokens": 59_000,
                "epochs": 1.0,
                "rate": 0.8,
                "weight": 0.16,
            },
            {
                "domain": "math",
                "tier": "A",
                "documents": 60,
                "unique_tokens": 31_000,
                "tokens": 95_000,
                "epochs": 3.06,
                "rate": 3.06,
                "weight": 0.25,
            },
            {
                "domain": "code",
                "tier": "A",
                "documents": 40,
                "unique_tokens": 11_400,
                "tokens": 45_600,
                "epochs": 4.0,
                "rate": 4.0,
                "weight": 0.12,
                "shortfall_tokens": 20_000,
            },
            {
                "domain": "multilingual",
                "tier": "B",
                "documents": 50,
                "unique_tokens": 30_400,
                "tokens": 30_400,
                "epochs": 1.0,
                "rate": 1.0,
                "weight": 0.08,
            },
        ],
    }
    phase2 = copy.deepcopy(phase) | {"tiers": ["A"], "budget_tokens": 200_000, "tokens": 200_000, "shortfall": {}}
    table = [
        {"tier": t, "domain": d, "lang": lang, "documents": n, "tokens": n * 640}
        for t, d, lang, n in [
            ("A", "general", "en", 200),
            ("B", "general", "en", 90),
            ("A", "math", "en", 60),
            ("A", "code", "en", 40),
            ("B", "multilingual", "de", 30),
            ("B", "multilingual", "fr", 20),
        ]
    ]
    return {
        "edumix_version": "0.1.0",
        "config_hash": "c0ffee0000000001",
        "input_fingerprint": "f00d000000000001",
        "input_files": 2,
        "input_records": 1000,
        "kept": 440,
        "dropped_total": 560,
        "accounting_ok": True,
        "token_count": "tokenizer:" + "ab" * 32,
        "kept_tokens": tokens,
        "dropped": {
            "read": {"non_response": 200},
            "extract": {"not_html": 50},
            "exact_dedup": {"dup_exact": 90},
            "quality": {"gopher_quality:gopher_short_doc": 100, "dup_ngram_doc": 60},
            "minhash_dedup": {"dup_minhash": 60},
        },
        "stages": rows,
        "shards": {"files": 1, "rows": 440, "bytes": 1_234_567},
        "stats": {
            "langid": {"languages": {"en": 700, "de": 30, "fr": 20}},
            "quality": {
                "flagged": {
                    "gopher_quality:gopher_short_doc": 120,
                    "dup_ngram_doc": 70,
                    "c4_quality:too_few_sentences": 40,
                },
                "overlap": {
                    "gopher_quality:gopher_short_doc": {"c4_quality:too_few_sentences": 30, "dup_ngram_doc": 10}
                },
                "by_language": {
                    "en": {"docs": 620, "flagged": 150},
                    "de": {"docs": 25, "flagged": 8},
                    "fr": {"docs": 15},
                },
            },
            "minhash_dedup": {
                "cluster_size": {"2": 30, "3": 8, "4-7": 3},
                "edges": 55,
                "candidates_rejected": 4,
                "lsh_threshold": 0.719,
                "s_curve": {"0.50": 0.05, "0.80": 0.92},
                "precision": {"pairs": 50, "precision": 0.94, "mean_true_jaccard": 0.88},
            },
            "pii": {"docs_scrubbed": 12, "entities": {"EMAIL_ADDRESS": 9.0, "PHONE_NUMBER": 4.0}},
            "classify": {
                "domains": {"general": 290, "math": 60, "code": 40, "multilingual": 50},
                "tiers": {"A": 300, "B": 120, "C": 20},
                "histograms": {
                    "quality": {"edges": [i / 10 for i in range(11)], "counts": [1, 2, 3, 5, 8, 20, 40, 80, 120, 161]},
                    "edu": {"edges": [i / 2 for i in range(11)], "counts": [2, 5, 8, 20, 40, 60, 90, 100, 70, 45]},
                },
                "tier_cuts": {"A": 3.0, "B": 2.0},
                "tokens_at_edu_threshold": {f"{t / 2:.1f}": 300_000 - t * 25_000 for t in range(11)},
            },
        },
        "mix": {"recipe_hash": "feedface00000001", "table": table, "phases": {"1": phase, "2": phase2}},
    }


def _doc(i: int, text: str, lang: str = "en") -> Document:
    return Document(
        id=f"{i:032x}",
        url=f"https://site.example.org/p/{i}",
        crawl_date=None,
        source_file="x.warc.gz",
        source_offset=i,
        source_format="warc",
        text=text,
        lang=lang,
    )


def write_run(path: Path, report: dict, config: dict | None = None) -> Path:
    """A run directory: report.json, manifest.json, a rejected/ sample with PII and markup, shards/."""
    import pyarrow.parquet as pq

    (path / "rejected").mkdir(parents=True)
    (path / "shards").mkdir()
    (path / "report.json").write_text(json.dumps(report))
    config = config if config is not None else RunConfig().model_dump(mode="json")
    (path / "manifest.json").write_text(json.dumps({"config": config, "config_hash": report.get("config_hash")}))
    pii_text = (
        f"Contact the author at {SECRET_EMAIL} or call Phone: {SECRET_PHONE} today. {HOSTILE}\n"
        + "Filler words that make this page long. " * 40
    )
    drops = [
        Drop("quality", "gopher_quality:gopher_short_doc", _doc(1, pii_text), "words=12 (threshold 50)"),
        Drop("quality", "gopher_quality:gopher_short_doc", _doc(2, "Short page."), "words=2 (threshold 50)"),
    ]
    pq.write_table(
        to_table([d.to_row() for d in drops], REJECTED_SCHEMA),
        path / "rejected" / "quality.gopher_quality-gopher_short_doc.parquet",
    )
    no_text = [Drop("read", "non_response", _doc(3, ""), "WARC-Type: request")]
    pq.write_table(
        to_table([d.to_row() for d in no_text], REJECTED_SCHEMA), path / "rejected" / "read.non_response.parquet"
    )
    kept = [_doc(10 + i, "kept text", lang) for i, lang in enumerate(["en"] * 5 + ["de", "de", "fr"])]
    pq.write_table(
        to_table([d.to_row() for d in kept], DOCUMENT_SCHEMA), path / "shards" / "part-00000-of-00001.parquet"
    )
    return path


SYNTHETIC_TIMING = {
    "total_wall_s": 12.5,
    "workers": 2,
    "stages": [
        {"stage": "read", "documents_in": 100, "wall_s": 1.5, "cpu_s": 0.5},
        {"stage": "quality", "documents_in": 80, "wall_s": 9.25, "cpu_s": 8.0},
    ],
    "other_cpu_s": {"WriteShards": 0.25, "progress": 0.01},
}


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory) -> Path:
    path = write_run(tmp_path_factory.mktemp("synthetic") / "run", synthetic_report())
    (path / "timing.json").write_text(json.dumps(SYNTHETIC_TIMING))
    return path


@pytest.fixture(scope="module")
def synthetic_html(synthetic_run) -> str:
    return write_report_html(synthetic_run).read_text()


def sections(page: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="(\w+)">(.*?)</section>', page, re.DOTALL))


def test_every_section_renders_from_a_full_report(synthetic_html):
    report = synthetic_report()
    parts = sections(synthetic_html)
    assert list(parts) == [
        "summary",
        "funnel",
        "ledger",
        "scores",
        "content",
        "documents",
        "mix",
        "dedup",
        "pii",
        "timing",
    ]
    assert NOT_AVAILABLE not in synthetic_html
    # every token number names its counter (here a tokenizer, by the first 12 hex of its sha)
    assert "tokens (tokenizer abababababab)" in parts["funnel"]
    assert human(report["stages"][-1]["tokens_out"]) in parts["funnel"]
    # the edu histogram has one dashed cut line per tier cut, labelled with its value
    edu_svg = re.search(r"<svg[^>]*aria-label=\"Educational score[^\"]*\".*?</svg>", parts["scores"], re.DOTALL).group(
        0
    )
    assert edu_svg.count('class="cut"') == 2 and "tier A ≥ 3" in edu_svg and "tier B ≥ 2" in edu_svg
    # mix: grouped target/achieved bars per phase, repeated cells highlighted, shortfalls shown
    assert len(re.findall(r'<svg class="chart"[^>]*aria-label="Phase \d: target vs achieved share"', parts["mix"])) == 2
    repeated = [c for c in report["mix"]["phases"]["1"]["cells"] if c["epochs"] > 1]
    assert parts["mix"].count('<tr class="rep">') == 2 * len(repeated)
    assert f"×{repeated[0]['epochs']:.2f}" in parts["mix"]
    assert fmt_pct(report["mix"]["phases"]["1"]["achieved"]["general"]) in parts["mix"]
    assert 'class="short"' in parts["mix"]
    # tier x domain x language: languages as columns, one row per (tier, domain) plus the total
    content_rows = re.findall(r"<tr[^>]*><td>([ABC]|all)</td>", parts["content"])
    assert len(content_rows) == len({(r["tier"], r["domain"]) for r in report["mix"]["table"]}) + 1
    # rule overlap heat map: the 30 documents two rules share, shaded
    assert re.search(r'<td style="background:rgba\([^"]+\)" title="30 of the 120', parts["ledger"])
    # per-language removal: de had 30 after langid and 2 kept
    assert re.search(r"<td>de</td><td class=n>30</td>.*?<td class=n>2</td><td class=n>93\.3%</td>", parts["ledger"])


def test_dropped_excerpts_are_pii_scrubbed_escaped_and_short(synthetic_html):
    assert SECRET_EMAIL not in synthetic_html and "555-0132" not in synthetic_html
    assert "&lt;EMAIL_ADDRESS&gt;" in synthetic_html and "&lt;PHONE_NUMBER&gt;" in synthetic_html
    assert "<script" not in synthetic_html and "<img" not in synthetic_html  # the page has no script at all
    assert "&lt;script&gt;alert(" in synthetic_html and "&lt;img src=x onerror" in synthetic_html
    excerpts = [
        html.unescape(x)
        for x in re.findall(r'<pre class="excerpt">(.*?)</pre>', sections(synthetic_html)["ledger"], re.DOTALL)
    ]
    assert len(excerpts) == 2 and all(len(x) <= EXCERPT_CHARS + 1 for x in excerpts)
    assert excerpts[0].endswith("…") and excerpts[1] == "Short page."  # documents with text come first
    assert "(no text: dropped before extraction)" in synthetic_html  # read.non_response


def test_a_run_without_the_new_sections_says_so(tmp_path):
    report = synthetic_report()
    del report["mix"], report["token_count"], report["kept_tokens"]
    for row in report["stages"]:
        row.pop("tokens_out", None)
    for key in ("histograms", "tier_cuts", "tokens_at_edu_threshold"):
        del report["stats"]["classify"][key]
    page = write_report_html(write_run(tmp_path / "old", report)).read_text()
    parts = sections(page)
    for name, what in [
        ("funnel", "tokens per stage"),
        ("scores", "quality score histogram"),
        ("scores", "edu score histogram"),
        ("scores", "tokens at each edu threshold"),
        ("content", "tier × domain × language tokens"),
        ("mix", "the data mix (mix/)"),
    ]:
        assert f"{what}: {NOT_AVAILABLE}" in parts[name]
    assert "Documents per edu tier" in parts["content"]  # what the run does have still shows


@pytest.mark.parametrize("report", [{}, {"stages": [], "dropped": {}, "stats": {}}])
def test_a_bare_report_still_renders(tmp_path, report):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "report.json").write_text(json.dumps(report))
    page = write_report_html(run, compare_dir=run).read_text()
    assert page.count("<section") == 11 and NOT_AVAILABLE in page  # 10 + compare


def test_compare_reports_deltas_are_a_minus_b():
    a, b = synthetic_report(), synthetic_report()
    b["dropped"]["quality"]["dup_ngram_doc"] = 20
    b["dropped"]["quality"]["kl_outlier"] = 5
    q = next(s for s in b["stages"] if s["stage"] == "quality")
    q["dropped"], q["out"] = 25, q["in"] - 25
    b["kept"] += 35
    b["kept_tokens"] = a["kept_tokens"] - 1000
    b["mix"]["phases"]["1"]["achieved"]["general"] = 0.5
    del b["mix"]["phases"]["2"]
    ca, cb = RunConfig().model_dump(mode="json"), RunConfig().model_dump(mode="json")
    cb["dedup"]["minhash"]["bands"] = 20
    cb["classify"]["min_edu"] = 1.5
    del cb["mix"]
    cmp = compare_reports(a, b, ca, cb)
    assert cmp["totals"]["kept"] == {"a": a["kept"], "b": b["kept"], "delta": -35}
    assert cmp["totals"]["tokens"]["delta"] == final_tokens(a) - final_tokens(b) == 1000
    stage = next(s for s in cmp["stages"] if s["stage"] == "quality")
    assert stage["dropped"]["delta"] == 160 - 25 and stage["out"]["delta"] == -(160 - 25)
    assert [(r["reason"], r["delta"]) for r in cmp["rules"][:2]] == [("dup_ngram_doc", 40), ("kl_outlier", -5)]
    assert all(r["delta"] == 0 for r in cmp["rules"][2:])
    general = next(d for d in cmp["mix"]["1"] if d["domain"] == "general")
    assert general["achieved"]["delta"] == pytest.approx(0.05)
    assert all(d["achieved"]["b"] is None for d in cmp["mix"]["2"])  # phase only A has
    diff = {c["key"]: c for c in cmp["config"]}
    assert diff["dedup.minhash.bands"]["a"] == 14 and diff["dedup.minhash.bands"]["b"] == 20
    assert diff["classify.min_edu"]["a"] is None and diff["classify.min_edu"]["in_a"]  # null, not absent
    assert not diff["mix.max_epochs"]["in_b"]  # a section B's edumix did not have
    assert all(k.startswith(("dedup.minhash.bands", "classify.min_edu", "mix.")) for k in diff)
    assert config_differences(ca, ca) == [] and compare_reports(a, a)["config_known"] is False


def test_cli_report_compare_prints_diff_and_writes_the_compare_section(tmp_path, synthetic_run):
    other_report = synthetic_report()
    other_report["dropped"]["quality"]["dup_ngram_doc"] = 10
    config = RunConfig().model_dump(mode="json")
    config["filters"]["dup_ngram"]["doc_threshold"] = 0.5
    other = write_run(tmp_path / "other", other_report, config)
    run = tmp_path / "this"
    shutil.copytree(synthetic_run, run)
    (run / "report.html").unlink(missing_ok=True)
    result = runner.invoke(app, ["report", str(run), "--compare", str(other)], terminal_width=200)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "accounting holds" in out and "mix phase 1" in out and "top drop reasons" in out
    assert "filters.dup_ngram.doc_threshold" in out and re.search(r"dup_ngram_doc\s*│\s*60\s*│\s*10\s*│\s*\+50", out)
    assert f"wrote {run / 'report.html'}" in " ".join(out.split())
    page = (run / "report.html").read_text()
    compare = sections(page)["compare"]
    assert "filters.dup_ngram.doc_threshold" in compare and "Documents after each stage: A vs B" in compare

    (run / "report.html").unlink()
    quiet = runner.invoke(app, ["report", str(run), "--no-html"])
    assert quiet.exit_code == 0 and not (run / "report.html").exists()


def test_cli_report_errors(tmp_path, synthetic_run):
    missing = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
    bad_other = runner.invoke(app, ["report", str(synthetic_run), "--compare", str(tmp_path / "nothing")])
    assert bad_other.exit_code == 2 and "cannot read" in bad_other.output


# ---------------------------------------------------------------------------------------
# The demo run (~15-30 s to build: once for the module, in a child process started ahead)


def _demo_job(workdir: Path) -> background.Job:
    """`edumix demo --output WORKDIR --config C` with `output.rejected_raw_text: true` in C."""
    return curate_job("report-demo", [], workdir, {"output": {"rejected_raw_text": True}}, command="demo")


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the demo run below starts in a child process when collection ends (it needs
    nothing from the tests before it), on the core the suite leaves idle."""
    return [_demo_job(workdir / "demo")] if any("demo_run" in item.fixturenames for item in items) else []


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The demo with a raw-text ledger (as runs written before the ledger was scrubbed), so the
    page's own excerpt scrubbing is what keeps the dropped pages' PII out of it."""
    run, _, _ = finished_run(background.take("report-demo") or _demo_job(tmp_path_factory.mktemp("demo")))
    return run


@pytest.mark.slow
def test_demo_run_report(demo_run):
    import pyarrow.parquet as pq

    result = runner.invoke(app, ["report", str(demo_run)], terminal_width=160)
    assert result.exit_code == 0, result.output
    page = (demo_run / "report.html").read_text()
    report = json.loads((demo_run / "report.json").read_text())
    parts = sections(page)
    for stage, reasons in report["dropped"].items():
        for reason, n in reasons.items():
            assert re.search(
                rf"<td>{re.escape(stage)}</td><td>{re.escape(html.escape(reason))}</td><td class=n>{n:,}</td>",
                parts["ledger"],
            )
    # the demo crawl has pages with emails; none of a dropped one's may reach the page
    emails = set()
    for f in (demo_run / "rejected").glob("*.parquet"):
        for text in pq.read_table(f, columns=["text"]).column("text").to_pylist():
            emails |= set(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text or ""))
    assert emails, "the demo's dropped documents should include PII pages"
    assert not [e for e in emails if e in page]
    if report.get("mix"):  # the mixer is in this checkout
        assert NOT_AVAILABLE not in parts["mix"] and "Phase 1" in parts["mix"]


# ---------------------------------------------------------------------------------------
# In a real browser: headless Debian chromium through the system chromedriver.


CHART_BOXES = """
return Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const drawn = Array.from(svg.querySelectorAll('rect')).filter(r => {
    const b = r.getBBox(); return b.width > 0 && b.height > 0; }).length;
  return {title: svg.querySelector('title').textContent, drawn: drawn,
          texts: svg.querySelectorAll('text').length, width: box.width, height: box.height};
});
"""


def screenshot(driver, page: Path, png: Path) -> dict:
    """Load `page`, check it, and save a full-page screenshot; returns what the browser saw."""
    driver.get(page.resolve().as_uri())
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    charts = driver.execute_script(CHART_BOXES)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1366, height + 40)
    png.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(png))
    return {"severe": severe, "charts": charts}


def check_page(seen: dict, source: str) -> None:
    assert seen["severe"] == []
    assert len(seen["charts"]) == source.count('<svg class="chart"') > 0
    for chart in seen["charts"]:
        assert chart["drawn"] > 0 and chart["width"] > 0 and chart["height"] > 0, chart
        assert chart["texts"] >= 4, chart  # title, two axis labels, values


def test_report_in_headless_chromium(synthetic_run, synthetic_html):
    with chromium() as driver:
        seen = screenshot(driver, synthetic_run / "report.html", ARTIFACTS / "report-synthetic.png")
    check_page(seen, synthetic_html)
    titles = {c["title"] for c in seen["charts"]}
    assert {
        "Educational score with tier cuts",
        "Phase 1: target vs achieved share",
        "Near-duplicate cluster sizes",
    } <= titles
    assert (ARTIFACTS / "report-synthetic.png").stat().st_size > 0


@pytest.mark.slow
def test_demo_report_in_headless_chromium(demo_run):
    page = write_report_html(demo_run)
    with chromium() as driver:
        seen = screenshot(driver, page, ARTIFACTS / "report-demo.png")
    check_page(seen, page.read_text())


@pytest.mark.slow
def test_real_crawl_report_in_headless_chromium(real_run, tmp_path):
    """A report from real crawls (conftest's `real_run`: the Common Crawl sample, wget WARCs,
    whirlwind and warcio's edge cases): real languages, real drop reasons, a mix with shortfalls
    (no code/math supply in them)."""
    run = tmp_path / "run"
    shutil.copytree(real_run[0], run)  # the page is written into the run: a copy, real_run is shared
    report = json.loads((run / "report.json").read_text())
    assert report["accounting_ok"] and report["kept"] > 0
    page = write_report_html(run)
    with chromium() as driver:
        seen = screenshot(driver, page, ARTIFACTS / "report-real.png")
    check_page(seen, page.read_text())
    assert "Phase 1" in sections(page.read_text())["mix"]


def test_kept_documents_and_timing_sections(synthetic_html):
    parts = sections(synthetic_html)
    docs = parts["documents"]
    assert 'aria-label="Length of kept documents"' in docs and 'aria-label="Words per kept document"' in docs
    # 8 kept documents of "kept text": 9 characters, 2 words each
    assert "<td>characters</td><td class=n>9</td>" in docs and "<td>words</td><td class=n>2</td>" in docs
    assert "<td>site.example.org</td><td class=n>8</td>" in docs and "<td>.org</td><td class=n>8</td>" in docs
    # one domain x tier cell (the synthetic shards have none): the 2 smallest ids, escaped
    assert docs.count('<div class="sample">') == 2 and f"{10:032x}" in docs and f"{12:032x}" not in docs
    timing = parts["timing"]
    assert 'aria-label="CPU seconds per stage"' in timing
    assert "<td>quality</td><td class=n>80</td><td class=n>9.25</td><td class=n>8.00</td><td class=n>10</td>" in timing
    assert "12.5 s on 2 worker" in timing and "WriteShards 0.25 s" in timing


def test_kept_samples_are_scrubbed_and_escaped(tmp_path):
    from edumix.core.record import DOCUMENT_SCHEMA, to_table

    run = write_run(tmp_path / "run", synthetic_report())
    text = f"Mail {SECRET_EMAIL} now. {HOSTILE} " + "More words here. " * 100
    import pyarrow.parquet as pq

    pq.write_table(to_table([_doc(1, text).to_row()], DOCUMENT_SCHEMA), run / "shards" / "part-00000-of-00001.parquet")
    docs = sections(write_report_html(run).read_text())["documents"]
    assert SECRET_EMAIL not in docs and HOSTILE not in docs and "…" in docs
