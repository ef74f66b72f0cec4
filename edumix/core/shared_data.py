"""Where the shared evaluation data lives: ``$EDUMIX_SHARED_DATA``, else ``<repo>/../shared/data``.

The data (seed corpora, HPLT annotations, trafilatura's eval pages, presidio's synthetic PII set,
crawl samples) is public and never copied into the repository. Classifier training data, the
evaluation loaders (``edumix.evaluate``), the benchmarks and the tests all find it here.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # edumix/core/shared_data.py -> the repository root


def shared_data_dir() -> Path:
    return Path(os.environ.get("EDUMIX_SHARED_DATA", REPO.parent / "shared" / "data"))
