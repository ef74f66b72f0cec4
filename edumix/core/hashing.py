"""Every digest edumix puts into ids, manifests and checkpoints, in one place: a lineage
key computed two ways would silently stop matching."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel


class SizedFile(Protocol):
    path: str
    size: int


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def make_doc_id(url: str | None, digest: str) -> str:
    """Stable id from the URL and the payload digest: same page, same id, on any worker."""
    return hashlib.sha256(f"{url or ''}\n{digest}".encode()).hexdigest()[:32]


def config_digest(config: BaseModel) -> str:
    """16 hex chars of the sha256 of the config's canonical JSON: the lineage key that
    manifests and checkpoints carry."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def input_fingerprint(files: Iterable[SizedFile]) -> str:
    """The inputs as listed (path and size, in path order): same files, same fingerprint."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\t{f.size}\n".encode())
    return h.hexdigest()[:16]


def recipe_hash(config_hash: str, input_fingerprint: str, token_label: str) -> str:
    """What the trainer carries into its checkpoints: same recipe, same mix shards."""
    return hashlib.sha256(f"{config_hash}\n{input_fingerprint}\n{token_label}".encode()).hexdigest()[:16]
