"""Nothing lost without a trace: damaged inputs are read around, every byte of every input
is attributed, text cannot crash a stage, and inputs/outputs fail clearly (issue 20).

Every repro file is generated here (edumix.evaluate.fuzz builds the seed files)."""

import gzip
import io
import json
import random
import zlib
from collections import Counter
from pathlib import Path

import background
import pyarrow.parquet as pq
import pytest
import zstandard
from beam_helpers import curate_job, finished_run
from shared_data import SHARED, shared
from typer.testing import CliRunner

from edumix.cli import app
from edumix.core.config import ReadConfig, RunConfig
from edumix.core.record import Drop, RawRecord, kv_dict
from edumix.evaluate.fuzz import arc_bytes, check_reader, jsonl_bytes, mutate, parquet_bytes, warc_bytes
from edumix.pipelines import read as read_module
from edumix.pipelines.accounting import AccountingError, accounting_problem, build_report
from edumix.pipelines.curate import run_curate
from edumix.pipelines.formats import ByteAccount, iter_records
from edumix.pipelines.formats.parquet_footer import row_group_spans
from edumix.pipelines.formats.text import REPAIRED, repair_text
from edumix.pipelines.read import FileStat, InputError, expand_inputs

SMALL_DOCS = RunConfig.model_validate({"filters": {"enabled": False}})  # tiny documents: readers under test


def kinds(items):
    return Counter(f"{i.stage}.{i.reason}" if isinstance(i, Drop) else i.kind for i in items)


def read_errors(items):
    return [i for i in items if isinstance(i, Drop) and i.reason == "read_error"]


def byte_range(drop):
    return int(drop.doc.metadata["byte_start"]), int(drop.doc.metadata["byte_end"])


def gzip_members(data: bytes) -> list[tuple[int, int]]:
    """[start, end) of each gzip member, found independently of the reader."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        out.append((pos, end))
        pos = end
    return out


# --- one curate run over the repro files of the run tests below (one Beam run, not four) ---


def flipped_at(size: int) -> int:
    """Where repro_run flips 16 bytes of its 34-record WARC: at 10% of the file."""
    return size // 10


def _repro_job(root: Path) -> background.Job:
    """`edumix curate` (filters off, as SMALL_DOCS) over: s.jsonl (LONE_SURROGATE),
    crawl.warc.gz (34 records, 16 bytes flipped at flipped_at()), the directory crawl/ (a WARC
    two levels down, a JSONL, and files no reader takes) and names/crawl[1].jsonl (beside
    crawl1.jsonl and only*star.jsonl)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "s.jsonl").write_bytes(LONE_SURROGATE)
    data = bytearray(warc_bytes(34))
    at = flipped_at(len(data))
    for i in range(16):
        data[at + i] ^= 0x55
    (root / "crawl.warc.gz").write_bytes(bytes(data))
    crawl = root / "crawl"
    (crawl / "2024" / "05").mkdir(parents=True)
    (crawl / ".cache").mkdir()
    (crawl / "2024" / "05" / "a.warc.gz").write_bytes(warc_bytes(6))
    (crawl / "b.jsonl").write_bytes(jsonl_bytes(3))
    (crawl / "README.txt").write_text("not a crawl file")
    (crawl / ".hidden.jsonl").write_bytes(jsonl_bytes(1))
    (crawl / ".cache" / "c.jsonl").write_bytes(jsonl_bytes(1))
    names = root / "names"
    names.mkdir()
    (names / "crawl[1].jsonl").write_bytes(jsonl_bytes(4))
    (names / "crawl1.jsonl").write_bytes(jsonl_bytes(9))  # what the glob `crawl[1].jsonl` would match
    (names / "only*star.jsonl").write_bytes(jsonl_bytes(2))
    inputs = [root / "s.jsonl", root / "crawl.warc.gz", f"{crawl}/", names / "crawl[1].jsonl"]
    return curate_job("resync-repro", inputs, root, SMALL_DOCS.model_dump(mode="json", exclude_defaults=True))


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the curate runs of repro_run and of the path list test start in child
    processes when collection ends (they need nothing from the tests before them), on the core
    the suite leaves idle."""
    jobs = []
    if any("repro_run" in item.fixturenames for item in items):
        jobs.append(_repro_job(workdir / "repro"))
    names = {item.originalname for item in items}
    if "test_a_common_crawl_path_list_expands_under_its_prefix" in names and (SHARED / "warc").is_dir():
        jobs.append(_path_list_job(workdir / "path-list"))
    return jobs


@pytest.fixture(scope="module")
def repro_run(tmp_path_factory):
    """(root, report) of _repro_job's run, its output in ROOT/run. Each test checks its own
    file's entry in the report."""
    job = background.take("resync-repro") or _repro_job(tmp_path_factory.mktemp("repro"))
    _, report, _ = finished_run(job)
    assert report["input_files"] == 5 and report["input_records"] == 2 + 34 + 9 + 4
    return Path(job.argv[job.argv.index("--output") + 1]).parent, report


def file_entry(report: dict, path: str) -> dict:
    (entry,) = [f for f in report["files"] if f["path"] == path]
    return entry


# --- 3. text that cannot crash a stage ------------------------------------------------------


def test_repair_text_replaces_lone_surrogates_nul_and_noncharacters():
    assert repair_text("a\ud800b\x00c\uffff\U0010fffe\ufdd0 é ok") == ("a\ufffdb\ufffdc\ufffd\ufffd\ufffd é ok", 5)
    assert repair_text("plain ascii") == ("plain ascii", 0)
    assert repair_text("\udfff\ud800") == ("\ufffd\ufffd", 2)  # a reversed pair is two lone halves


LONE_SURROGATE = (
    b'{"text": "Rivers carry sediment \\ud800 to the sea.\\u0000", "url": "https://s.example/\\udfff"}\n'
    b'{"text": "A second, clean document about deltas.", "url": "https://s.example/2"}\n'
)


def test_lone_surrogate_is_repaired_once_at_read():
    rec, clean = check_reader("s.jsonl", LONE_SURROGATE).items
    assert rec.text == "Rivers carry sediment \ufffd to the sea.\ufffd" and rec.url == "https://s.example/\ufffd"
    assert rec.metadata[REPAIRED] == "3" and REPAIRED not in clean.metadata
    rec.text.encode("utf-8")  # what exact dedup's key did not survive before


def test_lone_surrogate_jsonl_run_finishes(repro_run):
    """Was: rc 1, UnicodeEncodeError in 'exact_dedup/Key', nothing written."""
    root, report = repro_run
    path = str(root / "s.jsonl")
    assert report["accounting_ok"] and file_entry(report, path)["records"] == 2
    rows = [r for r in pq.read_table(root / "run" / "shards").to_pylist() if r["source_file"] == path]
    assert len(rows) == 2  # both kept
    repaired = [r for r in rows if "\ufffd" in r["text"]]
    assert len(repaired) == 1 and kv_dict(repaired[0]["signals"])[REPAIRED] == 3.0
    assert REPAIRED not in kv_dict(repaired[0]["metadata"])


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_surrogates_in_html_url_and_date_fields(compression):
    row = {"html": "<p>caf\udce9</p>", "url": "https://h.example/\ud83d", "date": "2024\x00"}
    data = (json.dumps(row) + "\n").encode()
    name = "h.jsonl"
    if compression == "gzip":
        data, name = gzip.compress(data), "h.jsonl.gz"
    elif compression == "zstd":
        data, name = zstandard.ZstdCompressor().compress(data), "h.jsonl.zst"
    (rec,) = check_reader(name, data).items
    assert rec.body == "<p>caf\ufffd</p>".encode() and rec.url.endswith("\ufffd") and rec.crawl_date == "2024\ufffd"
    assert rec.metadata[REPAIRED] == "3"


# --- 2. resync instead of giving up ---------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_invalid_utf8_on_line_501_of_1000_is_one_read_error(compression):
    """Was: 483 records counted, 517 valid lines silently gone, rc 0, accounting holds."""
    lines = jsonl_bytes(1000).split(b"\n")
    lines[500] = lines[500][:20] + b"\xff" + lines[500][21:]
    data = b"\n".join(lines)
    name = {None: "d.jsonl", "gzip": "d.jsonl.gz", "zstd": "d.jsonl.zst"}[compression]
    raw = {None: data, "gzip": gzip.compress(data), "zstd": zstandard.ZstdCompressor().compress(data)}[compression]
    out = check_reader(name, raw)
    assert kinds(out.items) == {"text": 999, "read.read_error": 1}
    (err,) = read_errors(out.items)
    assert err.doc.source_offset == 501 and "invalid UTF-8" in err.detail and "line 501" in err.detail
    assert [i.source_offset for i in out.items if isinstance(i, RawRecord)] == [n for n in range(1, 1001) if n != 501]
    if compression is None:  # plain: the read error is exactly the line's bytes
        start = sum(len(line) + 1 for line in lines[:500])
        assert byte_range(err) == (start, start + len(lines[500]) + 1)
        bad = len(lines[500]) + 1
        assert out.account.bytes == {"records": len(data) - bad, "read_errors": bad, "framing": 0}
    assert out.account.unattributed == 0


def test_jsonl_blank_lines_are_framing_and_long_lines_are_skipped():
    cfg = ReadConfig(max_record_bytes=10)  # lines over 80 bytes are not held
    data = b'{"text": "short"}\n\n   \n' + b'{"text": "' + b"x" * 200 + b'"}\n{"text": "after"}\n'
    out = check_reader("l.jsonl", data, cfg)
    assert kinds(out.items) == {"text": 2, "read.read_error": 1}
    (err,) = read_errors(out.items)
    assert "longer than 80 bytes" in err.detail and err.doc.source_offset == 4
    assert byte_range(err) == (23, 23 + 213)
    assert out.account.bytes == {"records": 18 + 18, "read_errors": 213, "framing": 1 + 4}


def test_flipped_bytes_in_a_per_record_gzip_warc_resync_at_the_next_member():
    """Was: 16 flipped bytes at 10% of a 34-record WARC gave 5 records and lost 29."""
    data = bytearray(warc_bytes(34))
    members = gzip_members(bytes(data))
    assert len(members) == 34
    at = len(data) // 10
    for i in range(16):
        data[at + i] ^= 0x55
    hit = next(m for m in members if m[0] <= at < m[1])
    out = check_reader("crawl.warc.gz", bytes(data))
    assert len(out.items) == 34 and len(read_errors(out.items)) == 1  # 33 records + the damaged one
    (err,) = read_errors(out.items)
    assert byte_range(err) == hit and err.doc.source_offset == hit[0] and "gzip" in err.detail
    assert out.account.bytes == {"records": len(data) - (hit[1] - hit[0]), "read_errors": hit[1] - hit[0], "framing": 0}
    offsets = [i.source_offset if isinstance(i, RawRecord) else i.doc.source_offset for i in out.items]
    assert offsets == [m[0] for m in members]  # every other record, at its member, as warcio reports it


def test_garbage_between_gzip_members_and_a_damaged_member_header():
    data = warc_bytes(10)
    members = gzip_members(data)
    s3, s5 = members[3][0], members[5][0]
    junk = b"\x00junk between members\x00"
    broken = data[:s3] + junk + data[s3 : s5 + 1] + b"\x00" + data[s5 + 2 :]
    out = check_reader("crawl.warc.gz", broken)
    assert len(out.items) - len(read_errors(out.items)) == 9  # member 5's magic is gone: only it is lost
    assert [byte_range(e)[1] - byte_range(e)[0] for e in read_errors(out.items)] == [
        len(junk),
        members[5][1] - members[5][0],
    ]
    assert out.account.unattributed == 0


def test_corrupt_header_in_a_plain_warc_resyncs_at_the_next_warc_line():
    data = warc_bytes(34, gzip=False)
    starts = [i for i in range(len(data)) if data.startswith(b"WARC/1.", i)]
    assert len(starts) == 34
    broken = data[: starts[5]] + b"XXXX" + data[starts[5] + 4 :]
    out = check_reader("crawl.warc", broken)
    assert len(out.items) == 34
    (err,) = read_errors(out.items)
    assert byte_range(err) == (starts[5], starts[6]) and "Unknown archive format" in err.detail


def test_a_warc_cut_short_keeps_every_record_before_the_cut():
    data = warc_bytes(34)
    members = gzip_members(data)
    cut = members[20][0] + 100
    out = check_reader("crawl.warc.gz", data[:cut])
    assert len(out.items) == 21 and len(read_errors(out.items)) == 1
    assert byte_range(read_errors(out.items)[0]) == (members[20][0], cut)
    assert "truncated" in read_errors(out.items)[0].detail


def test_corrupt_header_in_an_arc_file_resyncs_at_the_next_arc_header():
    data = arc_bytes(20)
    third = data.index(b"http://fuzz.example/3 ")
    fourth = data.index(b"http://fuzz.example/4 ")
    garbage = b"no ARC header line\n"
    broken = data[:third] + garbage + data[third + 30 :]  # the header line's first 30 bytes replaced
    out = check_reader("crawl.arc", broken)
    assert kinds(out.items) == {"read.non_response": 1, "html": 18, "read.read_error": 1}
    assert byte_range(read_errors(out.items)[0]) == (third, fourth - 30 + len(garbage))
    assert [i.url for i in out.items if isinstance(i, RawRecord)][3] == "http://fuzz.example/4"


def test_corrupt_parquet_row_group_is_one_read_error_for_its_rows():
    """Was: one read_error for the whole 200-row file, though pyarrow reads 150 rows."""
    data = bytearray(parquet_bytes(200, 50))
    meta = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    col = meta.row_group(1).column(0)
    for i in range(8):  # the page header of row group 1's text column
        data[col.data_page_offset + i] ^= 0xFF
    out = check_reader("p.parquet", bytes(data))
    assert kinds(out.items) == {"text": 150, "read.read_error": 1}
    (err,) = read_errors(out.items)
    assert err.doc.source_offset == 50 and "rows 50-99" in err.detail and "row group 1 of 4" in err.detail
    group = meta.row_group(1)
    chunks = [group.column(c) for c in range(group.num_columns)]  # each with a dictionary page first
    start = min(c.dictionary_page_offset for c in chunks)
    end = max(c.dictionary_page_offset + c.total_compressed_size for c in chunks)
    assert byte_range(err) == (start, end)
    assert [i.source_offset for i in out.items if isinstance(i, RawRecord)] == [*range(50), *range(100, 200)]
    assert out.account.bytes["read_errors"] == end - start and out.account.unattributed == 0


def test_parquet_footer_that_aborts_pyarrow_metadata_is_read_safely():
    """pyarrow's RowGroupMetaData.column() killed the process (SIGABRT, an uncaught C++
    exception) on this damaged footer; the reader takes row group spans from its own parse."""
    rng = random.Random(1)
    seed = parquet_bytes(200, 50)
    for _ in range(251):  # the 251st mutation of the fuzz run that found it
        data, _ = mutate(seed, rng)
    out = check_reader("abort.parquet", data)
    assert read_errors(out.items) and out.account.unattributed == 0


@pytest.mark.parametrize("options", [{}, {"use_dictionary": False, "compression": "none"}, {"compression": "zstd"}])
def test_row_group_spans_match_pyarrow(options):
    import pyarrow as pa

    table = pa.table({"text": ["x" * i for i in range(300)], "flag": [i % 2 == 0 for i in range(300)]})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=70, **options)
    meta = pq.ParquetFile(io.BytesIO(buf.getvalue())).metadata
    expected = []
    for g in range(meta.num_row_groups):
        chunks = [meta.row_group(g).column(c) for c in range(meta.num_columns)]
        starts = [min(c.data_page_offset, c.dictionary_page_offset or c.data_page_offset) for c in chunks]
        expected.append((min(starts), max(s + c.total_compressed_size for s, c in zip(starts, chunks))))
    assert row_group_spans(buf.getvalue()) == expected


def test_invalid_utf8_in_a_parquet_string_costs_only_that_value():
    """pyarrow does not check string columns; one bad value used to cost its row group."""
    data = bytearray(parquet_bytes(200, 50))
    meta = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    col = meta.row_group(0).column(0)
    at = data.index(b"delta", col.dictionary_page_offset or col.data_page_offset)  # a literal in a snappy page
    data[at] = 0xFF
    out = check_reader("u.parquet", bytes(data))
    assert kinds(out.items) == {"text": 200}
    repaired = [i for i in out.items if REPAIRED in i.metadata]
    assert repaired and all(i.metadata[REPAIRED] == str(i.text.count("\ufffd")) != "0" for i in repaired)


def test_corrupt_gzip_jsonl_keeps_the_lines_before_and_places_the_damage():
    data = jsonl_bytes(1000)
    packed = bytearray(gzip.compress(data, mtime=0))
    at = len(packed) // 2
    packed[at : at + 8] = bytes(b ^ 0xA5 for b in packed[at : at + 8])
    out = check_reader("d.jsonl.gz", bytes(packed))
    good = [i for i in out.items if isinstance(i, RawRecord)]
    assert 400 < len(good) < 1000 and [i.source_offset for i in good[:400]] == list(range(1, 401))
    first = read_errors(out.items)[0]
    assert abs(byte_range(first)[0] - at) < 2048  # where the damage is, not the file's end
    assert out.account.unattributed == 0 and out.account.bytes["read_errors"] > 0


# --- 1. bytes, not just records -------------------------------------------------------------


def test_every_byte_of_every_shared_crawl_file_is_attributed():
    files = sorted(p for p in shared("warc").rglob("*") if p.is_file())
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        out = check_reader(path.name, data)  # raises on an unattributed byte
        assert sum(out.account.bytes.values()) == len(data)
        if not read_errors(out.items):
            assert out.account.bytes["read_errors"] == 0


def test_report_attributes_bytes_per_file_and_fails_a_file_with_unattributed_bytes():
    account = ByteAccount(100)
    account.to(60, "records")
    drop = account.error(90, "f.jsonl", 7, "jsonl", "bad JSON", None, "line", 7, 7)
    account.to(100, "framing")
    good = FileStat.of("f.jsonl", 1, 1, account)
    report = build_report(["read"], [good], [(("read", "read_error"), 1)], [], "c", "f")
    (entry,) = report["files"]
    assert report["accounting_ok"] and report["input_bytes"] == 100 and report["unattributed_bytes"] == 0
    assert entry["bytes_records"] == 60 and entry["bytes_read_errors"] == 30 and entry["bytes_framing"] == 10
    assert entry["read_error_ranges"] == [{"bytes": [60, 90], "read_errors": 1, "detail": "bad JSON", "lines": [7, 7]}]
    assert drop.detail == "bytes 60-90, line 7: bad JSON"
    short = FileStat("g.warc", 1, 0, bytes=100, bytes_records=40)
    broken = build_report(["read"], [short], [(("read", "non_response"), 1)], [], "c", "f")
    assert not broken["accounting_ok"] and broken["unattributed_bytes"] == 60
    assert "g.warc (+60 bytes)" in accounting_problem(broken)


def test_adjacent_read_errors_share_one_range():
    lines = jsonl_bytes(20).split(b"\n")
    for i in (4, 5, 6, 12):
        lines[i] = b"{broken"
    out = check_reader("d.jsonl", b"\n".join(lines))
    assert [(r.first, r.last, r.read_errors) for r in out.account.ranges] == [(5, 7, 3), (13, 13, 1)]


def test_a_run_whose_reader_loses_bytes_fails(tmp_path, monkeypatch):
    """A reader that stops early without saying so used to pass; now the run's check fails."""
    src = tmp_path / "d.jsonl"
    src.write_bytes(jsonl_bytes(10))

    def lossy(fh, path, cfg, account):
        items = list(iter_records(fh, path, cfg, account))
        account.cursor -= 50  # as if the last 50 bytes were never read
        account.bytes["records"] -= 50
        return iter(items)

    monkeypatch.setattr(read_module, "iter_records", lossy)
    with pytest.raises(AccountingError):
        run_curate([str(src)], str(tmp_path / "out"), SMALL_DOCS)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert not report["accounting_ok"] and report["unattributed_bytes"] == 50
    assert report["input_records"] == report["kept"] + report["dropped_total"]  # the records still add up
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_run_report_lists_byte_attribution(repro_run):
    root, report = repro_run
    data = (root / "crawl.warc.gz").read_bytes()  # repro_run's: 16 bytes flipped at flipped_at()
    entry = file_entry(report, str(root / "crawl.warc.gz"))
    assert report["accounting_ok"] and entry["records"] == 34 and entry["read_errors"] == 1
    assert entry["bytes"] == len(data) == entry["bytes_records"] + entry["bytes_read_errors"]
    (rng,) = entry["read_error_ranges"]
    at = flipped_at(len(data))
    assert rng["bytes"][0] < at < rng["bytes"][1] and rng["read_errors"] == 1


# --- 4. inputs and outputs ------------------------------------------------------------------


def test_directory_input_expands_to_known_formats_recursively(repro_run):
    """Was: rc 0, '1 input records = 0 kept + 1 dropped', the WARC inside never read."""
    root, report = repro_run
    crawl = root / "crawl"  # repro_run's: 2024/05/a.warc.gz, b.jsonl, README.txt, hidden files
    files = expand_inputs([str(crawl)])
    assert [Path(f.path).relative_to(crawl).as_posix() for f in files] == ["2024/05/a.warc.gz", "b.jsonl"]
    # the run was given `crawl/`: exactly those two files read, every record of them
    read = {f["path"]: f["records"] for f in report["files"] if Path(f["path"]).is_relative_to(crawl)}
    assert read == {str(crawl / "2024" / "05" / "a.warc.gz"): 6, str(crawl / "b.jsonl"): 3}
    assert report["accounting_ok"]


def test_directory_without_crawl_files_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="directory holding no file edumix reads"):
        expand_inputs([str(tmp_path)])


def test_file_name_with_glob_characters_is_read_as_that_file(repro_run):
    root, report = repro_run
    names = root / "names"  # repro_run's: crawl[1].jsonl (4 lines), crawl1.jsonl (9), only*star.jsonl (2)
    files = expand_inputs([str(names / "crawl[1].jsonl"), str(names / "only*star.jsonl")])
    assert [Path(f.path).name for f in files] == ["crawl[1].jsonl", "only*star.jsonl"]
    assert [Path(f.path).name for f in expand_inputs([str(names / "crawl[0-9].jsonl")])] == ["crawl1.jsonl"]
    # the run was given `crawl[1].jsonl`: that file read, not crawl1.jsonl its glob would match
    read = {f["path"]: f["records"] for f in report["files"] if Path(f["path"]).parent == names}
    assert read == {str(names / "crawl[1].jsonl"): 4}


@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_unusable_output_path_is_one_line_and_exit_2(tmp_path, where):
    """Was: a 42-line traceback."""
    (tmp_path / "in.jsonl").write_bytes(jsonl_bytes(2))
    (tmp_path / "taken").write_text("a file")
    output = tmp_path / "taken" if where == "file" else tmp_path / "taken" / "run"
    result = CliRunner().invoke(app, ["curate", "-i", str(tmp_path / "in.jsonl"), "-o", str(output)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())  # one message (rich wraps it at the terminal's width)
    assert message.startswith("error: --output") and message.count("error:") == 1 and "Traceback" not in message
    assert "is a file, not a directory" in message
    assert (tmp_path / "taken").read_text() == "a file"


@pytest.mark.parametrize("url", ["s3://no-such-bucket/crawl.warc.gz", "foo://host/crawl.warc.gz"])
def test_an_input_no_filesystem_can_serve_is_one_line_naming_what_is(url):
    """Was: a 16-frame traceback from Beam's S3 filesystem."""
    with pytest.raises(InputError, match=r"cannot list it \(.+\)\. Supported: local paths, gs://"):
        expand_inputs([url])


def _path_list_job(workdir: Path) -> background.Job:
    """`edumix curate` of warc.paths.gz (Common Crawl's layout: one path a line, blank lines
    and a leading / allowed) with read.paths_prefix: the shared warc folder."""
    workdir.mkdir(parents=True, exist_ok=True)
    listing = workdir / "warc.paths.gz"
    listing.write_bytes(gzip.compress(b"dolma_wget/sample-0000.warc.gz\n/dolma_wget/sample-0001.warc.gz\n\n"))
    return curate_job("resync-path-list", [listing], workdir, {"read": {"paths_prefix": str(SHARED / "warc")}})


def test_a_common_crawl_path_list_expands_under_its_prefix(tmp_path):
    """warc.paths.gz as Common Crawl publishes it: one path a line, under read.paths_prefix."""
    root = shared("warc", "dolma_wget").parent
    job = background.take("resync-path-list") or _path_list_job(tmp_path)
    listing = Path(job.argv[job.argv.index("--input") + 1])
    files = expand_inputs([str(listing)], str(root))
    assert [f.path for f in files] == [str(root / "dolma_wget" / f"sample-000{i}.warc.gz") for i in (0, 1)]
    assert all(f.size > 0 for f in files)
    _, report, _ = finished_run(job)  # the run of the same listing, prefix `root`
    assert report["accounting_ok"] and report["input_files"] == 2 and report["unattributed_bytes"] == 0
    (tmp_path / "bad.paths").write_text("dolma_wget/sample-0000.warc.gz\ndolma_wget/nope.warc.gz\n")
    with pytest.raises(InputError, match=r"bad\.paths:2: .*matches no file .*paths_prefix"):
        expand_inputs([str(tmp_path / "bad.paths")], str(root))
