"""Progress display for long work: one rule for every command (curate, tokenize, pretrain).

Bars go to stderr and show when stderr is a terminal. EDUMIX_PROGRESS=1 forces them on
(e.g. under a CI log), EDUMIX_PROGRESS=0 off; a caller's explicit choice wins over both.

`curate` shows one line for the whole pipeline, however many worker processes run it:
each worker counts the documents leaving every stage (`count`, called by the counting
DoFns in pipelines.stage) and flushes its counts, at most every FLUSH_S and at the end of
every bundle, atomically into `DIR/<pid>.json` in a local scratch directory outside the
run. The launching process (`RunMonitor`) sums those files into one record: the line on
stderr, and RUN/.progress.json while the run executes (what `edumix serve` shows). Both
files are gone when the run ends, whether it succeeds, fails or is interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tqdm import tqdm

PROGRESS_FILE = ".progress.json"  # in the run directory, only while the run executes
FLUSH_S = 0.5
OUT, DROPPED, FILES = "out", "dropped", "files"


def progress_enabled(explicit: bool | None = None) -> bool:
    if explicit is not None:
        return explicit
    forced = os.environ.get("EDUMIX_PROGRESS")
    if forced is not None:
        return forced != "0"
    return sys.stderr.isatty()


def progress_bar(
    total: int | None = None, unit: str = "it", desc: str = "", enabled: bool | None = None, **kwargs
) -> tqdm:
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=unit == "B",
        desc=desc,
        disable=not progress_enabled(enabled),
        file=sys.stderr,
        mininterval=0.5,
        leave=False,
        **kwargs,
    )


@contextlib.contextmanager
def worker_bars_off() -> Iterator[None]:
    """EDUMIX_PROGRESS=0 for the code a run executes (and the worker processes it starts):
    while one aggregated display runs, no worker draws a bar of its own."""
    before = os.environ.get("EDUMIX_PROGRESS")
    os.environ["EDUMIX_PROGRESS"] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("EDUMIX_PROGRESS", None)
        else:
            os.environ["EDUMIX_PROGRESS"] = before


# ---------------------------------------------------------------------------------------
# Worker side: per-process counters, flushed to DIR/<pid>.json


class _WorkerCounts:
    def __init__(self, directory: str):
        self.directory = directory
        self.stages: dict[str, dict[str, float]] = {}
        self.last_flush = 0.0

    def add(self, stage: str, kind: str, now: float) -> None:
        c = self.stages.get(stage)
        if c is None:
            c = self.stages[stage] = {OUT: 0, DROPPED: 0, FILES: 0, "first": now, "last": now}
        c[kind] += 1
        c["last"] = now

    def flush(self) -> None:
        path = os.path.join(self.directory, f"{os.getpid()}.json")
        tmp = f"{path}.tmp-{threading.get_ident()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"pid": os.getpid(), "stages": self.stages}, fh)
            os.replace(tmp, path)
        except OSError:  # the run is over and its scratch directory gone: nothing to report to
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.last_flush = time.monotonic()


_LOCK = threading.Lock()
_COUNTS: dict[str, _WorkerCounts] = {}


def count(directory: str, stage: str, kind: str) -> None:
    """One document (kind OUT or DROPPED) or input file (FILES) left `stage` in this process."""
    with _LOCK:
        counts = _COUNTS.get(directory)
        if counts is None:
            counts = _COUNTS[directory] = _WorkerCounts(directory)
        counts.add(stage, kind, time.time())
        if time.monotonic() - counts.last_flush >= FLUSH_S:
            counts.flush()


def flush(directory: str) -> None:
    """Write this process's counts now (the end of a bundle: the final counts are on disk
    before the runner hears the bundle is done)."""
    with _LOCK:
        counts = _COUNTS.get(directory)
        if counts is not None:
            counts.flush()


# ---------------------------------------------------------------------------------------
# Launcher side: one record from every worker's file


def read_worker_files(directory: str) -> list[dict[str, Any]]:
    out = []
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as fh:
                out.append(json.load(fh))
        except (OSError, ValueError):  # replaced between listdir and open: next poll reads it
            continue
    return out


def aggregate(stages: list[str], workers: list[dict[str, Any]], total_files: int) -> dict[str, Any]:
    """Per-stage documents so far, summed over workers, in funnel order: `in` is what the
    stage before let through (for read: every record read), as in report.json."""
    sums: dict[str, dict[str, float]] = {}
    for w in workers:
        for stage, c in (w.get("stages") or {}).items():
            s = sums.setdefault(stage, {OUT: 0, DROPPED: 0, FILES: 0, "first": c["first"], "last": c["last"]})
            for k in (OUT, DROPPED, FILES):
                s[k] += int(c.get(k, 0))
            s["first"] = min(s["first"], c["first"])
            s["last"] = max(s["last"], c["last"])
    rows, prev_out, prev_first = [], None, None
    for stage in stages:
        s = sums.get(stage) or {OUT: 0, DROPPED: 0}
        out, dropped = int(s[OUT]), int(s[DROPPED])
        row = {"stage": stage, "in": out + dropped if prev_out is None else prev_out, "dropped": dropped, "out": out}
        # Active from the first document reaching the stage to the last one leaving it.
        start = prev_first if prev_first is not None else s.get("first")
        if s.get("last") is not None and start is not None:
            row["wall_s"] = round(max(0.0, s["last"] - start), 3)
        rows.append(row)
        prev_out = out
        prev_first = s.get("first", prev_first)
    files = int((sums.get(stages[0]) or {}).get(FILES, 0)) if stages else 0
    return {"files": {"done": files, "total": total_files}, "workers": len(workers), "stages": rows}


def progress_line(record: dict[str, Any]) -> str:
    rows = record.get("stages") or []
    files = record.get("files") or {}
    parts = []
    for i, r in enumerate(rows):
        text = f"{r['stage']} {r['out']:,}"
        if i == 0 and files.get("total"):
            text = f"{r['stage']} {r['in']:,} ({files['done']}/{files['total']} files)"
        parts.append(text)
    elapsed = record.get("elapsed_s", 0)
    waiting = "building the pipeline…" if not rows else ""
    return f"curate {int(elapsed) // 60}:{int(elapsed) % 60:02d} │ " + (" → ".join(parts) or waiting)


def write_json_atomic(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True)
    os.replace(tmp, path)


def read_progress(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """RUN/.progress.json of a run that is executing now; None otherwise."""
    try:
        with open(os.path.join(run_dir, PROGRESS_FILE), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class RunMonitor:
    """Polls the workers' files every FLUSH_S while a run executes: one line on stderr
    (when progress shows), RUN/.progress.json (local runs), and `on_update(record)`.
    `close()` takes the final reading and removes every progress file."""

    def __init__(
        self,
        stages: list[str],
        total_files: int,
        run_dir: str | None = None,
        show: bool | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.stages = list(stages)
        self.total_files = total_files
        self.file = os.path.join(run_dir, PROGRESS_FILE) if run_dir and "://" not in run_dir else None
        self.on_update = on_update
        self.started = time.time()
        self.record: dict[str, Any] = {}
        self._bar = tqdm(
            total=None, bar_format="{desc}", disable=not progress_enabled(show), file=sys.stderr, leave=True
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edumix-progress", daemon=True)
        self.directory = tempfile.mkdtemp(prefix="edumix-progress-")  # last: nothing after it can fail

    def start(self) -> RunMonitor:
        self.poll("running")
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self.poll("running")

    def poll(self, status: str) -> dict[str, Any]:
        record = aggregate(self.stages, read_worker_files(self.directory), self.total_files)
        now = time.time()
        record.update(status=status, started=round(self.started, 3), elapsed_s=round(now - self.started, 3))
        self.record = record
        if self.file is not None and status == "running":
            with contextlib.suppress(OSError):
                write_json_atomic(self.file, record)
        self._bar.set_description_str(progress_line(record), refresh=True)
        if self.on_update is not None:
            self.on_update(record)
        return record

    def close(self, status: str = "done") -> dict[str, Any]:
        self._stop.set()
        try:
            if self._thread.is_alive():
                self._thread.join()
            final = self.poll(status)
            self._bar.close()
        finally:  # the files go even when the last reading fails
            self.discard()
        return final

    def discard(self) -> None:
        """Remove the workers' directory and RUN/.progress.json (idempotent; no reading)."""
        with _LOCK:  # in-process workers counted in this process
            _COUNTS.pop(self.directory, None)
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.file is not None:
            for name in (self.file, f"{self.file}.tmp-{os.getpid()}"):
                with contextlib.suppress(OSError):
                    os.unlink(name)
