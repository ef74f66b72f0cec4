"""One adapter per datatrove quality filter: everything edumix knows about it in one class.

An adapter says which reasons the filter can return (datatrove 0.10.1, in its own check
order), how the run config and the document's language become its keyword arguments,
what relaxing one of its checks means for code/math pages, how to measure the quantities
it compares with its thresholds (its `filter()` returns only keep/drop and a reason), and
how a failure reads in the ledger. Adding a datatrove filter is one adapter in `ADAPTERS`
(plus its config section).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
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

from edumix.filters import rules_language


def fmt(x) -> str:
    if x is None:
        return "none"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _r(x: float) -> float:
    return round(float(x), 6)


class DatatroveRule:
    """The shared shape; subclasses fill the class attributes and `kwargs`/`measure`."""

    name: ClassVar[str]
    filter_cls: ClassVar[type]
    reasons: ClassVar[tuple[str, ...]]
    # reason -> the keyword arguments that switch that check off
    relax_kwargs: ClassVar[dict[str, dict[str, Any]]] = {}
    # reason -> (signal name under `name.`, the filter attribute holding its threshold)
    thresholds: ClassVar[dict[str, tuple[str, str | None]]] = {}

    def rule_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}:{r}" for r in self.reasons)

    def relaxable(self) -> frozenset[str]:
        return frozenset(f"{self.name}:{r}" for r in self.relax_kwargs)

    def kwargs(self, cfg, lang: str) -> dict[str, Any]:
        raise NotImplementedError

    def relax(self, kw: dict[str, Any], reason: str) -> None:
        kw.update(self.relax_kwargs[reason])

    def tokenizer(self, cfg, lang: str):
        return rules_language.word_tokenizer(lang)

    def build(self, cfg, lang: str, relaxed_rules: frozenset[str] = frozenset()):
        """The filter for `lang`, with the relaxed checks among `relaxed_rules` off."""
        kw = self.kwargs(cfg, lang)
        for rule in sorted(relaxed_rules):
            if rule.startswith(self.name + ":"):
                self.relax(kw, rule.split(":", 1)[1])
        return self.filter_cls(language=self.tokenizer(cfg, lang), **kw)

    def signal_names(self, cfg) -> list[str]:
        return [f"{self.name}.{s}" for s in dict.fromkeys(s for s, _ in self.thresholds.values())]

    def measure(self, text: str, f, tok) -> dict[str, float]:
        raise NotImplementedError

    def detail(self, reason: str | None, f, sig: dict[str, float]) -> str:
        """'<reason>: <signal>=<value> (threshold <t>)' for the ledger."""
        if reason is None:
            return "rejected"
        if reason in self.thresholds:
            signal, attr = self.thresholds[reason]
            return self._show(reason, f"{self.name}.{signal}", sig, getattr(f, attr, None) if attr else None)
        return reason

    @staticmethod
    def _show(reason: str, key: str, sig: dict[str, float], threshold) -> str:
        return f"{reason}: {key}={fmt(sig.get(key))} (threshold {fmt(threshold)})"


class GopherQuality(DatatroveRule):
    name = "gopher_quality"
    filter_cls = GopherQualityFilter
    reasons = (
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
    )
    # Gopher's hash and ellipsis checks share one threshold, so relaxing one relaxes both.
    relax_kwargs = {
        "gopher_below_avg_threshold": {"min_avg_word_length": None},
        "gopher_above_avg_threshold": {"max_avg_word_length": None},
        "gopher_too_many_hashes": {"max_symbol_word_ratio": None},
        "gopher_too_many_ellipsis": {"max_symbol_word_ratio": None},
        "gopher_too_many_bullets": {"max_bullet_lines_ratio": None},
        "gopher_too_many_end_ellipsis": {"max_ellipsis_lines_ratio": None},
        "gopher_below_alpha_threshold": {"max_non_alpha_words_ratio": None},
        "gopher_enough_stop_words": {"min_stop_words": None},
    }
    thresholds = {
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

    def kwargs(self, cfg, lang: str) -> dict[str, Any]:
        c, adapt = cfg.gopher_quality, cfg.adapt_to_language
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

    def tokenizer(self, cfg, lang: str):
        return rules_language.gopher_word_tokenizer(lang, cfg.gopher_quality.word_split)

    def signal_names(self, cfg) -> list[str]:
        return super().signal_names(cfg) + [f"{self.name}.words_estimate"]

    def measure(self, text: str, f, tok) -> dict[str, float]:
        out: dict[str, float] = {}
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
        return out


class GopherRepetition(DatatroveRule):
    name = "gopher_repetition"
    filter_cls = GopherRepetitionFilter
    reasons = (
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
    )
    _FRACTIONS = ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac")
    relax_kwargs = {r: {r: None} for r in _FRACTIONS}
    thresholds = {r: (r, r) for r in _FRACTIONS}
    # The n-gram checks are relaxed by leaving their n out of the filter's tuples.
    _NGRAM = {f"top_{n}_gram": ("top_n_grams", n) for n in range(1, 21)} | {
        f"duplicated_{n}_n_grams": ("dup_n_grams", n) for n in range(1, 21)
    }

    def relaxable(self) -> frozenset[str]:
        return super().relaxable() | {f"{self.name}:{r}" for r in self._NGRAM}

    def relax(self, kw: dict[str, Any], reason: str) -> None:
        if reason in self._NGRAM:
            param, n = self._NGRAM[reason]
            kw[param] = tuple(x for x in kw[param] if x[0] != n)
        else:
            super().relax(kw, reason)

    def kwargs(self, cfg, lang: str) -> dict[str, Any]:
        c = cfg.gopher_repetition
        return {
            "dup_line_frac": c.dup_line_frac,
            "dup_para_frac": c.dup_para_frac,
            "dup_line_char_frac": c.dup_line_char_frac,
            "dup_para_char_frac": c.dup_para_char_frac,
            "top_n_grams": tuple(tuple(x) for x in c.top_n_grams),
            "dup_n_grams": tuple(tuple(x) for x in c.dup_n_grams),
        }

    def signal_names(self, cfg) -> list[str]:
        c = cfg.gopher_repetition
        return (
            super().signal_names(cfg)
            + [f"{self.name}.top_{n}_gram" for n, _ in c.top_n_grams]
            + [f"{self.name}.dup_{n}_gram" for n, _ in c.dup_n_grams]
        )

    def measure(self, text: str, f, tok) -> dict[str, float]:
        out: dict[str, float] = {}
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
        return out

    def detail(self, reason: str | None, f, sig: dict[str, float]) -> str:
        candidates = [(f"top_{n}_gram", f"top_{n}_gram", t) for n, t in f.top_n_grams]
        candidates += [(f"duplicated_{n}_n_grams", f"dup_{n}_gram", t) for n, t in f.dup_n_grams]
        for want, key, thr in candidates:
            if reason == want and reason not in self.thresholds:
                return self._show(reason, f"{self.name}.{key}", sig, thr)
        return super().detail(reason, f, sig)


class C4Quality(DatatroveRule):
    name = "c4_quality"
    filter_cls = C4QualityFilter
    reasons = ("lorem_ipsum", "curly_bracket", "too_few_sentences")
    relax_kwargs = {
        "curly_bracket": {"filter_curly_bracket": False},
        # C4 drops lines without terminal punctuation, then a page with < 5 sentences left.
        "too_few_sentences": {"filter_no_terminal_punct": False},
    }

    def kwargs(self, cfg, lang: str) -> dict[str, Any]:
        c, adapt = cfg.c4_quality, cfg.adapt_to_language
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

    def signal_names(self, cfg) -> list[str]:
        return [f"{self.name}.{s}" for s in ("terminal_punct_lines", "curly_brackets", "lorem_ipsum")]

    def measure(self, text: str, f, tok) -> dict[str, float]:
        p = "c4_quality."
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        terminal = sum(ln.endswith(END_PUNCTUATION) and not ln.endswith("...") for ln in lines)
        return {
            p + "terminal_punct_lines": _r(terminal / len(lines)) if lines else 0.0,
            p + "curly_brackets": float(text.count("{")),
            p + "lorem_ipsum": float("lorem ipsum" in text.lower()),
        }

    def detail(self, reason: str | None, f, sig: dict[str, float]) -> str:
        if reason == "curly_bracket":
            return (
                f"curly_bracket: c4_quality.curly_brackets={fmt(sig.get('c4_quality.curly_brackets'))} (any '{{' drops)"
            )
        if reason == "too_few_sentences":
            return (
                f"too_few_sentences: fewer than {f.min_num_sentences} sentences in lines kept by C4 "
                f"(c4_quality.terminal_punct_lines={fmt(sig.get('c4_quality.terminal_punct_lines'))})"
            )
        return super().detail(reason, f, sig)


class FineWebQuality(DatatroveRule):
    name = "fineweb_quality"
    filter_cls = FineWebQualityFilter
    reasons = ("empty", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")
    relax_kwargs = {
        "line_punct_ratio": {"line_punct_thr": 0.0},
        "short_line_ratio": {"short_line_thr": 1.0},
        "char_dup_ratio": {"char_duplicates_ratio": 1.0},
        "list_ratio": {"new_line_ratio": math.inf},
    }
    thresholds = {
        "line_punct_ratio": ("line_punct_ratio", "line_punct_thr"),
        "short_line_ratio": ("short_line_ratio", "short_line_threshold"),
        "char_dup_ratio": ("char_dup_ratio", "char_duplicates_ratio"),
        "list_ratio": ("list_ratio", "new_line_ratio"),
    }

    def kwargs(self, cfg, lang: str) -> dict[str, Any]:
        c = cfg.fineweb_quality
        return {
            "line_punct_thr": c.line_punct_thr,
            "line_punct_exclude_zero": c.line_punct_exclude_zero,
            "short_line_thr": c.short_line_thr,
            "short_line_length": c.short_line_length,
            "char_duplicates_ratio": c.char_duplicates_ratio,
            "new_line_ratio": c.new_line_ratio,
        }

    def measure(self, text: str, f, tok) -> dict[str, float]:
        out: dict[str, float] = {}
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


ADAPTERS: dict[str, DatatroveRule] = {
    a.name: a for a in (GopherQuality(), GopherRepetition(), C4Quality(), FineWebQuality())
}

# Evaluation order: the three that split the whole text into words first, so datatrove's
# tokenization cache (5 entries) still holds it; C4 splits every line into sentences.
EVAL_ORDER = ("gopher_quality", "gopher_repetition", "fineweb_quality", "c4_quality")
# With C4's line edits kept, FineWeb judges the C4-edited text (FineWeb's pipeline order).
EVAL_ORDER_AFTER_C4_EDITS = ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality")
