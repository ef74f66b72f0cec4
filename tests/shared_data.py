"""Locate ../shared/data (public evaluation data, never copied into the repo)."""

from pathlib import Path

import pytest

from edumix.core.shared_data import shared_data_dir

SHARED = shared_data_dir()


def shared(*parts: str) -> Path:
    """Path under the shared data dir; skips the test with a clear message when absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set EDUMIX_SHARED_DATA)")
    return path
