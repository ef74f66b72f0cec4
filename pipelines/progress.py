"""Progress bars for long work (tqdm on stderr; quiet when stderr is not a terminal)."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def progress_bar(total: int | None = None, unit: str = "it", desc: str = "") -> tqdm:
    # EDUMIX_PROGRESS=1 forces bars on (e.g. under a CI log), =0 off.
    forced = os.environ.get("EDUMIX_PROGRESS")
    disable = None if forced is None else forced == "0"
    return tqdm(
        total=total, unit=unit, unit_scale=unit == "B", desc=desc, disable=disable,
        file=sys.stderr, mininterval=0.5, leave=False,
    )  # fmt: skip
