"""Extraction as a pipeline stage: RawRecord -> Document with main text (see filters.extract)."""

from __future__ import annotations

import functools

from edumix.config import ExtractConfig
from filters.extract import Extractor

from .stage import ApplyStage


def ExtractText(cfg: ExtractConfig) -> ApplyStage:  # noqa: N802 - reads like a PTransform
    return ApplyStage("extract", functools.partial(Extractor, cfg))
