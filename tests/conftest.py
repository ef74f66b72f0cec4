"""Tests see edumix as it is installed: `python -m pytest` puts the checkout's root on
sys.path, where the bare folder names (filters, pipelines, ...) would import as top-level
packages and hide a module that only works from the checkout (a `resources.files("filters")`
once did). Dropping the root keeps every import going through `edumix.*`."""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT]
