"""`edumix demo`: the README's first command, end to end on the generated crawl."""

import json

import pyarrow.parquet as pq

from edumix.core.record import kv_dict


def test_demo_curates_the_generated_crawl(cli_demo):
    """`edumix demo --output ROOT` (conftest's `cli_demo`: run once, exit code 0 checked there)."""
    assert "accounting holds" in cli_demo.output
    run = cli_demo.run
    assert run == cli_demo.root / "run" and cli_demo.crawl.is_file()

    report = json.loads((run / "report.json").read_text())
    # 278 WARC records: 124 HTML pages + requests, metadata, revisit, non-HTML responses
    assert report["input_records"] == 278
    assert report["dropped"]["read"] == {"non_response": 148}
    # png, pdf, css, json, robots.txt and an empty redirect; the 2.2 MB page is over budget
    assert report["dropped"]["extract"] == {"not_html": 6, "too_large": 1}
    # the crawl re-fetches some URLs, serves copies at other URLs and near-copies
    assert report["dropped"]["url_dedup"] == {"dup_url": 6}
    assert report["dropped"]["exact_dedup"] == {"dup_exact": 9}
    quality = report["dropped"]["quality"]  # thin, spammy and repetitive pages
    assert sum(quality.values()) == 21 and quality["gopher_quality:gopher_short_doc"] == 10
    assert report["dropped"]["minhash_dedup"] == {"dup_minhash": 26}
    assert report["stats"]["minhash_dedup"]["precision"]["precision"] > 0.9
    assert report["stats"]["line_dedup"]["frequent_lines"] >= 3  # site footers repeated across pages
    assert report["kept"] == 61 and report["accounting_ok"]

    rows = pq.read_table(run / "shards").to_pylist()
    assert len(rows) == 61 and not any("\ufffd" in r["text"] for r in rows)
    by_encoding = {
        kv_dict(r["metadata"])["encoding"]: r["text"] for r in rows if kv_dict(r["metadata"])["encoding"] != "utf-8"
    }
    assert "Köln" in by_encoding["cp1252"] or "crème brûlée" in by_encoding["cp1252"].lower()
    assert "Самовар" in by_encoding["cp1251"]  # charset only in <meta>
    (big,) = pq.read_table(run / "rejected" / "extract.too_large.parquet").to_pylist()
    assert int(kv_dict(big["metadata"])["body_length"]) > 2_000_000
