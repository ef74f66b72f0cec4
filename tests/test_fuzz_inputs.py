"""A short fuzz of the readers (the long one: benchmarks/fuzz_inputs.py): byte flips,
truncations and inserted garbage in generated JSONL/Parquet/WARC/ARC files and in the
shared crawl samples. Every read must finish and attribute every byte; a curate run over
damaged files must finish with its accounting intact."""

import io
import random

import pyarrow.parquet as pq
import pytest
from shared_data import shared

from edumix.core.config import RunConfig
from edumix.evaluate.fuzz import check_reader, fuzz, generated_seeds, mutate, shared_seeds
from edumix.pipelines.curate import run_curate

TRIES = 1500  # about 5 s on one core


def test_fuzzed_inputs_never_crash_a_reader_and_every_byte_is_attributed():
    shared("warc")  # skip without the shared crawl samples
    seeds = {**generated_seeds(0), **shared_seeds()}
    assert len(seeds) > 25
    counts = fuzz(seeds, TRIES, seed=20)
    assert counts.tried == TRIES and set(counts.by_seed) == set(seeds)
    assert counts.crashes == 0, "\n".join(counts.failures[:10])
    assert counts.unattributed_bytes == 0
    assert counts.read_errors > 0 and counts.bytes["read_errors"] > 0  # the damage is found
    # How much a file keeps depends on where the damage falls (a gzip or zstd stream, a
    # Parquet footer: all of it); local damage is checked below.


def _local_flips(data: bytes, rng: random.Random, end: int) -> bytes:
    """1-16 flipped bytes within 64 bytes, somewhere in [4, end)."""
    out = bytearray(data)
    at = rng.randrange(4, end - 64)
    for _ in range(rng.randint(1, 16)):
        out[at + rng.randrange(64)] ^= rng.randint(1, 255)
    return bytes(out)


def _parquet_data_end(data: bytes) -> int:
    """Where the last row group's column chunks end (the footer follows)."""
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    group = meta.row_group(meta.num_row_groups - 1)
    chunks = [group.column(c) for c in range(group.num_columns)]
    return max(
        min(c.data_page_offset, c.dictionary_page_offset or c.data_page_offset) + c.total_compressed_size
        for c in chunks
    )


# Records a file may lose to 64 damaged bytes: the line(s), record(s) or row group(s) they touch.
LOCAL_LOSS = {"gen.jsonl": 2, "gen.warc.gz": 2, "gen.warc": 2, "gen.arc": 2, "gen.parquet": 100}


@pytest.mark.parametrize("name", sorted(LOCAL_LOSS))
def test_local_damage_costs_only_the_records_it_touches(name):
    data = generated_seeds(0)[name]
    whole = check_reader(name, data).read
    end = _parquet_data_end(data) if name.endswith(".parquet") else len(data)
    rng = random.Random(5)
    lost = [whole - check_reader(name, _local_flips(data, rng, end)).read for _ in range(40)]
    assert max(lost) <= LOCAL_LOSS[name], lost


def test_mutate_is_deterministic_and_damages():
    data = generated_seeds(0)["gen.jsonl"]
    first = [mutate(data, random.Random(s)) for s in range(20)]
    assert first == [mutate(data, random.Random(s)) for s in range(20)]
    assert all(out != data for out, _ in first)


@pytest.mark.slow  # a whole curate run over 8 files: about 35 s
def test_a_run_over_damaged_files_finishes_with_accounting_intact(tmp_path):
    seeds = generated_seeds(1)
    seeds["sample-0001.warc.gz"] = shared("warc", "dolma_wget", "sample-0001.warc.gz").read_bytes()
    rng = random.Random(7)
    inputs = []
    for name, data in sorted(seeds.items()):
        damaged, _ = mutate(data, rng)
        check_reader(name, damaged)
        path = tmp_path / "in" / f"damaged-{name}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(damaged)
        inputs.append(str(path))
    cfg = RunConfig.model_validate({"filters": {"enabled": False}})
    report = run_curate([str(tmp_path / "in")], str(tmp_path / "out"), cfg)
    assert report["accounting_ok"] and report["unattributed_bytes"] == 0
    assert report["input_files"] == len(inputs) and report["input_bytes"] == sum(
        len(open(p, "rb").read()) for p in inputs
    )
    for f in report["files"]:
        assert f["bytes"] == f["bytes_records"] + f["bytes_read_errors"] + f["bytes_framing"]
    assert (tmp_path / "out" / "manifest.json").is_file()
