"""The run directory contract: every file name edumix writes into a run, and how to read them.

    RUN/manifest.json           written last: its presence marks a finished run
    RUN/report.json             accounting, per-stage numbers, the mix summary
    RUN/timing.json             per-stage wall and CPU seconds (local runs; differs run to run,
                                so it is in no manifest and outside the byte-identical files)
    RUN/report.html             `edumix report`
    RUN/mix_manifest.json       the trainer's entry point to each phase
    RUN/README.md               dataset card: Hugging Face `configs` (shards, phase1, phase2, ...)
    RUN/shards/part-NNNNN-of-MMMMM.parquet
    RUN/rejected/STAGE.REASON.parquet
    RUN/mix/phase=P/DOMAIN.TIER.part-NNNNN-of-MMMMM.parquet
    RUN/tokens/...              the trainer's token stores

Only Parquet lives under shards/, rejected/ and mix/, so pyarrow, pandas, polars and duckdb
read each folder as a dataset. mix/ is hive-partitioned by `phase` alone, a key no file holds
as a column; domain and edu_tier are columns. The card sits at the run root because
`datasets.load_dataset(RUN, "phase1")` reads README.md only there.

Schema versions (`schema_version` in manifest.json and mix_manifest.json; absent = 1):
  1  metadata/signals/scores as Arrow maps; mix/manifest.json; mix/phase=P/domain=D/tier=T/
  2  those columns as {key, value} lists (edumix.core.record.kv_dict); the layout above
edumix reads both (a manifest names its own mix manifest) and refuses newer ones in one line.

Writers (the pipeline) and readers (report, trainer, annotate) name files only through this
module. Local paths use plain file calls; `gs://` and other object stores go through Beam's
FileSystems, imported only then, so the trainer never imports Beam.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPORT = "report.json"
TIMING = "timing.json"
MANIFEST = "manifest.json"
REPORT_HTML = "report.html"
SHARDS_DIR = "shards"
REJECTED_DIR = "rejected"
MIX_DIR = "mix"
MIX_MANIFEST = "mix_manifest.json"
MIX_MANIFEST_V1 = f"{MIX_DIR}/manifest.json"  # schema version 1, read only
CARD = "README.md"
TOKENS_DIR = "tokens"
SHARDS_GLOB = f"{SHARDS_DIR}/*.parquet"
REJECTED_GLOB = f"{REJECTED_DIR}/*.parquet"
SCHEMA_VERSION = 2
# What `curate --overwrite` removes: only files edumix writes (staging files included). Beam's
# `*` stops at a `/`: the mix's cells are a folder deeper (mix/phase=P/...), hence `**`.
RUN_OUTPUTS = (
    f"{SHARDS_DIR}/*",
    f"{REJECTED_DIR}/*",
    f"{MIX_DIR}/**",
    ".progress.json*",  # edumix.core.progress.PROGRESS_FILE, left behind by a killed run
    f"{REPORT}*",
    f"{TIMING}*",
    f"{MANIFEST}*",
    f"{MIX_MANIFEST}*",
    f"{CARD}*",
)


class RunDirError(FileNotFoundError):
    """A directory that is not (or not yet) a finished edumix run."""


def shard_path(index: int, total: int) -> str:
    return f"{SHARDS_DIR}/part-{index:05d}-of-{total:05d}.parquet"


def rejected_path(stage: str, reason: str) -> str:
    """Rule names like `gopher_quality:gopher_short_doc` become portable file names."""
    return f"{REJECTED_DIR}/{stage}.{re.sub(r'[^A-Za-z0-9_.-]', '-', reason)}.parquet"


def _portable(name: object) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(name))


def mix_phase_glob(phase: int | str) -> str:
    return f"{MIX_DIR}/phase={phase}/*.parquet"


def mix_cell_path(phase: int, domain: str, tier: str, index: int, parts: int) -> str:
    """The cell is in the name for people; readers take domain and edu_tier from the columns."""
    return f"{MIX_DIR}/phase={phase}/{_portable(domain)}.{_portable(tier)}.part-{index:05d}-of-{parts:05d}.parquet"


def is_remote(path: str) -> bool:
    return "://" in str(path)


def _fs():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def join(run_dir: str | os.PathLike, rel_path: str) -> str:
    run_dir = str(run_dir)
    return _fs().join(run_dir, rel_path) if is_remote(run_dir) else os.path.join(run_dir, rel_path)


def match(run_dir: str | os.PathLike, rel_glob: str) -> list[str]:
    """Sorted paths matching RUN/rel_glob; [] when none (or the store cannot be listed)."""
    pattern = join(run_dir, rel_glob)
    if not is_remote(pattern):
        import glob

        return sorted(glob.glob(pattern))
    try:
        return sorted(m.path for r in _fs().match([pattern]) for m in r.metadata_list)
    except Exception:  # noqa: BLE001 - Beam raises BeamIOError or ValueError by filesystem
        return []


@contextmanager
def open_parquet(path: str) -> Iterator[Any]:
    """A pyarrow ParquetFile over a local or object-store path."""
    import pyarrow.parquet as pq

    if not is_remote(path):
        yield pq.ParquetFile(path)
        return
    from apache_beam.io.filesystem import CompressionTypes

    with _fs().open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        yield pq.ParquetFile(fh)


def to_json(obj: Any) -> str:
    """The one JSON spelling of every run file: sorted keys, so reruns are byte-identical."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_json(run_dir: str | os.PathLike, rel_path: str) -> dict[str, Any]:
    path = join(run_dir, rel_path)
    if not is_remote(path):
        return json.loads(Path(path).read_text(encoding="utf-8"))
    with _fs().open(path) as fh:
        return json.loads(fh.read())


def write_text_atomic(run_dir: str | os.PathLike, rel_path: str, text: str) -> None:
    """Write a staging file beside the final name, then rename: readers never see half a file."""
    final = join(run_dir, rel_path)
    staging = f"{final}.tmp-{uuid.uuid4().hex}"
    if not is_remote(final):
        os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
        with open(staging, "wb") as fh:
            fh.write(text.encode())
        os.replace(staging, final)
        return
    with _fs().create(staging) as fh:
        fh.write(text.encode())
    _fs().rename([staging], [final])


def check_schema_version(where: str, manifest: dict[str, Any]) -> int:
    """The manifest's schema version (absent: 1); a newer one than this edumix reads is a
    RunDirError of one line, not a KeyError deep in a reader."""
    version = manifest.get("schema_version", 1)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise RunDirError(
            f"{where}: schema_version {version!r} is not one this edumix reads (1 to {SCHEMA_VERSION}); "
            "upgrade edumix to read this run"
        )
    return version


def read_manifest(run_dir: str | os.PathLike) -> dict[str, Any]:
    """manifest.json of a finished run; RunDirError for a missing or unfinished run, or one
    of a schema version this edumix does not read."""
    if not is_remote(str(run_dir)):
        run = Path(run_dir)
        if not run.is_dir():
            raise RunDirError(f"run directory not found: {run}")
        if not (run / MANIFEST).is_file():
            raise RunDirError(f"not a run directory (no {MANIFEST}): {run}")
    manifest = read_json(run_dir, MANIFEST)
    check_schema_version(join(run_dir, MANIFEST), manifest)
    return manifest


def shard_entries(run_dir: str | os.PathLike, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's shards ({path, sha256, ...}, sorted by path: the order fixes every
    result built from them), each checked to exist."""
    run = Path(run_dir)
    shards = sorted(manifest.get("shards", []), key=lambda s: s["path"])
    if not shards:
        raise RunDirError(f"{run}: the manifest lists no shards")
    missing = [s["path"] for s in shards if not (run / s["path"]).is_file()]
    if missing:
        raise RunDirError(f"{run}: manifest lists missing shard(s): {', '.join(missing[:3])}")
    return shards


def shard_files(run_dir: str | os.PathLike) -> list[Path]:
    """The finished run's shard files, in manifest (path) order."""
    return [Path(run_dir) / s["path"] for s in shard_entries(run_dir, read_manifest(run_dir))]


def mix_manifest_path(run_dir: str | os.PathLike, manifest: dict[str, Any] | None = None) -> str | None:
    """Where the run's mix manifest is (relative), as its manifest.json names it; None for a
    run written without a mix. Version-1 runs kept it in mix/manifest.json."""
    manifest = read_manifest(run_dir) if manifest is None else manifest
    if "mix" in manifest or check_schema_version(MANIFEST, manifest) > 1:
        return manifest.get("mix")
    local = not is_remote(str(run_dir))
    return MIX_MANIFEST_V1 if local and (Path(run_dir) / MIX_MANIFEST_V1).is_file() else None


def read_mix_manifest(run_dir: str | os.PathLike, manifest: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The mix manifest (mix_manifest.json; mix/manifest.json in version-1 runs), or None for a
    run written without a mix."""
    rel = mix_manifest_path(run_dir, manifest)
    if rel is None:
        return None
    if not is_remote(str(run_dir)) and not (Path(run_dir) / rel).is_file():
        raise RunDirError(f"{run_dir}: the manifest names {rel}, which is missing")
    mix = read_json(run_dir, rel)
    check_schema_version(join(run_dir, rel), mix)
    return mix


def dataset_card(phases: list[str], shards: bool = True, rejected: bool = True) -> str:
    """README.md for the run root: one Hugging Face `configs` entry per folder of one schema
    (shards, each phase of the mix, the ledger), so `load_dataset(RUN, "phase1")` reads
    exactly phase 1 and never merges phases. Only names go in: reruns write the same bytes."""
    configs = [("shards", SHARDS_GLOB)] if shards else []
    configs += [(f"phase{p}", mix_phase_glob(p)) for p in phases]
    if rejected:
        configs.append(("rejected", REJECTED_GLOB))
    yaml = ["---", "configs:" if configs else "configs: []"]
    for i, (name, glob) in enumerate(configs):
        yaml += [f"- config_name: {name}", "  data_files:", "  - split: train", f'    path: "{glob}"']
        if i == 0:
            yaml.append("  default: true")
    yaml.append("---")
    loads = "\n".join(f'load_dataset("RUN", "{name}")  # {glob}' for name, glob in configs)
    return (
        "\n".join(yaml)
        + f"""

# edumix run

Curated by edumix (schema version {SCHEMA_VERSION}). `shards` holds every kept document; `phaseP`
the documents phase P of the data mix uses, each with `repeat` (how many times the phase uses
it); `rejected` a sample of the dropped documents with `stage`, `reason` and `detail`.
`manifest.json` and `{MIX_MANIFEST}` list every file with its rows and sha256.

```python
from datasets import load_dataset
{loads}
```

`metadata`, `signals` and `scores` are lists of {{key, value}} items sorted by key
(`{{item["key"]: item["value"] for item in row["signals"]}}`). `{MIX_DIR}/` is hive-partitioned
by `phase` only: `pandas.read_parquet("RUN/{MIX_DIR}")` adds a `phase` column.
"""
    )
