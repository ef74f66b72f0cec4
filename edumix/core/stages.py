"""The funnel's stages: their names and the one order every run applies them in.

A drop record, a report row, a ledger file and a Beam step all carry these names, so
they are defined once here. `edumix.pipelines.registry` wires each name to its transform
(and fails at import if the two lists disagree); the report refuses stages it does not
know. Cheap dedups run before the rules, and the rules before the expensive MinHash step.
"""

from __future__ import annotations

from collections.abc import Iterable

READ = "read"
EXTRACT = "extract"
LANGID = "langid"
URL_DEDUP = "url_dedup"
EXACT_DEDUP = "exact_dedup"
QUALITY = "quality"
MINHASH_DEDUP = "minhash_dedup"
LINE_DEDUP = "line_dedup"
PII = "pii"
CLASSIFY = "classify"

STAGES: tuple[str, ...] = (
    READ,
    EXTRACT,
    LANGID,
    URL_DEDUP,
    EXACT_DEDUP,
    QUALITY,
    MINHASH_DEDUP,
    LINE_DEDUP,
    PII,
    CLASSIFY,
)

# Not funnel stages (they drop nothing), but they report numbers under these names.
MIX = "mix"


class UnknownStageError(ValueError):
    pass


def check_stages(stages: Iterable[str]) -> list[str]:
    """The stages a run reports, which must be registered stages in registry order."""
    stages = list(stages)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise UnknownStageError(f"stages {unknown} are not in the stage registry {list(STAGES)}")
    if stages != sorted(stages, key=STAGES.index):
        raise UnknownStageError(f"stages {stages} are out of registry order {list(STAGES)}")
    if len(set(stages)) != len(stages):
        raise UnknownStageError(f"stages {stages} repeat a stage")
    return stages
