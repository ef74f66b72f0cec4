"""What a stopped run (SIGTERM from a scheduler, Ctrl-C) must remove, removed by the signal
handler itself before it raises.

The handler's exception is raised wherever the main thread happens to be; inside a C++
extension's call into Python (pybind11, e.g. while spaCy imports during graph construction)
it cannot unwind and the process aborts (`terminate called after throwing ...
error_already_set`) without running any `except` or `finally`. So the paths a run would leave
behind are registered here while it runs (`removed_on_stop`) and removed first; the usual
unwinding cleans up again where it gets the chance (every cleanup is idempotent). Where the
main thread is known to sit in such calls (building the Beam graph), `stops_deferred` holds a
stop until the block ends, so the run unwinds normally.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

_CLEANUPS: dict[int, Callable[[], None]] = {}
_IDS = itertools.count()
_DEFERRING: list[int] = []  # signals that arrived inside `stops_deferred` blocks
_DEFER_DEPTH = [0]  # how many such blocks the main thread is in


@contextlib.contextmanager
def removed_on_stop(cleanup: Callable[[], None]) -> Iterator[None]:
    """Run `cleanup` if the process is stopped while inside this block."""
    key = next(_IDS)
    _CLEANUPS[key] = cleanup
    try:
        yield
    finally:
        _CLEANUPS.pop(key, None)


@contextlib.contextmanager
def stops_deferred() -> Iterator[None]:
    """A stop that arrives inside this block takes effect when it ends: for code that runs in
    C++ extensions calling back into Python (building the Beam graph imports spaCy, presidio,
    fastText), where an exception raised by the handler cannot unwind and aborts the process."""
    _DEFER_DEPTH[0] += 1
    try:
        yield
    finally:
        _DEFER_DEPTH[0] -= 1
    if _DEFERRING and not _DEFER_DEPTH[0]:
        _stop(_DEFERRING.pop(0))


def _stop(signum: int) -> None:
    _DEFERRING.clear()
    run_cleanups()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def run_cleanups() -> None:
    for cleanup in list(_CLEANUPS.values()):
        try:
            cleanup()
        except Exception as e:  # noqa: BLE001 -- a stop must still stop
            log.warning("cleanup on stop failed: %s", e)


@contextlib.contextmanager
def stops_clean_up() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C (SystemExit 128 + 15), and both first run the registered
    cleanups. Only the main thread may set handlers: elsewhere a no-op."""

    def stop(signum, frame):
        if _DEFER_DEPTH[0]:  # inside stops_deferred: acted on when it ends
            _DEFERRING.append(signum)
            return
        _stop(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
