"""Run a function in a persistent child process that can be killed when it overruns.

Python cannot interrupt a thread stuck in lxml, and signal-based alarms work only in
the main thread, which Beam's worker threads are not; a child process can always be
killed. It also contains crashes (a segfault in a C parser ends the child, not the
worker). The child is a plain `python -m edumix.filters.isolated` (not multiprocessing, whose
spawn re-imports the caller's __main__ and fork is unsafe in threaded workers); calls
travel as length-prefixed pickles over its stdin/stdout.
"""

from __future__ import annotations

import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("<Q")


class WorkerDied(RuntimeError):
    pass


class ChildError(RuntimeError):
    """An exception raised inside the child, re-raised here as 'Type: message'."""


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("child closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_msg(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_msg(fd: int) -> Any:
    (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return pickle.loads(_read_exact(fd, n))


class IsolatedCall:
    """`call(args, timeout)` runs `fn(args)` in the child; `fn` must be a module-level
    function so the child can import it by name. `submit` + `result` split the call, so
    the caller can work while the child computes (one call in flight at a time)."""

    def __init__(self, fn: Callable[[Any], Any]):
        self._target = f"{fn.__module__}:{fn.__qualname__}"
        self._proc: subprocess.Popen | None = None
        self._submitted: float | None = None  # monotonic time of the call in flight

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "edumix.filters.isolated", self._target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )

    def __call__(self, args: Any, timeout: float) -> Any:
        self.submit(args)
        return self.result(timeout)

    def submit(self, args: Any) -> None:
        if self._submitted is not None:
            raise RuntimeError("a call is already in flight: collect its result first")
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        self._submitted = time.monotonic()
        try:
            _write_msg(self._proc.stdin.fileno(), args)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died: result() reports it

    def abandon(self) -> None:
        """Drop the call in flight, if any (its caller gave up, e.g. a retried bundle)."""
        if self._submitted is not None:
            self._submitted = None
            self._kill()

    def result(self, timeout: float) -> Any:
        """The result of the call in flight; the timeout counts from its submission."""
        if self._submitted is None:
            raise RuntimeError("no call in flight")
        left = max(0.0, self._submitted + timeout - time.monotonic())
        self._submitted = None
        try:
            ready, _, _ = select.select([self._proc.stdout], [], [], left)
            if not ready:
                self._kill()
                raise TimeoutError(f"no result within {timeout}s")
            status, value = _read_msg(self._proc.stdout.fileno())
        except (EOFError, BrokenPipeError, ConnectionResetError) as e:
            try:  # the pipe closes just before the process is reaped
                code = self._proc.wait(5)
            except subprocess.TimeoutExpired:
                code = None
            self._kill()
            raise WorkerDied(f"exit code {code}") from e
        if status == "error":
            raise ChildError(value)
        return value

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            for pipe in (self._proc.stdin, self._proc.stdout):
                pipe.close()
        self._proc = None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()  # child sees EOF and exits
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _serve(target: str) -> None:
    # Keep the protocol on a private fd; anything a library prints goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    while True:
        try:
            args = _read_msg(0)
        except EOFError:
            return
        try:
            reply = ("ok", fn(args))
        except Exception as e:  # noqa: BLE001 - sent back to the caller
            reply = ("error", f"{type(e).__name__}: {e}")
        _write_msg(out_fd, reply)


if __name__ == "__main__":
    _serve(sys.argv[1])
