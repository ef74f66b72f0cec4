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
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from datatrove.data import Document as DTDocument
from datatrove.pipeline.filters.c4_filters import END_PUNCTUATION, C4QualityFilter
from datatrove.pipeline.filters.fineweb_quality_filter import FineWebQualityFilter
from datatrove.pipeline.filters.gopher_quality_filter import GopherQualityFilter
from datatrove.pipeline.filters.gopher_repetition_filter import (
    GopherRepetitionFilter,
    find_all_duplicate,
    find_duplicates,
    find_top_duplicate,
    get_n_grams,
)
from datatrove.utils.text import PUNCTUATION_SET, split_into_words

from edumix.core.record import Document, Drop
from edumix.core.stages import QUALITY
from edumix.filters import rules_language
from edumix.filters.rules_codemath import code_score, math_score
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
    "token_counts",
]

log = logging.getLogger(__name__)

# Evaluation order: the three that split the whole text into words first, so datatrove's
# tokenization cache (5 entries) still holds it; C4 splits every line into sentences.
DATATROVE_FILTERS = ("gopher_quality", "gopher_repetition", "fineweb_quality", "c4_quality")
DATATROVE_FILTERS_AFTER_C4_EDITS = ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality")

# Every reason each datatrove filter (0.10.1) can return, in its own check order.
DATATROVE_REASONS: dict[str, tuple[str, ...]] = {
    "gopher_quality": (
        "gopher_short_doc",
        "gopher_long_doc",
        "gopher_below_avg_threshold",
        "gopher_above_avg_threshold",
        "gopher_too_many_hashes",
        "gopher_too_many_ellipsis",
        "gopher_too_many_bullets",
        "gopher_too_many_end_ellipsis",
        "gopher_below_alpha_threshold",
        "gopher_enough_stop_words",
    ),
    "gopher_repetition": (
        "empty",
        "dup_para_frac",
        "dup_para_char_frac",
        "dup_line_frac",
        "dup_line_char_frac",
        "top_2_gram",
        "top_3_gram",
        "top_4_gram",
        "duplicated_5_n_grams",
        "duplicated_6_n_grams",
        "duplicated_7_n_grams",
        "duplicated_8_n_grams",
        "duplicated_9_n_grams",
        "duplicated_10_n_grams",
    ),
    "c4_quality": ("lorem_ipsum", "curly_bracket", "too_few_sentences"),
    "fineweb_quality": ("empty", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio"),
}

RULE_NAMES: tuple[str, ...] = (
    ("empty", "dup_ngram_doc", "dup_ngram_emptied")
    + tuple(f"{f}:{r}" for f in DATATROVE_FILTERS for r in DATATROVE_REASONS[f])
    + ("dirty_words", "kl_outlier")
)
_RULE_ORDER = {name: i for i, name in enumerate(RULE_NAMES)}

# What relaxing a datatrove rule means: the keyword arguments its filter is built with.
# Gopher's hash and ellipsis checks share one threshold, so relaxing one relaxes both.
_RELAX_KWARGS: dict[str, dict] = {
    "gopher_quality:gopher_below_avg_threshold": {"min_avg_word_length": None},
    "gopher_quality:gopher_above_avg_threshold": {"max_avg_word_length": None},
    "gopher_quality:gopher_too_many_hashes": {"max_symbol_word_ratio": None},
    "gopher_quality:gopher_too_many_ellipsis": {"max_symbol_word_ratio": None},
    "gopher_quality:gopher_too_many_bullets": {"max_bullet_lines_ratio": None},
    "gopher_quality:gopher_too_many_end_ellipsis": {"max_ellipsis_lines_ratio": None},
    "gopher_quality:gopher_below_alpha_threshold": {"max_non_alpha_words_ratio": None},
    "gopher_quality:gopher_enough_stop_words": {"min_stop_words": None},
    "gopher_repetition:dup_para_frac": {"dup_para_frac": None},
    "gopher_repetition:dup_para_char_frac": {"dup_para_char_frac": None},
    "gopher_repetition:dup_line_frac": {"dup_line_frac": None},
    "gopher_repetition:dup_line_char_frac": {"dup_line_char_frac": None},
    "c4_quality:curly_bracket": {"filter_curly_bracket": False},
    # C4 drops lines without terminal punctuation, then a page with < 5 sentences left.
    "c4_quality:too_few_sentences": {"filter_no_terminal_punct": False},
    "fineweb_quality:line_punct_ratio": {"line_punct_thr": 0.0},
    "fineweb_quality:short_line_ratio": {"short_line_thr": 1.0},
    "fineweb_quality:char_dup_ratio": {"char_duplicates_ratio": 1.0},
    "fineweb_quality:list_ratio": {"new_line_ratio": math.inf},
}
# gopher_repetition's n-gram checks are relaxed by leaving their n out of its tuples.
_RELAX_NGRAM = {f"gopher_repetition:top_{n}_gram": ("top_n_grams", n) for n in range(1, 21)}
_RELAX_NGRAM.update({f"gopher_repetition:duplicated_{n}_n_grams": ("dup_n_grams", n) for n in range(1, 21)})
_RELAX_EDUMIX = {"dup_ngram_line", "dup_ngram_doc", "kl_outlier", "dirty_words"}
RELAXABLE = frozenset(_RELAX_KWARGS) | frozenset(_RELAX_NGRAM) | _RELAX_EDUMIX

_GQ_SIGNAL = {  # gopher reason -> (signal, threshold attribute of the filter)
    "gopher_short_doc": ("words", "min_doc_words"),
    "gopher_long_doc": ("words", "max_doc_words"),
    "gopher_below_avg_threshold": ("avg_word_length", "min_avg_word_length"),
    "gopher_above_avg_threshold": ("avg_word_length", "max_avg_word_length"),
    "gopher_too_many_hashes": ("hash_ratio", "max_symbol_word_ratio"),
    "gopher_too_many_ellipsis": ("ellipsis_ratio", "max_symbol_word_ratio"),
    "gopher_too_many_bullets": ("bullet_lines_ratio", "max_bullet_lines_ratio"),
    "gopher_too_many_end_ellipsis": ("end_ellipsis_lines_ratio", "max_ellipsis_lines_ratio"),
    "gopher_below_alpha_threshold": ("alpha_words_ratio", "max_non_alpha_words_ratio"),
    "gopher_enough_stop_words": ("stop_words", "min_stop_words"),
}
_FW_SIGNAL = {
    "line_punct_ratio": ("line_punct_ratio", "line_punct_thr"),
    "short_line_ratio": ("short_line_ratio", "short_line_threshold"),
    "char_dup_ratio": ("char_dup_ratio", "char_duplicates_ratio"),
    "list_ratio": ("list_ratio", "new_line_ratio"),
}
_GR_SIGNAL = {
    "dup_para_frac": "dup_para_frac",
    "dup_para_char_frac": "dup_para_char_frac",
    "dup_line_frac": "dup_line_frac",
    "dup_line_char_frac": "dup_line_char_frac",
}


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


def _fmt(x) -> str:
    if x is None:
        return "none"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def rules_language_of(lang: str | None, cfg) -> str:
    """The language the rules (and the KL corpus distribution) use for a document:
    its own, or `default_language` when it has none or it is undetermined."""
    return lang if lang and lang != "und" else cfg.default_language


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

    # ---- datatrove filter instances -------------------------------------------------

    def _base_kwargs(self, name: str, lang: str) -> dict:
        cfg = self.cfg
        adapt = cfg.adapt_to_language
        if name == "gopher_quality":
            c = cfg.gopher_quality
            kw = {
                "min_doc_words": c.min_doc_words,
                "max_doc_words": c.max_doc_words,
                "min_avg_word_length": c.min_avg_word_length,
                "max_avg_word_length": c.max_avg_word_length,
                "max_symbol_word_ratio": c.max_symbol_word_ratio,
                "max_bullet_lines_ratio": c.max_bullet_lines_ratio,
                "max_ellipsis_lines_ratio": c.max_ellipsis_lines_ratio,
                "max_non_alpha_words_ratio": c.max_non_alpha_words_ratio,
                "min_stop_words": c.min_stop_words,
            }
            words = rules_language.stop_words(lang, dict(c.stop_words)) if adapt else None
            if adapt and words is None:
                kw["min_stop_words"] = None
            kw["stop_words"] = list(words) if words else None
            if adapt and lang in rules_language.UNSPACED:
                kw["min_avg_word_length"] = kw["max_avg_word_length"] = None
            return kw
        if name == "gopher_repetition":
            c = cfg.gopher_repetition
            return {
                "dup_line_frac": c.dup_line_frac,
                "dup_para_frac": c.dup_para_frac,
                "dup_line_char_frac": c.dup_line_char_frac,
                "dup_para_char_frac": c.dup_para_char_frac,
                "top_n_grams": tuple(tuple(x) for x in c.top_n_grams),
                "dup_n_grams": tuple(tuple(x) for x in c.dup_n_grams),
            }
        if name == "c4_quality":
            c = cfg.c4_quality
            kw = {
                "split_paragraph": True,
                "remove_citations": c.remove_citations,
                "filter_no_terminal_punct": c.filter_no_terminal_punct,
                "min_num_sentences": c.min_num_sentences,
                "min_words_per_line": c.min_words_per_line,
                "max_word_length": c.max_word_length,
                "filter_lorem_ipsum": c.filter_lorem_ipsum,
                "filter_javascript": c.filter_javascript,
                "filter_curly_bracket": c.filter_curly_bracket,
                "filter_policy": c.filter_policy,
            }
            if adapt and lang in rules_language.C4_FOREIGN_PUNCT:
                kw["filter_no_terminal_punct"] = False
            if adapt and lang in rules_language.UNSPACED:
                kw["min_words_per_line"] = -1
            return kw
        if name == "fineweb_quality":
            c = cfg.fineweb_quality
            return {
                "line_punct_thr": c.line_punct_thr,
                "line_punct_exclude_zero": c.line_punct_exclude_zero,
                "short_line_thr": c.short_line_thr,
                "short_line_length": c.short_line_length,
                "char_duplicates_ratio": c.char_duplicates_ratio,
                "new_line_ratio": c.new_line_ratio,
            }
        raise KeyError(name)

    def datatrove_filter(self, name: str, lang: str, relaxed: bool):
        """The datatrove filter `name` for `lang`, with the relaxed checks switched off when
        `relaxed`; built once per (name, lang, relaxed)."""
        key = (name, lang, relaxed)
        f = self._filters.get(key)
        if f is None:
            kw = self._base_kwargs(name, lang)
            if relaxed:
                for rule in sorted(self.relaxed_rules):
                    if not rule.startswith(name + ":"):
                        continue
                    if rule in _RELAX_NGRAM:
                        param, n = _RELAX_NGRAM[rule]
                        kw[param] = tuple(x for x in kw[param] if x[0] != n)
                    else:
                        kw.update(_RELAX_KWARGS[rule])
            cls = {
                "gopher_quality": GopherQualityFilter,
                "gopher_repetition": GopherRepetitionFilter,
                "c4_quality": C4QualityFilter,
                "fineweb_quality": FineWebQualityFilter,
            }[name]
            if name == "gopher_quality":
                tok = rules_language.gopher_word_tokenizer(lang, self.cfg.gopher_quality.word_split)
            else:
                tok = rules_language.word_tokenizer(lang)
            f = cls(language=tok, **kw)
            self._filters[key] = f
        return f

    # ---- evaluation -----------------------------------------------------------------

    def evaluate(self, doc: Document, lang: str | None = None, corpus_dist=None) -> RuleResult:
        cfg = self.cfg
        lang = rules_language_of(lang or doc.lang, cfg)
        text = doc.text or ""
        res = RuleResult(text=text)
        sig = res.signals
        sig["n_chars"] = float(len(text))
        truncated = len(text) > cfg.max_eval_chars
        sig["eval_truncated"] = float(truncated)

        cscore, mscore = code_score(text), math_score(text)
        sig["code_score"], sig["math_score"] = cscore, mscore
        is_code_math = cscore >= cfg.code_math.code_threshold or mscore >= cfg.code_math.math_threshold
        relax = cfg.relax_code_math and is_code_math
        sig["code_math_relaxed"] = float(relax)

        def skipped(rule: str) -> bool:
            return relax and rule in self.relaxed_rules

        failed: list[str] = []

        def fail(rule: str, detail: str) -> None:
            failed.append(rule)
            res.details[rule] = detail

        if not any(ch.isalnum() for ch in text[: cfg.max_eval_chars]):
            fail("empty", "no letter or digit in the text")
            res.failed = failed
            return res

        # 1. Llama 3 duplicated n-gram coverage: line removal, document coverage.
        dn = cfg.dup_ngram
        if dn.line_enabled or dn.doc_enabled:
            head, tail, mid_line = _split_bounded(text, cfg.max_eval_chars)
            cov = ngram_coverage(head, dn.n, dn.min_count, dn.min_line_tokens)
            if mid_line:  # the head's last line goes on in the tail: it is not judged
                cov.line_coverage[-1] = 0.0
            sig["dup_ngram.doc_coverage"] = round(cov.doc_coverage, 6)
            if dn.line_enabled and not skipped("dup_ngram_line"):
                new_head, removed, removed_chars = remove_repeated_lines(head, cov.line_coverage, dn.line_threshold)
                sig["dup_ngram.lines_removed"] = float(removed)
                sig["dup_ngram.chars_removed_frac"] = round(removed_chars / len(text), 6) if text else 0.0
                if removed:
                    sep = "" if mid_line or not tail else "\n"
                    res.text = new_head + sep + tail
            if dn.doc_enabled and not skipped("dup_ngram_doc") and cov.doc_coverage > dn.doc_threshold:
                fail(
                    "dup_ngram_doc",
                    f"dup_ngram.doc_coverage={cov.doc_coverage:.4g} > {dn.doc_threshold} "
                    f"({dn.n}-grams seen >= {dn.min_count}x)",
                )
            if not any(ch.isalnum() for ch in res.text[: cfg.max_eval_chars]):
                # Nothing left to judge: the other rules would only repeat "empty".
                removed = int(sig.get("dup_ngram.lines_removed", 0))
                fail("dup_ngram_emptied", f"{removed} repeated line(s) removed, nothing left")
                res.failed = failed
                return res

        eval_text = res.text[: cfg.max_eval_chars]

        # 2. datatrove's filters.
        c4_passed = None  # datatrove's C4 edits the document it passes: reuse that text
        def settled() -> bool:  # drop mode without evaluate_all: the first failure decides
            return bool(failed) and cfg.mode == "drop" and not cfg.evaluate_all

        # With C4's line edits kept, FineWeb judges the edited text, as in FineWeb's own
        # pipeline (C4 before FineWeb); otherwise every filter sees the same text.
        order = DATATROVE_FILTERS_AFTER_C4_EDITS if cfg.c4_quality.apply_line_edits else DATATROVE_FILTERS
        for name in order:
            if settled():
                break
            if not getattr(cfg, name).enabled:
                continue
            f = self.datatrove_filter(name, lang, relax)
            tok = f.language
            verdict = True
            judged = c4_passed.text if name == "fineweb_quality" and c4_passed is not None else eval_text
            for attempt in range(2):
                try:
                    dt_doc = DTDocument(text=judged, id=doc.id)
                    verdict = f.filter(dt_doc)
                    if name == "c4_quality" and verdict is True:
                        c4_passed = dt_doc
                    break
                except Exception as e:  # noqa: BLE001 -- one document must not take a worker down
                    # spaCy's tokenizer, inside datatrove's memory zones, now and then
                    # raises E018 ("can't retrieve string for hash") once; a retry passes.
                    log.warning("%s failed on %s (attempt %d): %r", name, doc.id, attempt + 1, e)
                    if attempt:
                        sig[f"{name}.error"] = 1.0
                        verdict = True
            if cfg.signals:
                try:
                    sig.update(_measure(name, judged, f, tok))
                except Exception as e:  # noqa: BLE001 -- signals are extras; the verdict stands
                    log.warning("%s signals failed on %s: %r", name, doc.id, e)
            keep, reason = verdict if isinstance(verdict, tuple) else (verdict, None)
            if not keep:
                fail(f"{name}:{reason or 'rejected'}", _datatrove_detail(name, reason, f, sig))
        if truncated and cfg.gopher_quality.enabled and cfg.gopher_quality.max_doc_words:
            words_est = len(res.text.split())
            sig["gopher_quality.words_estimate"] = float(words_est)
            if words_est > cfg.gopher_quality.max_doc_words and "gopher_quality:gopher_long_doc" not in failed:
                fail(
                    "gopher_quality:gopher_long_doc",
                    f"gopher_long_doc: whitespace words of the full text={words_est} "
                    f"> {cfg.gopher_quality.max_doc_words}",
                )
        if cfg.c4_quality.apply_line_edits and c4_passed is not None and not truncated:
            res.text = c4_passed.text

        # 3. Dirty words.
        if self.dirty is not None and not skipped("dirty_words") and not settled():
            hits, tokens, ratio = self.dirty.measure(eval_text)
            sig["dirty_words.hits"] = float(hits)
            sig["dirty_words.ratio"] = round(ratio, 6)
            dw = cfg.dirty_words
            if hits >= dw.min_hits and ratio > dw.max_ratio:
                fail("dirty_words", f"dirty_words.ratio={ratio:.4g} > {dw.max_ratio} ({hits} hits / {tokens} tokens)")

        # 4. KL divergence against the corpus distribution of the document's language.
        kl = cfg.kl
        if kl.enabled and corpus_dist is not None and not skipped("kl_outlier") and not settled():
            dist = corpus_dist.get(lang) if isinstance(corpus_dist, Mapping) else corpus_dist
            if dist is not None and dist.total_tokens >= kl.min_corpus_tokens:
                scored = windowed_kl(eval_text, dist, kl.window, kl.windows, kl.prior, kl.min_doc_tokens)
                if scored is not None:
                    value, n_tok = scored
                    sig["kl_divergence"] = round(value, 6)
                    if value > kl.threshold:
                        fail("kl_outlier", f"kl_divergence={value:.4g} > {kl.threshold} (lang={lang}, {n_tok} tokens)")

        res.failed = sorted(failed, key=lambda r: _RULE_ORDER.get(r, len(_RULE_ORDER)))
        return res

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
    names = ["n_chars", "eval_truncated", "code_score", "math_score", "code_math_relaxed"]
    names += ["dup_ngram.doc_coverage", "dup_ngram.lines_removed", "dup_ngram.chars_removed_frac"]
    names += [f"gopher_quality.{s}" for s in dict.fromkeys(v[0] for v in _GQ_SIGNAL.values())]
    names += ["gopher_quality.words_estimate"]
    names += [f"gopher_repetition.{s}" for s in _GR_SIGNAL]
    names += [f"gopher_repetition.top_{n}_gram" for n, _ in cfg.gopher_repetition.top_n_grams]
    names += [f"gopher_repetition.dup_{n}_gram" for n, _ in cfg.gopher_repetition.dup_n_grams]
    names += ["c4_quality.terminal_punct_lines", "c4_quality.curly_brackets", "c4_quality.lorem_ipsum"]
    names += [f"fineweb_quality.{s}" for s in _FW_SIGNAL]
    names += ["dirty_words.hits", "dirty_words.ratio", "kl_divergence"]
    return names


# ---- helpers ----------------------------------------------------------------------------


def _split_bounded(text: str, limit: int) -> tuple[str, str, bool]:
    """(head, tail, cut mid-line): head is at most `limit` characters, cut at a line break
    when there is one (the break itself then belongs to neither part)."""
    if len(text) <= limit:
        return text, "", False
    cut = text.rfind("\n", 0, limit)
    if cut <= 0:
        return text[:limit], text[limit:], True
    return text[:cut], text[cut + 1 :], False


def _r(x: float) -> float:
    return round(float(x), 6)


def _measure(name: str, text: str, f, tok) -> dict[str, float]:
    """The quantities datatrove's filter `name` compares with its thresholds, computed with
    datatrove's own helpers (its `filter()` only returns keep/drop and a reason). Word
    splitting goes through datatrove's cache, so it is not redone."""
    out: dict[str, float] = {}
    if name == "gopher_quality":
        p = "gopher_quality."
        words = split_into_words(text, tok) if text else []
        n_words = len(words)
        non_symbol = [w for w in words if any(ch not in PUNCTUATION_SET for ch in w)]
        out[p + "words"] = float(len(non_symbol))
        out[p + "avg_word_length"] = _r(np.mean([len(w) for w in non_symbol])) if non_symbol else 0.0
        if n_words:
            out[p + "hash_ratio"] = _r(text.count("#") / n_words)
            out[p + "ellipsis_ratio"] = _r((text.count("...") + text.count("…")) / n_words)
            out[p + "alpha_words_ratio"] = _r(sum(any(c.isalpha() for c in w) for w in words) / n_words)
        lines = text.splitlines()
        if lines:
            out[p + "bullet_lines_ratio"] = _r(
                sum(s.lstrip().startswith("•") or s.lstrip().startswith("-") for s in lines) / len(lines)
            )
            out[p + "end_ellipsis_lines_ratio"] = _r(
                sum(s.rstrip().endswith("...") or s.rstrip().endswith("…") for s in lines) / len(lines)
            )
        out[p + "stop_words"] = float(len(f.stop_words.intersection(words)))
    elif name == "gopher_repetition":
        p = "gopher_repetition."
        if not text:
            return out
        paragraphs = f.paragraph_exp.split(text.strip())
        dup, chars = find_duplicates(paragraphs)
        out[p + "dup_para_frac"] = _r(dup / len(paragraphs))
        out[p + "dup_para_char_frac"] = _r(chars / len(text))
        lines = f._line_splitter.split(text)
        dup, chars = find_duplicates(lines)
        out[p + "dup_line_frac"] = _r(dup / len(lines))
        out[p + "dup_line_char_frac"] = _r(chars / len(text))
        words = split_into_words(text, tok)
        for n, _ in f.top_n_grams:
            grams = get_n_grams(words, n)
            out[p + f"top_{n}_gram"] = _r(find_top_duplicate(grams) / len(text)) if grams else 0.0
        for n, _ in f.dup_n_grams:
            out[p + f"dup_{n}_gram"] = _r(find_all_duplicate(words, n) / len(text))
    elif name == "c4_quality":
        p = "c4_quality."
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        out[p + "terminal_punct_lines"] = (
            _r(sum(ln.endswith(END_PUNCTUATION) and not ln.endswith("...") for ln in lines) / len(lines))
            if lines
            else 0.0
        )
        out[p + "curly_brackets"] = float(text.count("{"))
        out[p + "lorem_ipsum"] = float("lorem ipsum" in text.lower())
    elif name == "fineweb_quality":
        p = "fineweb_quality."
        lines = [ln for ln in text.split("\n") if ln.strip() != ""]
        if not lines:
            return out
        out[p + "line_punct_ratio"] = _r(sum(1 for ln in lines if ln.endswith(f.stop_chars)) / len(lines))
        out[p + "short_line_ratio"] = _r(sum(1 for ln in lines if len(ln) <= f.short_line_length) / len(lines))
        flat = len(text.replace("\n", ""))
        out[p + "char_dup_ratio"] = _r(find_duplicates(lines)[1] / flat) if flat else 0.0
        words = split_into_words(text, tok)
        out[p + "list_ratio"] = _r(text.count("\n") / len(words)) if words else 0.0
    return out


def _datatrove_detail(name: str, reason: str | None, f, sig: dict[str, float]) -> str:
    """'<reason>: <signal>=<value> (threshold <t>)' for the ledger."""
    if reason is None:
        return "rejected"

    def show(key: str, threshold) -> str:
        return f"{reason}: {key}={_fmt(sig.get(key))} (threshold {_fmt(threshold)})"

    if name == "gopher_quality" and reason in _GQ_SIGNAL:
        s, attr = _GQ_SIGNAL[reason]
        return show(f"gopher_quality.{s}", getattr(f, attr, None))
    if name == "fineweb_quality" and reason in _FW_SIGNAL:
        s, attr = _FW_SIGNAL[reason]
        return show(f"fineweb_quality.{s}", getattr(f, attr, None))
    if name == "gopher_repetition":
        if reason in _GR_SIGNAL:
            return show(f"gopher_repetition.{reason}", getattr(f, reason, None))
        candidates = [(f"top_{n}_gram", f"top_{n}_gram", t) for n, t in f.top_n_grams]
        candidates += [(f"duplicated_{n}_n_grams", f"dup_{n}_gram", t) for n, t in f.dup_n_grams]
        for want, key, thr in candidates:
            if reason == want:
                return show(f"gopher_repetition.{key}", thr)
    if name == "c4_quality":
        if reason == "curly_bracket":
            return f"curly_bracket: c4_quality.curly_brackets={_fmt(sig.get('c4_quality.curly_brackets'))} (any '{{' drops)"
        if reason == "too_few_sentences":
            return (
                f"too_few_sentences: fewer than {f.min_num_sentences} sentences in lines kept by C4 "
                f"(c4_quality.terminal_punct_lines={_fmt(sig.get('c4_quality.terminal_punct_lines'))})"
            )
    return reason
