"""The one helper module of the benchmarks: timing (best of N runs) and table output.

What the benchmarks measure against labelled data (loaders, samples, scoring) lives in
``edumix.evaluate``, where the tests use it too; the shared data is found with
``edumix.core.shared_data.shared_data_dir``. The benchmark scripts run from the repository root
(``.venv/bin/python benchmarks/NAME.py``) and put the root on sys.path to import this module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

# --------------------------------------------------------------------------- timing


def best_of(repeat: int, fn: Callable[[], object], setup: Callable[[], object] | None = None) -> tuple[float, object]:
    """(fewest seconds, last result) over max(1, repeat) calls of fn(), time.perf_counter;
    `setup()`, if given, runs untimed before each call (e.g. to empty a cache)."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fastest(repeat: int, fn: Callable[[], tuple]) -> tuple:
    """fn() -> (seconds, *rest) times itself; the run with the fewest seconds of max(1, repeat)."""
    return min((fn() for _ in range(max(1, repeat))), key=lambda r: r[0])


def best_of_interleaved(repeat: int, *fns: Callable[[], object], warmup: bool = True) -> list[float]:
    """Best time of each fn over `repeat` rounds, the fns interleaved within each round (so that
    load from other processes hits them alike); with `warmup`, each fn runs once untimed first."""
    for fn in fns if warmup else ():  # allocator, thread pools, optimizer state
        fn()
    times = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[i] = min(times[i], time.perf_counter() - t)
    return times


# --------------------------------------------------------------------------- output


def ratio(r: float, base: float) -> str:
    """`r / base` as "1.23x"; "n/a" when the baseline is not positive."""
    return f"{r / base:.2f}x" if base > 0 else "n/a"


def print_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    notes: Sequence[str] = (),
    *,
    left: int = 1,
    merge_repeats: bool = False,
) -> None:
    """A '## title' section with an aligned table: the first `left` columns left-aligned, the
    others right-aligned; with `merge_repeats` a first cell equal to the previous row's is left
    blank. Cells are printed with str(); notes follow, indented. Flushes stdout."""
    widths = [max(len(h), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[object]) -> str:
        return " | ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    print(f"\n## {title}\n")
    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    prev = None
    for r in rows:
        shown = list(r)
        if merge_repeats and r[0] == prev:
            shown[0] = ""
        prev = r[0]
        print(line(shown))
    for n in notes:
        print(f"  {n}")
    sys.stdout.flush()
