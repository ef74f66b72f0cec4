"""A curate run directory as the trainer sees it: its manifest and the shards it lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_run_manifest(run_dir: str | Path) -> dict[str, Any]:
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"run directory not found: {run}")
    manifest = run / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"not a run directory (no manifest.json): {run}")
    return json.loads(manifest.read_text())


def shard_entries(run_dir: str | Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's shards ({path, sha256, ...}, sorted by path: the order fixes every
    result built from them), each checked to exist."""
    run = Path(run_dir)
    shards = sorted(manifest.get("shards", []), key=lambda s: s["path"])
    if not shards:
        raise FileNotFoundError(f"{run}: the manifest lists no shards")
    missing = [s["path"] for s in shards if not (run / s["path"]).is_file()]
    if missing:
        raise FileNotFoundError(f"{run}: manifest lists missing shard(s): {', '.join(missing[:3])}")
    return shards
