"""The job table behind one narrow class, so the service never writes SQL elsewhere.

SQLite in the service's home directory: no server to run, and a job survives a restart of
`edumix serve`. A PostgreSQL store would implement the same five methods (create_job,
update_job, get_job, list_jobs, mark_interrupted_on_start) and nothing else would change.

Every job has a `kind` (RUN: a curate run, TRAINING: a pretrain phase) and an optional
`parent` (a training's source run), so a run can list the trainings made from it. The schema
version is SQLite's `user_version`: a home written by an older server is migrated on open
(MIGRATIONS, each step in one transaction); a newer one is refused rather than misread.
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

# Job kinds.
RUN, TRAINING = "run", "training"
KINDS = (RUN, TRAINING)

_COLUMNS = (
    "id",
    "name",
    "status",
    "created",
    "started",
    "finished",
    "pid",
    "exit_code",
    "error",
    "spec",
    "summary",
    "kind",
    "parent",
)
_JSON_COLUMNS = ("spec", "summary")

# Version 1: the first `edumix serve` (user_version 0 on disk, curate runs only).
_SCHEMA_V1 = """
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
# MIGRATIONS[v] takes a version v-1 database to version v.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        f"ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT '{RUN}'",
        "ALTER TABLE jobs ADD COLUMN parent TEXT",
        "CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent)",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)


def _check_kind(kind: str) -> None:
    """Both stores: a job is one of KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")


def _check_fields(fields: dict[str, Any]) -> None:
    """Both stores: an update names known columns only (they are put into the SQL), never the kind."""
    unknown = set(fields) - set(_COLUMNS[1:]) | ({"kind"} & set(fields))  # a job never changes kind
    if unknown:
        raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")


class StoreTooNew(RuntimeError):
    """The database was written by a newer edumix serve."""


class JobStore:
    """Jobs as plain dicts (the columns above; `spec` and `summary` decoded from JSON)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()  # one writer at a time; SQLite itself serialises files
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # two servers opening one home migrate once
            try:
                self._db.execute(_SCHEMA_V1)
                version = max(1, self._db.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise StoreTooNew(
                        f"{self.path} has schema version {version}; this edumix knows up to {SCHEMA_VERSION}"
                    )
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[target]:
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # an int constant, not input
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        with self._lock:
            return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create_job(
        self, job_id: str, name: str, spec: dict[str, Any], kind: str = RUN, parent: str | None = None
    ) -> dict[str, Any]:
        _check_kind(kind)
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, name, status, created, spec, kind, parent) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, name, QUEUED, time.time(), json.dumps(spec), kind, parent),
            )
        return self.get_job(job_id)

    def update_job(self, job_id: str, **fields: Any) -> None:
        _check_fields(fields)
        values = [json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in fields.items()]
        assignments = ", ".join(f"{k} = ?" for k in fields)  # names checked against _COLUMNS above
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values, job_id))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _decode(row) if row else None

    def list_jobs(self, limit: int = 200, kind: str | None = None, parent: str | None = None) -> list[dict[str, Any]]:
        """Newest first; only one kind and/or the children of one job when given."""
        where, args = [], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if parent is not None:
            where.append("parent = ?")
            args.append(parent)
        clause = f"WHERE {' AND '.join(where)} " if where else ""  # fixed fragments; values are bound
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs {clause}ORDER BY created DESC LIMIT ?", (*args, limit)
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


# -- PostgreSQL --------------------------------------------------------------------------------
# The same table and methods on a PostgreSQL server (`--db postgresql://user:pass@host:port/db`),
# through pg8000 (pure Python). One connection, one statement at a time, as above. The schema
# version is a one-row table (PostgreSQL has no user_version); a database is created at the
# current version, so there is nothing to migrate yet: a later version adds to PG_MIGRATIONS.
_PG_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    started DOUBLE PRECISION,
    finished DOUBLE PRECISION,
    pid INTEGER,
    exit_code INTEGER,
    error TEXT,
    spec TEXT NOT NULL,
    summary TEXT,
    kind TEXT NOT NULL DEFAULT '{RUN}',
    parent TEXT
)
"""
PG_MIGRATIONS: dict[int, tuple[str, ...]] = {}


class PostgresJobStore(JobStore):
    """JobStore's methods on PostgreSQL; `url` is postgresql://[user[:password]@]host[:port]/database."""

    def __init__(self, url: str):
        from urllib.parse import unquote, urlsplit

        import pg8000.native

        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError("--db must look like postgresql://user:password@host:5432/database")
        self.path = Path(parts.path)  # shown in messages; never a file
        self.url = parts._replace(netloc=parts.hostname or "").geturl()  # without the password
        self._lock = threading.Lock()
        self._db = pg8000.native.Connection(
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname or "localhost",
            port=parts.port or 5432,
            database=unquote(parts.path.strip("/")),
            application_name="edumix-serve",
        )
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._db.run("BEGIN")
            try:
                self._db.run("SELECT pg_advisory_xact_lock(7313)")  # two servers on one database migrate once
                self._db.run(_PG_SCHEMA)
                self._db.run("CREATE INDEX IF NOT EXISTS jobs_parent ON jobs (parent)")
                self._db.run("CREATE TABLE IF NOT EXISTS edumix_schema (version INTEGER NOT NULL)")
                rows = self._db.run("SELECT version FROM edumix_schema")
                version = rows[0][0] if rows else SCHEMA_VERSION
                if version > SCHEMA_VERSION:
                    raise StoreTooNew(
                        f"{self.url} has schema version {version}; this edumix knows up to {SCHEMA_VERSION}"
                    )
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in PG_MIGRATIONS.get(target, ()):
                        self._db.run(statement)
                self._db.run("DELETE FROM edumix_schema")
                self._db.run("INSERT INTO edumix_schema (version) VALUES (:v)", v=SCHEMA_VERSION)
                self._db.run("COMMIT")
            except BaseException:
                self._db.run("ROLLBACK")
                raise

    def schema_version(self) -> int:
        with self._lock:
            return self._db.run("SELECT version FROM edumix_schema")[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create_job(
        self, job_id: str, name: str, spec: dict[str, Any], kind: str = RUN, parent: str | None = None
    ) -> dict[str, Any]:
        _check_kind(kind)
        with self._lock:
            self._db.run(
                "INSERT INTO jobs (id, name, status, created, spec, kind, parent) "
                "VALUES (:id, :name, :status, :created, :spec, :kind, :parent)",
                id=job_id,
                name=name,
                status=QUEUED,
                created=time.time(),
                spec=json.dumps(spec),
                kind=kind,
                parent=parent,
            )
        return self.get_job(job_id)

    def update_job(self, job_id: str, **fields: Any) -> None:
        _check_fields(fields)
        values = {k: json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in fields.items()}
        assignments = ", ".join(f"{k} = :{k}" for k in fields)  # names checked against _COLUMNS above
        with self._lock:
            self._db.run(f"UPDATE jobs SET {assignments} WHERE id = :job_id", job_id=job_id, **values)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            rows = self._db.run(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = :id", id=job_id)
        return _decode(tuple(rows[0])) if rows else None

    def list_jobs(self, limit: int = 200, kind: str | None = None, parent: str | None = None) -> list[dict[str, Any]]:
        where, args = [], {"limit": limit}
        if kind is not None:
            where.append("kind = :kind")
            args["kind"] = kind
        if parent is not None:
            where.append("parent = :parent")
            args["parent"] = parent
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        with self._lock:
            rows = self._db.run(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs {clause}ORDER BY created DESC LIMIT :limit", **args
            )
        return [_decode(tuple(r)) for r in rows]

    def mark_interrupted_on_start(self, reason: str) -> list[str]:
        with self._lock:
            rows = self._db.run(
                "UPDATE jobs SET status = :s, finished = :t, error = :e, pid = NULL "
                "WHERE status IN (:q, :r) RETURNING id",
                s=INTERRUPTED,
                t=time.time(),
                e=reason,
                q=QUEUED,
                r=RUNNING,
            )
        return [r[0] for r in rows]


def open_store(home: Path, db: str | None = None) -> JobStore:
    """The job table: HOME/jobs.sqlite by default, or the PostgreSQL database `db` names."""
    if db is None or db == "sqlite":
        return JobStore(home / "jobs.sqlite")
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresJobStore(db)
    raise ValueError("--db takes postgresql://user:password@host:port/database (default: HOME/jobs.sqlite)")
