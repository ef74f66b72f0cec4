"""The job table behind one narrow class, so the service never writes SQL elsewhere.

SQLite in the service's home directory: no server to run, and a job survives a restart of
`edumix serve`. A PostgreSQL store would implement the same five methods (create_job,
update_job, get_job, list_jobs, mark_interrupted_on_start) and nothing else would change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

# Every job status; the last four are final.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
FINAL = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)

_COLUMNS = ("id", "name", "status", "created", "started", "finished", "pid", "exit_code", "error", "spec", "summary")
_JSON_COLUMNS = ("spec", "summary")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    pid INTEGER,
    exit_code INTEGER,
    error TEXT,
    spec TEXT NOT NULL,
    summary TEXT
)
"""


class JobStore:
    """Jobs as plain dicts (the columns above; `spec` and `summary` decoded from JSON)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()  # one writer at a time; SQLite itself serialises files
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create_job(self, job_id: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, name, status, created, spec) VALUES (?, ?, ?, ?, ?)",
                (job_id, name, QUEUED, time.time(), json.dumps(spec)),
            )
        return self.get_job(job_id)

    def update_job(self, job_id: str, **fields: Any) -> None:
        unknown = set(fields) - set(_COLUMNS[1:])
        if unknown:
            raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")
        values = [json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in fields.items()]
        assignments = ", ".join(f"{k} = ?" for k in fields)  # names checked against _COLUMNS above
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values, job_id))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _decode(row) if row else None

    def list_jobs(self, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs ORDER BY created DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_decode(r) for r in rows]

    def mark_interrupted_on_start(self, reason: str) -> list[str]:
        """At server start no job of ours can still be queued or running (the caller has already
        stopped any orphaned process): mark them interrupted, so none shows `running` forever."""
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM jobs WHERE status IN (?, ?)", (QUEUED, RUNNING))]
            self._db.execute(
                "UPDATE jobs SET status = ?, finished = ?, error = ?, pid = NULL WHERE status IN (?, ?)",
                (INTERRUPTED, time.time(), reason, QUEUED, RUNNING),
            )
        return ids


def _decode(row: tuple) -> dict[str, Any]:
    job = dict(zip(_COLUMNS, row))
    for key in _JSON_COLUMNS:
        job[key] = json.loads(job[key]) if job[key] is not None else None
    return job
