"""The scrubber: anchors, presidio on the pre-screened windows, guards, overlaps, placeholders."""

from __future__ import annotations

import dataclasses
import logging
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult

from edumix.core.config import PiiConfig
from edumix.core.record import Document

from .anchors import ANCHORED_ENTITIES, Anchors
from .entities import LANGUAGE
from .guards import guard_reason
from .recognizers import (
    analyzed_entities,
    blank_pipeline,
    build_analyzer,
    cued_phone,
    pure_special_cases,
    sure_context_word,
)

log = logging.getLogger(__name__)

# Pre-screen margin: characters of context kept around each anchor, and the furthest a
# result may reach beyond the anchors it contains.
MARGIN = 64
_CONTEXT_WORDS = 6  # presidio's LemmaContextAwareEnhancer: 5 words before + the match's own


def resolve_overlaps(results: Iterable[RecognizerResult], priority: Sequence[str] = ()) -> list[RecognizerResult]:
    """Non-overlapping results: higher score first, then longer, then the entity listed
    first in `priority`; sorted by position."""
    rank = {e: i for i, e in enumerate(priority)}
    ordered = sorted(
        results,
        key=lambda r: (-r.score, -(r.end - r.start), rank.get(r.entity_type, len(rank)), r.start, r.entity_type),
    )
    kept: list[RecognizerResult] = []
    for r in ordered:
        if all(r.end <= k.start or k.end <= r.start for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: (r.start, r.end, r.entity_type))


class PiiScrubber:
    """Find and replace PII in documents. Built once per worker (loads the analyzer)."""

    JOIN = "\n\n"  # between pre-screened windows; no configured recognizer matches across \n

    def __init__(self, cfg: PiiConfig):
        self.cfg = cfg
        self.entities = analyzed_entities(cfg)
        self.analyzer = build_analyzer(cfg)
        self.anonymizer = AnonymizerEngine()
        anchored = set(self.entities) <= ANCHORED_ENTITIES
        self._anchors = Anchors(self.entities) if anchored else None
        self.prescreen = bool(cfg.prescreen and anchored)
        self._allow = list(cfg.allow_list) or None
        nlp = blank_pipeline()
        self._stop = frozenset(w.lower() for w in nlp.Defaults.stop_words)
        self._special = pure_special_cases()
        self._operators: dict[str, OperatorConfig] = {}

    # -- analysis -------------------------------------------------------------------

    def _analyze(self, text: str) -> list[RecognizerResult]:
        return self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=list(self.entities),
            score_threshold=self.cfg.score_threshold,
            allow_list=self._allow,
            allow_list_match="exact",
        )

    def _extend_left(self, text: str, start: int) -> int:
        """Move `start` left to a word start with at least _CONTEXT_WORDS sure context words
        between it and the old start: presidio's context window (5 counted tokens before a
        match) then lies inside the window whatever the text before it."""
        i = start
        while i > 0 and not text[i - 1].isspace():
            i -= 1
        need = _CONTEXT_WORDS
        while need > 0 and i > 0:
            j = i
            while j > 0 and text[j - 1].isspace():
                j -= 1
            k = j
            while k > 0 and not text[k - 1].isspace():
                k -= 1
            if k == j:  # only whitespace before
                return 0
            if sure_context_word(text[k:j], self._stop, self._special):
                need -= 1
            i = k
        return i

    def segments(self, text: str, anchors: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """Disjoint [start, end) windows of `text` that presidio analyzes (pre-screen on):
        anchors +- MARGIN, merged, widened left over _CONTEXT_WORDS context words, snapped
        outwards to whitespace."""
        if self._anchors is None:
            return [(0, len(text))] if text else []
        if anchors is None:
            anchors = self._anchors.spans(text)
        return Anchors.windows(text, anchors, MARGIN, self._extend_left)

    def _analyze_segments(self, text: str, segs: list[tuple[int, int]]) -> list[RecognizerResult]:
        if len(segs) == 1 and segs[0] == (0, len(text)):
            return self._analyze(text)
        joined = self.JOIN.join(text[s:e] for s, e in segs)
        starts, pos = [], 0
        for s, e in segs:
            starts.append(pos)
            pos += (e - s) + len(self.JOIN)
        out = []
        for r in self._analyze(joined):
            i = bisect_right(starts, r.start) - 1
            seg_start, (s, e) = starts[i], segs[i]
            if r.end > seg_start + (e - s):  # crossed a join: should not happen; be exact
                return [x for (s2, e2) in segs for x in self._shift(self._analyze(text[s2:e2]), s2)]
            r.start, r.end = r.start - seg_start + s, r.end - seg_start + s
            out.append(r)
        return out

    @staticmethod
    def _shift(results: list[RecognizerResult], offset: int) -> list[RecognizerResult]:
        for r in results:
            r.start += offset
            r.end += offset
        return results

    def _use_prescreen(self, prescreen: bool | None) -> bool:
        if self._anchors is None:
            return False
        return self.prescreen if prescreen is None else prescreen

    def raw(
        self, text: str, prescreen: bool | None = None, anchors: list[tuple[int, int]] | None = None
    ) -> list[RecognizerResult]:
        """presidio's results (threshold and allow-list applied) before anchors and guards."""
        if not self._use_prescreen(prescreen):
            return self._analyze(text)
        if anchors is None:
            anchors = self._anchors.spans(text)
        segs = self.segments(text, anchors)
        return self._analyze_segments(text, segs) if segs else []

    def find(self, text: str, prescreen: bool | None = None) -> list[RecognizerResult]:
        """The spans that `scrub` replaces: presidio's results that carry an anchor, pass
        the guards and do not overlap a stronger result. `prescreen` overrides the config;
        the answer is the same either way (the pre-screen only saves time)."""
        if self._anchors is None:
            results = self._analyze(text)
        else:
            anchors = self._anchors.spans(text)
            if not anchors:
                return []
            results = self.raw(text, prescreen, anchors)
            reach = Anchors.reach(anchors, MARGIN)
            results = [r for r in results if Anchors.covers(text, anchors, reach, r.start, r.end)]
        results = [r for r in results if guard_reason(text, r.entity_type, r.start, r.end, cued_phone(r)) is None]
        return resolve_overlaps(results, self.entities)

    def explain(self, text: str) -> list[tuple[RecognizerResult, str | None]]:
        """presidio's results for `text` with why each is dropped: "no_anchor", a
        `guard_reason`, or "overlap" (a stronger result covers it); None if replaced."""
        anchors = self._anchors.spans(text) if self._anchors is not None else None
        out = []
        for r in self.raw(text, anchors=anchors):
            reason = None
            if anchors is not None and not Anchors.covers(
                text, anchors, Anchors.reach(anchors, MARGIN), r.start, r.end
            ):
                reason = "no_anchor"
            out.append((r, reason or guard_reason(text, r.entity_type, r.start, r.end, cued_phone(r))))
        kept = {
            (r.entity_type, r.start, r.end)
            for r in resolve_overlaps([r for r, why in out if why is None], self.entities)
        }
        return [
            (r, "overlap" if why is None and (r.entity_type, r.start, r.end) not in kept else why) for r, why in out
        ]

    # -- replacement ----------------------------------------------------------------

    def placeholder(self, entity: str) -> str:
        return self.cfg.placeholder.format(entity=entity)

    def _operator(self, entity: str) -> OperatorConfig:
        op = self._operators.get(entity)
        if op is None:
            op = self._operators[entity] = OperatorConfig("replace", {"new_value": self.placeholder(entity)})
        return op

    def scrub(self, text: str) -> tuple[str, dict[str, int]]:
        """`text` with every found span replaced by its placeholder, and counts per entity."""
        found = self.find(text)
        if not found:
            return text, {}
        counts = Counter(r.entity_type for r in found)
        results = [AnonymizerResult(r.entity_type, r.start, r.end, r.score) for r in found]
        operators = {e: self._operator(e) for e in counts}
        out = self.anonymizer.anonymize(text=text, analyzer_results=results, operators=operators)
        return out.text, dict(sorted(counts.items()))

    def __call__(self, doc: Document) -> Document:
        """A new Document with PII replaced and `pii_<ENTITY>` counts in signals (non-zero
        only). Never drops; a document presidio fails on keeps its text and gets
        metadata["pii_error"] (the exception's type), logged."""
        if not self.cfg.enabled or not doc.text:
            return dataclasses.replace(doc, signals=dict(doc.signals))
        try:
            text, counts = self.scrub(doc.text)
        except Exception as e:  # one bad document must not stop a run
            log.exception("pii: analysis failed for %s", doc.id)
            return dataclasses.replace(
                doc, signals=dict(doc.signals), metadata={**doc.metadata, "pii_error": type(e).__name__}
            )
        if not counts:
            return dataclasses.replace(doc, signals=dict(doc.signals))
        signals = {**doc.signals, **{f"pii_{e}": float(n) for e, n in counts.items()}}
        return dataclasses.replace(doc, text=text, signals=signals)
