"""Memoised per-document stages: what makes `curate --cache DIR` resumable and incremental.

Every one-document stage (extract, langid, quality, pii, classify) is a pure function of
its input document, its config section and the code and models that run it. So the cache
stores each stage's output under the sha256 of exactly those: a re-run after a crash, or
with only later settings changed (mix targets, tier thresholds), finds every document a
finished stage already saw and skips the work, while anything that did change upstream
changes the key and is recomputed. The global stages (dedup, mix, writes) always re-run,
so the output is byte-identical to a run from scratch (tests/test_resume.py).

Why per document and not per input file: the per-document stages after the global dedups
see documents from every file at once, and a file-level result cannot exist before the
global stages have run. A key over the content is also safe where a key over a file name
is not: nothing stale can come back.

Storage: one SQLite file per stage (WAL: several worker processes write, committed once
per bundle, so a SIGKILL loses at most the bundles in flight). Values are zlib'd pickles of
our own records; the cache holds text before PII scrubbing, like the inputs do, so it
belongs next to the inputs, not in the run directory that is shared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import pickle
import sqlite3
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import BaseModel

from edumix.core.hashing import file_sha256

MISS = object()
NAMESPACE = "edumix.memo"
# The counters (Beam metrics, summed over workers): `<stage>.reused` / `<stage>.computed`,
# and per input file `file_reused:<path>` / `file_computed:<path>` from the first stage.
REUSED, COMPUTED = "reused", "computed"
FILE_REUSED, FILE_COMPUTED = "file_reused:", "file_computed:"

# Results are committed every FLUSH_EVERY documents or FLUSH_SECONDS, whichever comes first.
FLUSH_EVERY = 32
FLUSH_SECONDS = 5.0

# Libraries whose version changes what a stage outputs.
_LIBRARIES = (
    "trafilatura",
    "lxml",
    "charset-normalizer",
    "fasttext-numpy2-wheel",
    "fasttext-wheel",
    "fasttext",
    "datatrove",
    "spacy",
    "presidio-analyzer",
    "presidio-anonymizer",
    "phonenumbers",
    "numpy",
    "tokenizers",
)


def code_fingerprint() -> str:
    """sha256 over every file of the installed edumix (code, shipped models, word lists)
    and the versions of the libraries that shape the outputs: a new release, a retrained
    model or an edited rule invalidates the cache by itself."""
    import edumix

    h = hashlib.sha256()
    roots = sorted({Path(p).resolve() for mod in _edumix_packages() for p in mod.__path__})
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(f"{path.relative_to(root.parent)}\n".encode())
                h.update(bytes.fromhex(file_sha256(path)))
    h.update(edumix.__version__.encode())
    for name in _LIBRARIES:
        try:
            h.update(f"{name}={importlib.metadata.version(name)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return h.hexdigest()


def _edumix_packages():
    import importlib

    names = ("edumix", "edumix.filters", "edumix.classifiers", "edumix.pipelines")
    return [importlib.import_module(n) for n in names]


def stage_key(stage: str, section: BaseModel, code: str, files: Iterable[str | None] = ()) -> str:
    """The key of one stage's results: its name, its config section, the code fingerprint
    and the content of any model file the config names (a user's own model)."""
    h = hashlib.sha256(f"{stage}\n{code}\n".encode())
    h.update(section.model_dump_json().encode())
    for path in files:
        if path:
            h.update(bytes.fromhex(file_sha256(path)))
    return h.hexdigest()


def content_key(stage_key_: str, item: Any) -> bytes:
    """sha256 of the stage key and a canonical encoding of the item (a record, with its
    dicts, bytes and floats): equal content, equal key, in any worker process."""
    h = hashlib.sha256(stage_key_.encode())
    _feed(h, item)
    return h.digest()


def _feed(h, obj: Any) -> None:
    if obj is None:
        h.update(b"N")
    elif isinstance(obj, bool):
        h.update(b"T" if obj else b"F")
    elif isinstance(obj, int):
        h.update(b"i" + str(obj).encode() + b";")
    elif isinstance(obj, float):
        h.update(b"f" + struct.pack("<d", obj))
    elif isinstance(obj, str):
        b = obj.encode("utf-8", "surrogatepass")
        h.update(b"s" + str(len(b)).encode() + b":" + b)
    elif isinstance(obj, bytes | bytearray):
        h.update(b"b" + str(len(obj)).encode() + b":" + bytes(obj))
    elif dataclasses.is_dataclass(obj):
        h.update(b"D" + type(obj).__name__.encode() + b"(")
        for f in dataclasses.fields(obj):
            h.update(f.name.encode() + b"=")
            _feed(h, getattr(obj, f.name))
        h.update(b")")
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=str):
            _feed(h, k)
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, list | tuple):
        h.update(b"[")
        for x in obj:
            _feed(h, x)
        h.update(b"]")
    else:
        raise TypeError(f"no canonical encoding for {type(obj).__name__}")


@dataclass(frozen=True)
class MemoPlan:
    """Where the cache is and each memoised stage's key (computed once, by the launcher)."""

    directory: str
    keys: dict[str, str]

    def stage(self, name: str, first: bool = False) -> StageMemo | None:
        key = self.keys.get(name)
        return None if key is None else StageMemo(self.directory, name, key, count_files=first)


class StageMemo:
    """One stage's cache in one worker: `lookup` before the work, `store` after it, `flush`
    at the end of each bundle. Pickled into the DoFn; the database opens in the worker."""

    def __init__(self, directory: str, stage: str, key: str, count_files: bool = False):
        self.directory = directory
        self.stage = stage
        self.key = key
        self.count_files = count_files
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[bytes, bytes]] = []
        self._flushed_at = time.monotonic()
        self._reused = Metrics.counter(NAMESPACE, f"{stage}.{REUSED}")
        self._computed = Metrics.counter(NAMESPACE, f"{stage}.{COMPUTED}")

    def __getstate__(self):
        fresh = {"_db": None, "_pending": [], "_flushed_at": 0.0}
        return {k: v for k, v in self.__dict__.items() if k not in fresh} | fresh

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            os.makedirs(self.directory, exist_ok=True)
            db = sqlite3.connect(os.path.join(self.directory, f"{self.stage}.sqlite"), timeout=120)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS memo (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
            db.commit()
            self._db = db
        return self._db

    def lookup(self, item: Any) -> tuple[bytes, Any]:
        """(key, the stored output) or (key, MISS); counts the outcome."""
        key = content_key(self.key, item)
        row = self._conn().execute("SELECT value FROM memo WHERE key = ?", (key,)).fetchone()
        hit = row is not None
        (self._reused if hit else self._computed).inc()
        if self.count_files:
            prefix = FILE_REUSED if hit else FILE_COMPUTED
            Metrics.counter(NAMESPACE, prefix + item.source_file).inc()
        return key, (pickle.loads(zlib.decompress(row[0])) if hit else MISS)

    def store(self, key: bytes, outputs: Any) -> None:
        self._pending.append((key, zlib.compress(pickle.dumps(outputs, protocol=5), 1)))
        if len(self._pending) >= FLUSH_EVERY or time.monotonic() - self._flushed_at > FLUSH_SECONDS:
            self.flush()  # a local runner's bundle can be a whole stage: commit as it goes

    def flush(self) -> None:
        """Commit what is pending (also from finish_bundle). A bundle Beam retries computes
        the same values again, and INSERT OR IGNORE keeps the first."""
        if self._pending:
            db = self._conn()
            with db:
                db.executemany("INSERT OR IGNORE INTO memo (key, value) VALUES (?, ?)", self._pending)
            self._pending = []
        self._flushed_at = time.monotonic()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class MemoisedDoFn(beam.DoFn):
    """A DoFn whose results go through `self._memo` (a StageMemo or None): commits what is
    pending at the end of each bundle and closes the database at teardown."""

    _memo: StageMemo | None = None

    def finish_bundle(self):
        if self._memo is not None:
            self._memo.flush()

    def teardown(self):
        if self._memo is not None:
            self._memo.close()


def always(_out) -> bool:
    return True


def memoised(memo: StageMemo | None, item: Any, compute: Callable[[Any], Any], keep: Callable[[Any], bool]):
    """compute(item) through the cache; `keep(out)` says whether a result may be stored
    (a timeout is a transient failure, not a fact about the document)."""
    if memo is None:
        return compute(item)
    key, out = memo.lookup(item)
    if out is MISS:
        out = compute(item)
        if keep(out):
            memo.store(key, out)
    return out


def reuse_summary(counters: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """timing.json's `reuse` section from the memo counters (name, value)."""
    stages: dict[str, dict[str, int]] = {}
    files_reused, files_computed = set(), set()
    for name, value in counters:
        if name.startswith(FILE_REUSED):
            files_reused.add(name[len(FILE_REUSED) :])
        elif name.startswith(FILE_COMPUTED):
            files_computed.add(name[len(FILE_COMPUTED) :])
        elif "." in name:
            stage, kind = name.rsplit(".", 1)
            stages.setdefault(stage, {REUSED: 0, COMPUTED: 0})[kind] = value
    files = files_reused | files_computed
    return {
        "stages": dict(sorted(stages.items())),
        "files": len(files),
        "files_reused": len(files_reused - files_computed),
    }
