"""Every common Parquet reader loads a real run's shards/ and mix/ as they are: pyarrow,
pandas, Hugging Face `datasets` (through the run's dataset card), polars, duckdb and
datatrove's ParquetReader. Plus: a run written before schema version 2 still reads, and a
newer one is refused in one line.

The run is conftest's `demo_mix_run` (curate on the demo crawl), shared with
tests/test_mix_pipeline.py, so this file adds no pipeline run of its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from edumix.core.hashing import file_sha256
from edumix.core.record import DOCUMENT_SCHEMA, KV_COLUMNS, MIX_SCHEMA, REJECTED_SCHEMA, Document, kv_dict, to_table
from edumix.core.run_dir import (
    CARD,
    MANIFEST,
    MIX_MANIFEST,
    SCHEMA_VERSION,
    RunDirError,
    read_manifest,
    read_mix_manifest,
)


@pytest.fixture(scope="module")
def run(demo_mix_run) -> Path:
    return demo_mix_run[0]


@pytest.fixture(scope="module")
def truth(run) -> dict:
    """What every reader must find, from the manifests and pyarrow's read of each listed file."""
    manifest = json.loads((run / MANIFEST).read_text())
    mix = json.loads((run / MIX_MANIFEST).read_text())
    shards = pa.concat_tables([pq.read_table(run / s["path"]) for s in manifest["shards"]])
    phases = {}
    for phase, info in mix["phases"].items():
        files = [f["path"] for c in info["cells"] for f in c["files"]]
        table = pa.concat_tables([pq.read_table(run / p) for p in files])
        phases[int(phase)] = uses(table.column("id").to_pylist(), table.column("repeat").to_pylist())
    return {
        "ids": sorted(shards.column("id").to_pylist()),
        "signals": signal_rows(shards.column("id").to_pylist(), shards.column("signals").to_pylist()),
        "phases": phases,
    }


# The run keeps duplicates (conftest's run has dedup off): rows are compared as sorted lists.
def uses(ids, repeats) -> list[tuple[str, int]]:
    """(id, repeat) of each row of a phase, sorted."""
    return sorted(zip(ids, (int(r) for r in repeats), strict=True))


def signal_rows(ids, signals) -> list[tuple[str, list]]:
    """(id, sorted signal items) of each row, sorted: the exact values, as kv_dict reads them."""
    return sorted((i, sorted(kv_dict(list(s)).items())) for i, s in zip(ids, signals, strict=True))


def by_phase(ids, phases, repeats) -> dict[int, list[tuple[str, int]]]:
    out: dict[int, tuple[list, list]] = {}
    for i, p, rep in zip(ids, phases, repeats, strict=True):
        out.setdefault(int(p), ([], []))[0].append(i)
        out[int(p)][1].append(rep)
    return {p: uses(*v) for p, v in out.items()}


# --- the layout -----------------------------------------------------------------------


def test_data_folders_hold_only_parquet_and_the_card_names_each_phase(run, truth):
    for folder in ("shards", "mix", "rejected"):
        files = [p for p in (run / folder).rglob("*") if p.is_file()]
        assert files and all(p.suffix == ".parquet" for p in files), folder
    # hive key `phase` only; the cell is in the file name, domain/edu_tier are columns
    assert {p.parent.name for p in (run / "mix").rglob("*.parquet")} == {f"phase={p}" for p in truth["phases"]}
    card = (run / CARD).read_text()
    configs = {c["config_name"]: c for c in yaml.safe_load(card.split("---")[1])["configs"]}
    assert list(configs) == ["shards"] + [f"phase{p}" for p in sorted(truth["phases"])] + ["rejected"]
    assert configs["phase1"]["data_files"] == [{"split": "train", "path": "mix/phase=1/*.parquet"}]
    assert configs["shards"]["default"] is True
    assert read_manifest(run)["schema_version"] == read_mix_manifest(run)["schema_version"] == SCHEMA_VERSION
    for path in (run / "mix").rglob("*.parquet"):
        assert pq.read_schema(path).remove_metadata() == MIX_SCHEMA  # no `phase` column in a file
    assert pq.read_schema(next((run / "shards").glob("*.parquet"))).remove_metadata() == DOCUMENT_SCHEMA


def test_key_value_columns_round_trip_exactly():
    doc = Document(
        id="a",
        url=None,
        crawl_date=None,
        source_file="f",
        source_offset=0,
        source_format="jsonl",
        text="t",
        metadata={"z": "last", "a": "é\u0000x", "": "empty key"},
        signals={"ratio": 0.1 + 0.2, "tiny": 5e-324, "big": 1.7976931348623157e308, "neg": -0.0},
        scores={},
    )
    for schema in (DOCUMENT_SCHEMA, MIX_SCHEMA, REJECTED_SCHEMA):
        row = {**doc.to_row(), "repeat": 2, "stage": "s", "reason": "r", "detail": ""}
        (back,) = to_table([row], schema).to_pylist()
        for col in KV_COLUMNS:
            assert kv_dict(back[col]) == getattr(doc, col)
            assert [item["key"] for item in back[col]] == sorted(getattr(doc, col))  # stored sorted by key


# --- one test per reader ----------------------------------------------------------------


def test_pyarrow(run, truth):
    shards = pq.read_table(run / "shards")
    assert sorted(shards.column("id").to_pylist()) == truth["ids"]
    mix = pq.read_table(run / "mix")  # hive: `phase` comes from the folder names
    assert by_phase(*(mix.column(c).to_pylist() for c in ("id", "phase", "repeat"))) == truth["phases"]
    assert signal_rows(shards.column("id").to_pylist(), shards.column("signals").to_pylist()) == truth["signals"]
    phase1 = pq.read_table(run / "mix" / "phase=1")
    assert uses(phase1.column("id").to_pylist(), phase1.column("repeat").to_pylist()) == truth["phases"][1]
    assert {"domain", "edu_tier", "repeat"} <= set(phase1.column_names) and "phase" not in phase1.column_names


def test_pandas(run, truth):
    import pandas as pd

    shards = pd.read_parquet(run / "shards")
    assert sorted(shards["id"]) == truth["ids"]
    assert signal_rows(shards["id"], shards["signals"]) == truth["signals"]
    mix = pd.read_parquet(run / "mix")
    assert by_phase(mix["id"], mix["phase"], mix["repeat"]) == truth["phases"]
    phase2 = pd.read_parquet(run / "mix" / "phase=2")
    assert set(phase2["edu_tier"]) == {"A"} and uses(phase2["id"], phase2["repeat"]) == truth["phases"][2]


def test_hugging_face_datasets(run, truth, tmp_path):
    import datasets

    cache = str(tmp_path / "hf")
    shards = datasets.load_dataset(str(run), split="train", cache_dir=cache)  # the card's default: shards
    assert sorted(shards["id"]) == truth["ids"]
    assert signal_rows(shards["id"], shards["signals"]) == truth["signals"]
    for phase, want in truth["phases"].items():
        ds = datasets.load_dataset(str(run), f"phase{phase}", split="train", cache_dir=cache)
        assert ds.features["repeat"] == datasets.Value("int32")
        assert uses(ds["id"], ds["repeat"]) == want  # exactly this phase, never merged
    # a phase folder on its own loads too
    phase1 = datasets.load_dataset(str(run / "mix" / "phase=1"), split="train", cache_dir=cache)
    assert uses(phase1["id"], phase1["repeat"]) == truth["phases"][1]


def test_polars(run, truth):

    shards = pl.read_parquet(run / "shards")
    assert sorted(shards["id"].to_list()) == truth["ids"]
    mix = pl.read_parquet(run / "mix")
    assert by_phase(mix["id"].to_list(), mix["phase"].to_list(), mix["repeat"].to_list()) == truth["phases"]
    assert signal_rows(shards["id"].to_list(), shards["signals"].to_list()) == truth["signals"]


def test_duckdb(run, truth):
    con = duckdb.connect()
    ids = con.sql(f"SELECT id FROM read_parquet('{run}/shards/*.parquet') ORDER BY id").fetchall()
    assert [i for (i,) in ids] == truth["ids"]
    rows = con.sql(f"SELECT id, phase, repeat FROM read_parquet('{run}/mix/**/*.parquet', hive_partitioning=true)")
    assert by_phase(*zip(*rows.fetchall(), strict=True)) == truth["phases"]
    shards = con.sql(f"SELECT id, signals FROM read_parquet('{run}/shards/*.parquet')").fetchall()
    assert signal_rows(*zip(*shards, strict=True)) == truth["signals"]
    # and queryable in SQL: a key/value list unnests into typed columns
    ((words,),) = con.sql(
        f"SELECT max(s.value) FROM (SELECT unnest(signals) AS s FROM read_parquet('{run}/shards/*.parquet'))"
        " WHERE s.key = 'gopher_quality.words'"
    ).fetchall()
    assert words == max(dict(items).get("gopher_quality.words", 0.0) for _, items in truth["signals"])


def test_datatrove_parquet_reader(run, truth):
    from datatrove.pipeline.readers import ParquetReader

    docs = list(ParquetReader(str(run / "shards"))())
    assert sorted(d.id for d in docs) == truth["ids"]
    assert signal_rows([d.id for d in docs], [d.metadata["signals"] for d in docs]) == truth["signals"]
    assert all(d.text and d.metadata["domain"] for d in docs)
    for phase, want in truth["phases"].items():
        docs = list(ParquetReader(str(run / "mix"), glob_pattern=f"phase={phase}/*.parquet")())
        assert uses([d.id for d in docs], [d.metadata["repeat"] for d in docs]) == want


# --- runs of other schema versions --------------------------------------------------------


def _v1_schema(schema: pa.Schema) -> pa.Schema:
    """The schema version-1 runs wrote: Arrow maps for the key/value columns."""
    maps = {"metadata": pa.map_(pa.string(), pa.string()), "signals": pa.map_(pa.string(), pa.float64())}
    maps["scores"] = maps["signals"]
    return pa.schema([pa.field(f.name, maps[f.name]) if f.name in maps else f for f in schema])


def _rewrite_v1(src: Path, dst: Path) -> dict:
    table = pq.read_table(src)
    rows = [{**r, **{c: [(i["key"], i["value"]) for i in r[c]] for c in KV_COLUMNS}} for r in table.to_pylist()]
    dst.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=_v1_schema(table.schema)), dst)
    return {"rows": len(rows), "bytes": dst.stat().st_size, "sha256": file_sha256(dst)}


def make_v1_run(run: Path, old: Path) -> Path:
    """The run as edumix wrote it before schema version 2: map columns, mix/manifest.json,
    mix/phase=P/domain=D/tier=T/ folders, no card, no schema_version."""
    manifest = json.loads((run / MANIFEST).read_text())
    mix = json.loads((run / MIX_MANIFEST).read_text())
    for entry in manifest["shards"] + manifest["rejected"]:
        entry.update(_rewrite_v1(run / entry["path"], old / entry["path"]))
    for phase, info in mix["phases"].items():
        for cell in info["cells"]:
            for i, f in enumerate(cell["files"]):
                rel = f"mix/phase={phase}/domain={cell['domain']}/tier={cell['tier']}/part-{i:05d}-of-{len(cell['files']):05d}.parquet"
                f.update({**_rewrite_v1(run / f["path"], old / rel), "path": rel})
    for doc in (manifest, mix):
        del doc["schema_version"]
    del manifest["card"]
    manifest["mix"] = "mix/manifest.json"
    (old / "mix" / "manifest.json").write_text(json.dumps(mix))
    (old / MANIFEST).write_text(json.dumps(manifest))
    shutil.copy(run / "report.json", old / "report.json")
    return old


def test_a_version_1_run_reads_as_before(run, tmp_path, tokenizer_path):
    """The trainer builds the same token store from the old layout, and the report and
    kv_dict read the old map columns."""
    from edumix.report.html import kept_languages, read_samples
    from edumix.trainer.data import ensure_tokenized, phase_source
    from edumix.trainer.tokenizer import TextTokenizer

    old = make_v1_run(run, tmp_path / "old")
    assert read_mix_manifest(old)["phases"].keys() == read_mix_manifest(run)["phases"].keys()
    tok = TextTokenizer(tokenizer_path)
    for phase in (1, 2):
        assert phase_source(old, phase).from_mix
        stores = [
            json.loads(
                (ensure_tokenized(r, phase, tok, tmp_path / f"tok{i}", progress=False) / "index.json").read_text()
            )
            for i, r in enumerate((run, old))
        ]
        assert [(c["name"], c["documents"], c["tokens"], c["stream_tokens"]) for c in stores[0]["cells"]] == [
            (c["name"], c["documents"], c["tokens"], c["stream_tokens"]) for c in stores[1]["cells"]
        ]
    assert kept_languages(str(old)) == kept_languages(str(run))
    assert read_samples(str(old)).keys() == read_samples(str(run)).keys()
    (new_row,) = pq.read_table(run / "shards").slice(0, 1).to_pylist()
    (old_row,) = pq.read_table(old / "shards").slice(0, 1).to_pylist()
    assert pq.read_schema(next((old / "shards").glob("*.parquet"))).field("metadata").type == pa.map_(
        pa.string(), pa.string()
    )
    for col in KV_COLUMNS:
        assert kv_dict(old_row[col]) == kv_dict(new_row[col])


def test_a_newer_schema_is_refused_in_one_line(run, tmp_path):
    newer = tmp_path / "newer"
    shutil.copytree(run, newer, ignore=shutil.ignore_patterns("tokens"))
    manifest = json.loads((newer / MANIFEST).read_text())
    (newer / MANIFEST).write_text(json.dumps({**manifest, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(RunDirError) as err:
        read_manifest(newer)
    message = str(err.value)
    assert "\n" not in message and f"schema_version {SCHEMA_VERSION + 1}" in message and "upgrade edumix" in message
    from edumix.trainer.data import phase_source

    with pytest.raises(RunDirError, match="upgrade edumix"):
        phase_source(newer, 1)
