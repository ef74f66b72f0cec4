"""End-to-end `curate` on a real Beam runner over real crawl files."""

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import background
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from beam_helpers import REAL_RUN_CONFIG, TWO_WORKERS, curate_job, finished_run, real_inputs, run_files
from shared_data import SHARED, shared

from edumix.core.config import ReadConfig, RunConfig
from edumix.core.record import Drop, RawRecord
from edumix.pipelines.curate import OutputExists, beam_options, run_curate
from edumix.pipelines.formats import iter_records
from edumix.pipelines.read import InputError

CONFIG = REAL_RUN_CONFIG  # docs_per_shard=15
# `real_run` (conftest.py, shared with tests/test_report_html.py): `edumix curate` of real_inputs()
# with CONFIG, in a child process started when collection ends; the tests below run the same
# inputs again in this process (test_same_input_...) and on 2 worker processes, and compare.


def read_dir(path: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(path.glob("*.parquet"))])


def listed_files(out: Path, manifest: dict) -> list[dict]:
    """Every data file the manifest and the mix manifest it names list."""
    mix = json.loads((out / manifest["mix"]).read_text())
    mix_files = [f for info in mix["phases"].values() for cell in info["cells"] for f in cell["files"]]
    return manifest["shards"] + manifest["rejected"] + mix_files


def test_accounting_identity_holds_exactly(real_run):
    out, report = real_run
    assert report["accounting_ok"]
    assert report["input_records"] == report["kept"] + report["dropped_total"]
    assert report["dropped_total"] == sum(n for reasons in report["dropped"].values() for n in reasons.values())
    assert [s["stage"] for s in report["stages"]] == [
        "read",
        "extract",
        "langid",
        "url_dedup",
        "exact_dedup",
        "quality",
        "minhash_dedup",
        "line_dedup",
        "pii",
        "classify",
    ]
    assert report["stages"][-1]["out"] == report["kept"] == read_dir(out / "shards").num_rows
    for before, after in zip(report["stages"], report["stages"][1:]):
        assert after["in"] == before["out"]


def test_input_records_match_an_independent_count(real_run):
    _, report = real_run
    expected = Counter()
    for f in report["files"]:
        with open(f["path"], "rb") as fh:
            expected[f["path"]] = sum(1 for _ in iter_records(fh, f["path"], ReadConfig()))
    assert {f["path"]: f["records"] for f in report["files"]} == dict(expected)
    # 24 crawl files + LICENSE.warcio, which `*.*` also matches: one unrecognised-format error
    assert report["input_files"] == len(expected) == 25
    assert expected[str(shared("warc", "warcio_edgecases", "LICENSE.warcio"))] == 1


def test_every_html_response_is_in_a_shard_or_the_ledger(real_run):
    out, _ = real_run

    # a re-crawl of an unchanged page has the same id: tell records apart by their source
    def identities(table):
        return set(zip(*(table.column(c).to_pylist() for c in ("id", "source_file", "source_offset")), strict=True))

    kept = identities(read_dir(out / "shards"))
    dropped = identities(read_dir(out / "rejected"))
    for name, expected_html in (
        ("commoncrawl_sample/warcfile.warc.gz", 16),
        ("dolma_wget/sample-0000.warc.gz", 22),
        ("dolma_wget/sample-0001.warc.gz", 15),
    ):
        path = shared("warc", *name.split("/"))
        with open(path, "rb") as fh:
            html = [
                r for r in iter_records(fh, str(path), ReadConfig()) if isinstance(r, RawRecord) and r.kind == "html"
            ]
        assert len(html) == expected_html
        for r in html:
            key = (r.id, r.source_file, r.source_offset)
            assert (key in kept) != (key in dropped), r.url


def test_ledger_holds_read_errors_with_file_and_offset(real_run):
    out, report = real_run
    errors = pq.read_table(out / "rejected" / "read.read_error.parquet").to_pylist()
    assert len(errors) == report["dropped"]["read"]["read_error"] > 0
    assert {Path(e["source_file"]).name for e in errors} >= {"clipped.warc.gz", "example-wrong-chunks.warc.gz"}
    assert all(e["stage"] == "read" and e["detail"] and e["source_offset"] >= 0 for e in errors)
    by_file = {Path(f["path"]).name: f["read_errors"] for f in report["files"]}
    assert by_file["clipped.warc.gz"] == 1 and by_file["example.warc.gz"] == 0


def test_shards_are_sorted_and_typed(real_run):
    out, report = real_run
    shards = sorted((out / "shards").glob("*.parquet"))
    total = (report["kept"] + 14) // 15
    assert len(shards) == total and all(p.name.endswith(f"-of-{total:05d}.parquet") for p in shards)
    for p in shards:
        table = pq.read_table(p)
        ids = table.column("id").to_pylist()
        assert ids == sorted(ids)
        assert all(t.strip() for t in table.column("text").to_pylist())
    assert not list(out.rglob("*.tmp-*"))


def test_manifest_describes_the_files(real_run):
    out, report = real_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config_hash"] == CONFIG.config_hash() == report["config_hash"]
    assert manifest["rows"] == report["kept"]
    assert manifest["config"]["output"]["docs_per_shard"] == 15
    listed = listed_files(out, manifest)
    assert {f["path"] for f in listed} == {str(p.relative_to(out)) for p in out.rglob("*.parquet")}
    for f in listed:
        data = (out / f["path"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
        assert pq.read_metadata(out / f["path"]).num_rows == f["rows"]
    assert sum(f["rows"] for f in manifest["shards"]) == report["kept"]


def test_same_input_gives_byte_identical_run(real_run, tmp_path):
    out, _ = real_run
    run_curate(real_inputs(), str(tmp_path / "again"), CONFIG)
    assert run_files(tmp_path / "again") == run_files(out)


@pytest.mark.slow
def test_multi_processing_runner_gives_identical_run(real_run, tmp_path):
    out, _ = real_run
    run_curate(real_inputs(), str(tmp_path / "mp"), CONFIG, TWO_WORKERS)
    assert run_files(tmp_path / "mp") == run_files(out)


@pytest.mark.slow
def test_rebalanced_multi_processing_run_has_identical_shards(real_run, tmp_path):
    out, _ = real_run
    cfg = CONFIG.model_copy(update={"read": ReadConfig(rebalance=True)})
    run_curate(real_inputs(), str(tmp_path / "mp"), cfg, TWO_WORKERS)
    shards = {k: v for k, v in run_files(tmp_path / "mp").items() if not k.endswith(".json")}
    assert shards == {k: v for k, v in run_files(out).items() if not k.endswith(".json")}


def test_existing_run_is_not_overwritten_by_accident(real_run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(real_run[0], target)  # a finished run (a copy: real_run is shared)
    before = run_files(target)
    inputs = [str(shared("warc", "whirlwind_cc2024", "whirlwind.warc.gz"))]
    with pytest.raises(OutputExists, match="--overwrite"):
        run_curate(inputs, str(target), RunConfig())
    assert run_files(target) == before  # refused before touching anything
    report = run_curate(inputs, str(target), RunConfig(), overwrite=True)
    assert report["kept"] == 1
    # nothing of the replaced run's shards, ledger or mix cells is left: the new manifests list
    # every Parquet file there (the mix's cells are a folder deeper: mix/phase=P/)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["rows"] == 1
    listed = {f["path"] for f in listed_files(target, manifest)}
    assert listed == {str(p.relative_to(target)) for p in target.rglob("*.parquet")}
    assert any(path.startswith("mix/") for path in listed)


def test_glob_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(InputError, match="matches no file"):
        run_curate([str(tmp_path / "nope-*.warc.gz")], str(tmp_path / "out"), RunConfig())


def _readers_job(workdir: Path) -> background.Job:
    """`edumix curate` of a.jsonl (text, html, a broken line) and b.parquet (text, empty text)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "a.jsonl").write_text(
        json.dumps({"text": "A plain text document about rivers.", "url": "https://r.example/1"})
        + "\n"
        + json.dumps(
            {
                "html": "<html><body><article><p>"
                + "Rivers carry sediment to the sea. " * 20
                + "</p></article></body></html>",
                "url": "https://r.example/2",
            }
        )
        + "\n"
        + "{broken\n"
    )
    pq.write_table(
        pa.table({"text": ["parquet doc one", ""], "url": ["https://p.example/1", "https://p.example/2"]}),
        workdir / "b.parquet",
    )
    config = {"filters": {"enabled": False}}  # tiny documents: readers under test
    return curate_job("pipeline-readers", [workdir / "a.jsonl", workdir / "b.parquet"], workdir, config)


def _ledger_job(cap: int, workdir: Path) -> background.Job:
    config = {"filters": {"enabled": False}, "output": {"rejected_sample_per_reason": cap}}
    return curate_job(f"pipeline-ledger-cap-{cap}", [SHARED / "warc" / "dolma_wget" / "*.warc.gz"], workdir, config)


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the runs of the tests below start in child processes when collection ends
    (they need nothing from the tests before them), on the core the suite leaves idle."""
    jobs = []
    for item in items:
        if item.originalname == "test_jsonl_and_parquet_inputs":
            jobs.append(_readers_job(workdir / "readers"))
        elif item.originalname == "test_ledger_sample_is_capped_but_counts_stay_exact" and (SHARED / "warc").is_dir():
            cap = item.callspec.params["cap"]
            jobs.append(_ledger_job(cap, workdir / f"cap{cap}"))
    return jobs


def test_jsonl_and_parquet_inputs(tmp_path):
    out, report, _ = finished_run(background.take("pipeline-readers") or _readers_job(tmp_path))
    assert report["input_records"] == 5 and report["kept"] == 3
    assert report["dropped"] == {"read": {"read_error": 1}, "extract": {"extract_empty": 1}}
    texts = read_dir(out / "shards").column("text").to_pylist()
    assert "parquet doc one" in texts and any("Rivers carry sediment" in t for t in texts)


def test_beam_options_never_select_prism():
    assert beam_options([]).get_all_options()["runner"] == "FnApiRunner"
    assert beam_options(["--runner=DirectRunner"]).get_all_options()["runner"] == "FnApiRunner"
    # any spelling pipelines.options accepts for DirectRunner (it would try to download Prism)
    assert beam_options(["--runner", "directrunner"]).get_all_options()["runner"] == "FnApiRunner"
    opts = beam_options(["--runner=DataflowRunner", "--project=p"]).get_all_options()
    assert opts["runner"] == "DataflowRunner" and opts["project"] == "p"


def test_drop_of_raw_keeps_the_record_identity():
    raw = RawRecord(
        url="u",
        crawl_date="d",
        source_file="f",
        source_offset=7,
        source_format="warc",
        digest="x",
        content_type="image/png",
        body_length=3,
    )
    drop = Drop.of_raw("extract", "not_html", raw, "Content-Type: image/png")
    row = drop.to_row()
    assert row["id"] == raw.id and row["source_offset"] == 7 and row["reason"] == "not_html"
    assert row["metadata"]["content_type"] == "image/png"


@pytest.mark.parametrize("cap", [0, 2])
def test_ledger_sample_is_capped_but_counts_stay_exact(tmp_path, cap):
    # `edumix curate` of dolma_wget/*.warc.gz, filters off, output.rejected_sample_per_reason: cap
    shared("warc", "dolma_wget")  # skips without the shared data
    out, report, _ = finished_run(background.take(f"pipeline-ledger-cap-{cap}") or _ledger_job(cap, tmp_path))
    assert report["dropped"] == {"read": {"non_response": 41}, "extract": {"not_html": 4}, "url_dedup": {"dup_url": 2}}
    ledger = sorted((out / "rejected").glob("*.parquet"))
    if cap == 0:
        assert not ledger
    else:
        names = ["extract.not_html.parquet", "read.non_response.parquet", "url_dedup.dup_url.parquet"]
        assert [p.name for p in ledger] == names
        ids = [pq.read_table(p).column("id").to_pylist() for p in ledger]
        assert all(len(i) == 2 and i == sorted(i) for i in ids)
        manifest = json.loads((out / "manifest.json").read_text())
        assert [f["rows"] for f in manifest["rejected"]] == [2, 2, 2]


def test_leftovers_of_a_crashed_run_are_refused_then_cleaned(tmp_path):
    out = tmp_path / "o"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "part-00000-of-00001.parquet.tmp-0123").write_bytes(b"half a file")
    inputs = [str(shared("warc", "whirlwind_cc2024", "whirlwind.warc.gz"))]
    with pytest.raises(OutputExists, match="tmp-0123"):
        run_curate(inputs, str(out), RunConfig())
    run_curate(inputs, str(out), RunConfig(), overwrite=True)
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["part-00000-of-00001.parquet"]
