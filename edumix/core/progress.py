"""Progress bars for long work: one rule for every command (curate, tokenize, pretrain).

Bars go to stderr and show when stderr is a terminal. EDUMIX_PROGRESS=1 forces them on
(e.g. under a CI log), EDUMIX_PROGRESS=0 off; a caller's explicit choice wins over both.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


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
