"""The run directory contract: every file name edumix writes into a run, and how to read them.

    RUN/manifest.json           written last: its presence marks a finished run
    RUN/report.json             accounting, per-stage numbers, the mix summary
    RUN/report.html             `edumix report`
    RUN/shards/part-NNNNN-of-MMMMM.parquet
    RUN/rejected/STAGE.REASON.parquet
    RUN/mix/manifest.json       the trainer's entry point to each phase
    RUN/mix/phase=P/domain=D/tier=T/part-NNNNN-of-MMMMM.parquet
    RUN/tokens/...              the trainer's token stores

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
MANIFEST = "manifest.json"
REPORT_HTML = "report.html"
SHARDS_DIR = "shards"
REJECTED_DIR = "rejected"
MIX_DIR = "mix"
MIX_MANIFEST = f"{MIX_DIR}/manifest.json"
TOKENS_DIR = "tokens"
SHARDS_GLOB = f"{SHARDS_DIR}/*.parquet"
REJECTED_GLOB = f"{REJECTED_DIR}/*.parquet"
# What `curate --overwrite` removes: only files edumix writes (staging files included).
RUN_OUTPUTS = (f"{SHARDS_DIR}/*", f"{REJECTED_DIR}/*", f"{MIX_DIR}/*", f"{REPORT}*", f"{MANIFEST}*")


class RunDirError(FileNotFoundError):
    """A directory that is not (or not yet) a finished edumix run."""


def shard_path(index: int, total: int) -> str:
    return f"{SHARDS_DIR}/part-{index:05d}-of-{total:05d}.parquet"


def rejected_path(stage: str, reason: str) -> str:
    """Rule names like `gopher_quality:gopher_short_doc` become portable file names."""
    return f"{REJECTED_DIR}/{stage}.{re.sub(r'[^A-Za-z0-9_.-]', '-', reason)}.parquet"


def mix_cell_path(phase: int, domain: str, tier: str, index: int, parts: int) -> str:
    return f"{MIX_DIR}/phase={phase}/domain={domain}/tier={tier}/part-{index:05d}-of-{parts:05d}.parquet"


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


def read_manifest(run_dir: str | os.PathLike) -> dict[str, Any]:
    """manifest.json of a finished run; RunDirError for a missing or unfinished run."""
    if not is_remote(str(run_dir)):
        run = Path(run_dir)
        if not run.is_dir():
            raise RunDirError(f"run directory not found: {run}")
        if not (run / MANIFEST).is_file():
            raise RunDirError(f"not a run directory (no {MANIFEST}): {run}")
    return read_json(run_dir, MANIFEST)


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


def read_mix_manifest(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """mix/manifest.json, or None for a run written without a mix."""
    if not is_remote(str(run_dir)) and not (Path(run_dir) / MIX_MANIFEST).is_file():
        return None
    return read_json(run_dir, MIX_MANIFEST)
