"""The run report and manifest: exact accounting of every input record.

Counts come from the data itself (file stats, drop records, shard rows), not from
runner metrics, so retries and runner differences cannot skew them. The identity
`input_records == kept + sum(dropped)` is checked here and a run that breaks it fails.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from apache_beam.io.filesystems import FileSystems

from edumix import __version__

from .read import FileStat, InputFile
from .write import WrittenFile

REPORT, MANIFEST = "report.json", "manifest.json"


class AccountingError(RuntimeError):
    pass


def input_fingerprint(files: Iterable[InputFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\t{f.size}\n".encode())
    return h.hexdigest()[:16]


def build_report(
    stages: list[str],
    file_stats: Iterable[FileStat],
    drop_counts: Iterable[tuple[tuple[str, str], int]],
    shards: Iterable[WrittenFile],
    config_hash: str,
    fingerprint: str,
    stats: Iterable[tuple[tuple[str, str], float]] = (),
) -> dict[str, Any]:
    files = sorted(file_stats, key=lambda f: f.path)
    shards = sorted(shards, key=lambda s: s.path)
    dropped: dict[str, dict[str, int]] = defaultdict(dict)
    for (stage, reason), n in sorted(drop_counts):
        dropped[stage][reason] = n
    order = stages + sorted(set(dropped) - set(stages))
    input_records = sum(f.records for f in files)
    kept = sum(s.rows for s in shards)
    stage_rows, flowing = [], input_records
    for stage in order:
        lost = sum(dropped.get(stage, {}).values())
        rate = round(lost / flowing, 6) if flowing else 0.0
        stage_rows.append({"stage": stage, "in": flowing, "dropped": lost, "out": flowing - lost, "drop_rate": rate})
        flowing -= lost
    dropped_total = input_records - flowing
    return {
        "edumix_version": __version__,
        "config_hash": config_hash,
        "input_fingerprint": fingerprint,
        "input_files": len(files),
        "input_records": input_records,
        "kept": kept,
        "dropped_total": dropped_total,
        "accounting_ok": input_records == kept + dropped_total,
        "dropped": {s: dropped[s] for s in order if s in dropped},
        "stages": stage_rows,
        "shards": {"files": len(shards), "rows": kept, "bytes": sum(s.bytes for s in shards)},
        "stats": stage_stats(stats),
        "files": [asdict(f) for f in files],
    }


def stage_stats(stats: Iterable[tuple[tuple[str, str], float]]) -> dict[str, Any]:
    """((stage, "a/b"), value) sums -> {stage: {a: {b: value}}}, plus derived ratios."""
    out: dict[str, Any] = {}
    for (stage, name), value in sorted(stats):
        node = out.setdefault(stage, {})
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = round(value, 6) if isinstance(value, float) else value
    for node in out.values():
        precision = node.get("precision")
        if precision and precision.get("pairs"):
            pairs = precision["pairs"]
            precision["precision"] = round(precision.get("at_or_above_threshold", 0) / pairs, 6)
            precision["mean_true_jaccard"] = round(precision.pop("jaccard_sum") / pairs, 6)
    return out


def build_manifest(
    report: dict[str, Any],
    config: dict[str, Any],
    inputs: list[InputFile],
    shards: Iterable[WrittenFile],
    rejected: Iterable[WrittenFile],
) -> dict[str, Any]:
    return {
        "edumix_version": __version__,
        "config_hash": report["config_hash"],
        "config": config,
        "input_fingerprint": report["input_fingerprint"],
        "inputs": [asdict(f) for f in inputs],
        "rows": report["kept"],
        "shards": [asdict(s) for s in sorted(shards, key=lambda s: s.path)],
        "rejected": [asdict(s) for s in sorted(rejected, key=lambda s: s.path)],
        "report": REPORT,
    }


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_text_atomic(run_dir: str, rel_path: str, text: str) -> None:
    final = FileSystems.join(run_dir, rel_path)
    staging = f"{final}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(staging) as fh:
        fh.write(text.encode())
    FileSystems.rename([staging], [final])


def read_json(run_dir: str, rel_path: str) -> dict[str, Any]:
    with FileSystems.open(FileSystems.join(run_dir, rel_path)) as fh:
        return json.loads(fh.read())
