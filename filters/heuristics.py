"""Heuristic quality rules: datatrove's filters, called as they are, plus edumix's own.

`QualityRules(cfg).evaluate(doc, lang, corpus_dist)` returns a `RuleResult`: every signal,
the rules that fail (in a fixed order), a detail string per failed rule for the ledger, and
the text after line-level removal. It drops nothing itself; `QualityRules.__call__` applies
`cfg.mode` ("drop" or "tag") for the wiring. Plain Python, no Beam.

Rules, in evaluation order (rule names are stable; `RULE_NAMES` lists them all):

0. `empty`: no letter or digit in the text; nothing else is evaluated.
1. `dup_ngram_line` (edumix, Llama 3): lines whose duplicated 5-gram coverage is >= 0.9 are
   removed from the text (a text edit, never a failure: `signals["dup_ngram.lines_removed"]`).
   `dup_ngram_doc` fails when the document's coverage is above `doc_threshold`;
   `dup_ngram_emptied` when nothing with a letter or digit is left after removal (then
   nothing else is evaluated).
2. datatrove's filters, on the text after removal, each called through its own `filter()`:
   `gopher_quality:<reason>`, `gopher_repetition:<reason>`, `c4_quality:<reason>`,
   `fineweb_quality:<reason>`, where <reason> is the string datatrove returns
   (e.g. `gopher_quality:gopher_short_doc`, `c4_quality:curly_bracket`). A datatrove filter
   stops at its first failing check, so a document fails at most one rule per filter; the
   signals below hold every check's value, so thresholds can still be tuned in tag mode.
3. `dirty_words` (edumix): the share of tokens on the dirty-word lists is above `max_ratio`
   (and there are at least `min_hits`).
4. `kl_outlier` (edumix): KL(doc || corpus token distribution of its language) in nats,
   averaged over windows of 150 tokens (`rules_kl.windowed_kl`), is above `threshold`.
   Skipped (no signal) when no corpus distribution is given, or the one for the
   document's language holds fewer than `min_corpus_tokens`.

Signals are datatrove's own measures, computed with datatrove's helpers
(`split_into_words`, `find_duplicates`, `find_top_duplicate`, `find_all_duplicate`) because
its filters return only keep/drop and a reason: `gopher_quality.words`,
`gopher_quality.avg_word_length`, `gopher_repetition.top_2_gram`, `fineweb_quality.line_punct_ratio`,
... (see `signal_names()`), plus `code_score`, `math_score`, `dup_ngram.*`,
`dirty_words.*`, `kl_divergence`, `n_chars`, `eval_truncated`.

Language: the datatrove filters get a word tokenizer that works offline for the document's
language (`rules_language.word_tokenizer`); with `adapt_to_language` (default) checks that
cannot work for the language are switched off for it: word-length checks and C4's
words-per-line for scripts without spaces, C4's terminal-punctuation line filter where
sentences end in marks C4 does not know (danda, 。...), and Gopher's stop-word check where
edumix has no stop-word list for the language.

Code and math: `code_score`/`math_score` (`rules_codemath`) above their thresholds mark the
document as code/math; with `relax_code_math` (default) the rules in
`code_math.relaxed_rules` are not applied to it (for a datatrove rule: the filter runs with
that check switched off, e.g. `filter_curly_bracket=False`).

Bounded work: rules look at the first `max_eval_chars` characters (300,000 by default,
~50k words); a longer document is marked `eval_truncated`, its later lines are kept as
they are by the line rule, and Gopher's too-long check is made on a whitespace word count
of the whole text instead.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from datatrove.data import Document as DTDocument

from edumix.core.record import Document, Drop
from edumix.core.stages import QUALITY
from edumix.filters.rules_codemath import code_score, math_score
from edumix.filters.rules_datatrove import ADAPTERS, EVAL_ORDER, EVAL_ORDER_AFTER_C4_EDITS
from edumix.filters.rules_dirty_words import DirtyWords
from edumix.filters.rules_kl import (
    CorpusDist,
    corpus_distribution,
    kl_divergence,
    token_counts,
    windowed_kl,
)
from edumix.filters.rules_repetition import ngram_coverage, remove_repeated_lines

__all__ = [
    "RULE_NAMES",
    "CorpusDist",
    "QualityRules",
    "RuleResult",
    "corpus_distribution",
    "kl_divergence",
    "signal_names",
    "token_counts",
]

log = logging.getLogger(__name__)


@dataclass
class RuleResult:
    signals: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # rule names, in RULE_NAMES order
    text: str = ""  # the text after line-level removal
    details: dict[str, str] = field(default_factory=dict)  # failed rule -> value and threshold

    @property
    def passed(self) -> bool:
        return not self.failed


def _cfg_defaults():
    from edumix.core.config import FiltersConfig

    return FiltersConfig()


def rules_language_of(lang: str | None, cfg) -> str:
    """The language the rules (and the KL corpus distribution) use for a document:
    its own, or `default_language` when it has none or it is undetermined."""
    return lang if lang and lang != "und" else cfg.default_language


@dataclass
class Evaluation:
    """One document's pass through the rules: what each rule reads and writes."""

    rules: QualityRules
    doc: Document
    lang: str
    corpus_dist: object
    res: RuleResult
    relax: bool = False  # a code/math page: the relaxed rules are not applied
    eval_text: str = ""  # the text the rules judge (after line removal, bounded)
    finished: bool = False  # nothing more to judge (empty text)

    @property
    def cfg(self):
        return self.rules.cfg

    @property
    def sig(self) -> dict[str, float]:
        return self.res.signals

    def skipped(self, rule: str) -> bool:
        return self.relax and rule in self.rules.relaxed_rules

    def fail(self, rule: str, detail: str, final: bool = False) -> None:
        self.res.failed.append(rule)
        self.res.details[rule] = detail
        self.finished = self.finished or final

    def settled(self) -> bool:
        """Drop mode without evaluate_all: the first failure decides."""
        return bool(self.res.failed) and self.cfg.mode == "drop" and not self.cfg.evaluate_all


# ---- the rules, in evaluation order -------------------------------------------------------


class EmptyRule:
    names = ("empty",)
    relaxable: frozenset[str] = frozenset()

    def signal_names(self, cfg) -> list[str]:
        return ["n_chars", "eval_truncated", "code_score", "math_score", "code_math_relaxed"]

    def run(self, ev: Evaluation) -> None:
        if not any(ch.isalnum() for ch in ev.res.text[: ev.cfg.max_eval_chars]):
            ev.fail("empty", "no letter or digit in the text", final=True)


class DupNgramRule:
    """Llama 3's duplicated n-gram coverage: line removal, document coverage."""

    names = ("dup_ngram_doc", "dup_ngram_emptied")
    relaxable = frozenset({"dup_ngram_line", "dup_ngram_doc"})

    def signal_names(self, cfg) -> list[str]:
        return ["dup_ngram.doc_coverage", "dup_ngram.lines_removed", "dup_ngram.chars_removed_frac"]

    def run(self, ev: Evaluation) -> None:
        cfg, dn, res, sig = ev.cfg, ev.cfg.dup_ngram, ev.res, ev.sig
        if not (dn.line_enabled or dn.doc_enabled):
            return
        text = res.text
        head, tail, mid_line = _split_bounded(text, cfg.max_eval_chars)
        cov = ngram_coverage(head, dn.n, dn.min_count, dn.min_line_tokens)
        if mid_line:  # the head's last line goes on in the tail: it is not judged
            cov.line_coverage[-1] = 0.0
        sig["dup_ngram.doc_coverage"] = round(cov.doc_coverage, 6)
        if dn.line_enabled and not ev.skipped("dup_ngram_line"):
            new_head, removed, removed_chars = remove_repeated_lines(head, cov.line_coverage, dn.line_threshold)
            sig["dup_ngram.lines_removed"] = float(removed)
            sig["dup_ngram.chars_removed_frac"] = round(removed_chars / len(text), 6) if text else 0.0
            if removed:
                sep = "" if mid_line or not tail else "\n"
                res.text = new_head + sep + tail
        if dn.doc_enabled and not ev.skipped("dup_ngram_doc") and cov.doc_coverage > dn.doc_threshold:
            ev.fail(
                "dup_ngram_doc",
                f"dup_ngram.doc_coverage={cov.doc_coverage:.4g} > {dn.doc_threshold} "
                f"({dn.n}-grams seen >= {dn.min_count}x)",
            )
        if not any(ch.isalnum() for ch in res.text[: cfg.max_eval_chars]):
            # Nothing left to judge: the other rules would only repeat "empty".
            removed = int(sig.get("dup_ngram.lines_removed", 0))
            ev.fail("dup_ngram_emptied", f"{removed} repeated line(s) removed, nothing left", final=True)


class DatatroveRules:
    """datatrove's filters, each through its adapter and its own `filter()`."""

    names = tuple(n for name in EVAL_ORDER for n in ADAPTERS[name].rule_names())
    relaxable = frozenset().union(*(a.relaxable() for a in ADAPTERS.values()))

    def signal_names(self, cfg) -> list[str]:
        return [n for a in ADAPTERS.values() for n in a.signal_names(cfg)]

    def run(self, ev: Evaluation) -> None:
        cfg, sig = ev.cfg, ev.sig
        c4_passed = None  # datatrove's C4 edits the document it passes: reuse that text
        order = EVAL_ORDER_AFTER_C4_EDITS if cfg.c4_quality.apply_line_edits else EVAL_ORDER
        for name in order:
            if ev.settled():
                break
            if not getattr(cfg, name).enabled:
                continue
            adapter = ADAPTERS[name]
            f = ev.rules.datatrove_filter(name, ev.lang, ev.relax)
            judged = c4_passed.text if name == "fineweb_quality" and c4_passed is not None else ev.eval_text
            verdict, dt_doc = self._filter(f, name, judged, ev)
            if name == "c4_quality" and verdict is True and dt_doc is not None:
                c4_passed = dt_doc
            if cfg.signals:
                try:
                    sig.update(adapter.measure(judged, f, f.language))
                except Exception as e:  # noqa: BLE001 -- signals are extras; the verdict stands
                    log.warning("%s signals failed on %s: %r", name, ev.doc.id, e)
            keep, reason = verdict if isinstance(verdict, tuple) else (verdict, None)
            if not keep:
                ev.fail(f"{name}:{reason or 'rejected'}", adapter.detail(reason, f, sig))
        self._long_doc_estimate(ev)
        if cfg.c4_quality.apply_line_edits and c4_passed is not None and not sig["eval_truncated"]:
            ev.res.text = c4_passed.text

    @staticmethod
    def _filter(f, name: str, text: str, ev: Evaluation):
        """(verdict, the datatrove document it judged); a crash twice counts as a pass."""
        for attempt in range(2):
            dt_doc = DTDocument(text=text, id=ev.doc.id)
            try:
                return f.filter(dt_doc), dt_doc
            except Exception as e:  # noqa: BLE001 -- one document must not take a worker down
                # spaCy's tokenizer, inside datatrove's memory zones, now and then
                # raises E018 ("can't retrieve string for hash") once; a retry passes.
                log.warning("%s failed on %s (attempt %d): %r", name, ev.doc.id, attempt + 1, e)
        ev.sig[f"{name}.error"] = 1.0
        return True, None

    @staticmethod
    def _long_doc_estimate(ev: Evaluation) -> None:
        """A truncated document's too-long check, on a whitespace word count of the full text."""
        gq = ev.cfg.gopher_quality
        if not (ev.sig["eval_truncated"] and gq.enabled and gq.max_doc_words):
            return
        words_est = len(ev.res.text.split())
        ev.sig["gopher_quality.words_estimate"] = float(words_est)
        if words_est > gq.max_doc_words and "gopher_quality:gopher_long_doc" not in ev.res.failed:
            ev.fail(
                "gopher_quality:gopher_long_doc",
                f"gopher_long_doc: whitespace words of the full text={words_est} > {gq.max_doc_words}",
            )


class DirtyWordsRule:
    names = ("dirty_words",)
    relaxable = frozenset(names)

    def signal_names(self, cfg) -> list[str]:
        return ["dirty_words.hits", "dirty_words.ratio"]

    def run(self, ev: Evaluation) -> None:
        dirty = ev.rules.dirty
        if dirty is None or ev.skipped("dirty_words") or ev.settled():
            return
        hits, tokens, ratio = dirty.measure(ev.eval_text)
        ev.sig["dirty_words.hits"] = float(hits)
        ev.sig["dirty_words.ratio"] = round(ratio, 6)
        dw = ev.cfg.dirty_words
        if hits >= dw.min_hits and ratio > dw.max_ratio:
            ev.fail("dirty_words", f"dirty_words.ratio={ratio:.4g} > {dw.max_ratio} ({hits} hits / {tokens} tokens)")


class KLRule:
    """KL divergence against the corpus distribution of the document's language."""

    names = ("kl_outlier",)
    relaxable = frozenset(names)

    def signal_names(self, cfg) -> list[str]:
        return ["kl_divergence"]

    def run(self, ev: Evaluation) -> None:
        kl, corpus = ev.cfg.kl, ev.corpus_dist
        if not kl.enabled or corpus is None or ev.skipped("kl_outlier") or ev.settled():
            return
        dist = corpus.get(ev.lang) if isinstance(corpus, Mapping) else corpus
        if dist is None or dist.total_tokens < kl.min_corpus_tokens:
            return
        scored = windowed_kl(ev.eval_text, dist, kl.window, kl.windows, kl.prior, kl.min_doc_tokens)
        if scored is None:
            return
        value, n_tok = scored
        ev.sig["kl_divergence"] = round(value, 6)
        if value > kl.threshold:
            ev.fail("kl_outlier", f"kl_divergence={value:.4g} > {kl.threshold} (lang={ev.lang}, {n_tok} tokens)")


# Rules that may edit the text (line removal), then rules that judge the edited text.
TEXT_RULES = (EmptyRule(), DupNgramRule())
JUDGE_RULES = (DatatroveRules(), DirtyWordsRule(), KLRule())
RULES = TEXT_RULES + JUDGE_RULES
RULE_NAMES: tuple[str, ...] = tuple(n for rule in RULES for n in rule.names)
_RULE_ORDER = {name: i for i, name in enumerate(RULE_NAMES)}
RELAXABLE = frozenset().union(*(rule.relaxable for rule in RULES))


class QualityRules:
    """Built once per worker from `FiltersConfig` (None: the defaults)."""

    def __init__(self, cfg=None, stage: str = QUALITY):
        self.cfg = cfg = cfg if cfg is not None else _cfg_defaults()
        self.stage = stage
        relaxed = tuple(cfg.code_math.relaxed_rules)
        unknown = [r for r in relaxed if r not in RELAXABLE]
        if unknown:
            raise ValueError(f"filters.code_math.relaxed_rules: unknown rule(s) {unknown}; known: {sorted(RELAXABLE)}")
        self.relaxed_rules = frozenset(relaxed)
        self.dirty = (
            DirtyWords.from_config(cfg.dirty_words.use_default_list, cfg.dirty_words_file)
            if cfg.dirty_words.enabled
            else None
        )
        self._filters: dict[tuple, object] = {}

    def __getstate__(self):  # ship the config, not the per-language filter instances
        state = self.__dict__.copy()
        state["_filters"] = {}
        return state

    def datatrove_filter(self, name: str, lang: str, relaxed: bool):
        """The datatrove filter `name` for `lang`, with the relaxed checks switched off when
        `relaxed`; built once per (name, lang, relaxed)."""
        key = (name, lang, relaxed)
        if key not in self._filters:
            self._filters[key] = ADAPTERS[name].build(self.cfg, lang, self.relaxed_rules if relaxed else frozenset())
        return self._filters[key]

    def evaluate(self, doc: Document, lang: str | None = None, corpus_dist=None) -> RuleResult:
        cfg = self.cfg
        text = doc.text or ""
        ev = Evaluation(self, doc, rules_language_of(lang or doc.lang, cfg), corpus_dist, RuleResult(text=text))
        sig = ev.sig
        sig["n_chars"] = float(len(text))
        sig["eval_truncated"] = float(len(text) > cfg.max_eval_chars)
        cscore, mscore = code_score(text), math_score(text)
        sig["code_score"], sig["math_score"] = cscore, mscore
        is_code_math = cscore >= cfg.code_math.code_threshold or mscore >= cfg.code_math.math_threshold
        ev.relax = cfg.relax_code_math and is_code_math
        sig["code_math_relaxed"] = float(ev.relax)
        for rule in TEXT_RULES:
            if not ev.finished:
                rule.run(ev)
        ev.eval_text = ev.res.text[: cfg.max_eval_chars]
        for rule in JUDGE_RULES:
            if not ev.finished:
                rule.run(ev)
        ev.res.failed.sort(key=lambda r: _RULE_ORDER.get(r, len(_RULE_ORDER)))
        return ev.res

    # ---- mode semantics for the wiring ------------------------------------------------

    def apply(self, doc: Document, result: RuleResult) -> Document | Drop:
        """The mode's outcome for `doc`, as a new Document or a Drop (`doc` is not mutated).

        - drop mode: a failed rule gives `Drop(stage, first failed rule, doc, detail)` (the
          detail names every failed rule with its value and threshold; the dropped document
          keeps its original text); otherwise the document with the signals and the text
          after line removal.
        - tag mode: the document with the signals and its text unchanged (nothing is
          removed, not even lines: `dup_ngram.lines_removed` says what would be).
        Either way every failed rule is listed in `metadata["failed_rules"]`."""
        metadata = dict(doc.metadata)
        if result.failed:
            metadata["failed_rules"] = ",".join(result.failed)
        text = result.text if self.cfg.mode == "drop" else doc.text
        out = dataclasses.replace(doc, text=text, metadata=metadata, signals={**doc.signals, **result.signals})
        if result.failed and self.cfg.mode == "drop":
            detail = "; ".join(f"{r}: {result.details.get(r, '')}" for r in result.failed)
            return Drop(self.stage, result.failed[0], dataclasses.replace(out, text=doc.text), detail)
        return out

    def __call__(self, doc: Document, corpus_dist=None) -> Document | Drop:
        return self.apply(doc, self.evaluate(doc, doc.lang, corpus_dist))


def signal_names(cfg=None) -> list[str]:
    """Every signal key `evaluate` can produce with `cfg` (for reports and docs)."""
    cfg = cfg if cfg is not None else _cfg_defaults()
    return [n for rule in RULES for n in rule.signal_names(cfg)]


def _split_bounded(text: str, limit: int) -> tuple[str, str, bool]:
    """(head, tail, cut mid-line): head is at most `limit` characters, cut at a line break
    when there is one (the break itself then belongs to neither part)."""
    if len(text) <= limit:
        return text, "", False
    cut = text.rfind("\n", 0, limit)
    if cut <= 0:
        return text[:limit], text[limit:], True
    return text[:cut], text[cut + 1 :], False
