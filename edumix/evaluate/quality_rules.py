"""Heuristic filters and language ID against human labels (HPLT v2 dev annotations): the
loaders and the scoring that ``benchmarks/filters_eval.py`` prints and tests/test_heuristics.py
and tests/test_langid.py hold to floors.

Data: ``$EDUMIX_SHARED_DATA/quality/hplt_v2_dev/*.tsv`` (default ``<repo>/../shared/data``):
2,400 HPLT v2 excerpts, 22 languages, labelled by native speakers: ``porn`` (1/empty),
``unnatural`` (SEO word lists, mostly boilerplate: 1/empty), ``lang_correct`` (0/1; empty
= not labelled). The file name gives the expected language (``eng_Latn_batch0.tsv``).

Each text is two 500-character excerpts of one document (the beginning of its first and
of its second half), joined by a ``..........`` line. Both excerpts end, and the second
also starts, in the middle of a word, and most documents lost their line breaks. Two
views of the same rows (``prepare``'s ``view``; the benchmark's ``--view``):

- ``raw``: the separator replaced by a line break, nothing else. Every excerpt then ends
  without terminal punctuation, which the C4/FineWeb punctuation rules punish for reasons
  that have nothing to do with the page.
- ``trimmed`` (default): additionally each excerpt's cut-off ends are trimmed back to the
  nearest sentence boundary (terminal punctuation, any script), when it has one; an
  excerpt with no sentence boundary (a keyword list...) is left as it is.

Two checks measure length, and an excerpt of at most 1,000 characters fails them for
reasons that say nothing about its page: C4's "at least 5 sentences" (flags half of the
good Arabic, Greek, Catalan and Spanish excerpts, whose sentences are long) and Gopher's
"at least 50 words". The summary therefore also shows "any rule" without those two.

What is measured (the pipeline's own pieces, run as the pipeline runs them):

1. Language ID (``filters.langid.LanguageIdentifier``) accuracy per file language, on the
   rows with ``lang_correct == 1`` (the text is in the file's language). ISO 639-3 codes
   map to the identifier's labels (``nob`` -> ``no``: py3langid has no ``nb``; ``pes`` ->
   ``fa``; ``ast`` has no label at all).
2. The corpus token distribution per identified language, summed from every row's
   ``token_counts`` (what the pipeline's global combine computes) -> ``kl_outlier``.
3. ``QualityRules.evaluate`` on every row with the identified language: per rule, how
   many rows it flags, precision and recall against "unnatural or porn", then "any rule"
   overall, per script group, for edumix's own rules only, and for datatrove's filters
   alone (baseline: datatrove's four filters, their default settings, English tokenizer
   and stop words, no language adaptation -- what calling them as documented gives).
4. Code/math awareness on the seed corpora (``seed/*.jsonl``): how often code, math and
   textbook passages are flagged with ``relax_code_math`` on and off, and how often the
   detector fires per corpus.
"""

from __future__ import annotations

import collections
import csv
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from edumix.core.config import FiltersConfig
from edumix.core.record import Document
from edumix.core.shared_data import shared_data_dir
from edumix.filters.heuristics import (
    RULE_NAMES,
    QualityRules,
    corpus_distribution,
    token_counts,
)
from edumix.filters.langid import LanguageIdentifier

SHARED = shared_data_dir()
HPLT = SHARED / "quality" / "hplt_v2_dev"
SEED = SHARED / "seed"

# File language (ISO 639-3) -> the identifier's label; None: the model has no such label.
ISO3_TO_LABEL = {
    "ara": "ar",
    "ast": None,
    "ben": "bn",
    "cat": "ca",
    "ces": "cs",
    "deu": "de",
    "ell": "el",
    "eng": "en",
    "fin": "fi",
    "gla": "gd",
    "hin": "hi",
    "mar": "mr",
    "nld": "nl",
    "nno": "nn",
    "nob": "no",
    "pes": "fa",
    "pol": "pl",
    "rus": "ru",
    "slk": "sk",
    "spa": "es",
    "tur": "tr",
    "zho": "zh",
}
SCRIPT_GROUP = {
    "Latn": "Latin",
    "Cyrl": "Cyrillic",
    "Grek": "Greek",
    "Arab": "Arabic",
    "Deva": "Indic",
    "Beng": "Indic",
    "Hans": "Han",
}

_SEPARATOR = re.compile(r"\s*\n?\.{10}\n?\s*")
_SENT_END = re.compile(r"(?:(?<!\.)\.(?!\.)|[!?。！？।॥۔؟])['\"”’»)]*(?=\s|$)")


@dataclass
class Row:
    id: str
    file_lang: str  # ISO 639-3, from the file name
    script: str
    text: str
    porn: bool
    unnatural: bool
    lang_correct: str  # "1", "0", "0.5" or "" (not labelled)

    @property
    def bad(self) -> bool:
        return self.porn or self.unnatural


def _flag(value: str) -> bool:
    return value.strip() == "1"


def trim_excerpt(part: str, first: bool) -> str:
    """Cut a mid-word excerpt back to sentence boundaries: drop the unfinished tail (and,
    for the second excerpt, the unfinished head) when a terminal mark exists."""
    ends = list(_SENT_END.finditer(part))
    if not ends:
        return part.strip()
    out = part[: ends[-1].end()]
    if not first and len(ends) > 1:
        out = out[ends[0].end() :]
    return out.strip()


def prepare(text: str, view: str) -> str:
    parts = _SEPARATOR.split(text, maxsplit=1)
    if view == "trimmed":
        parts = [trim_excerpt(p, i == 0) for i, p in enumerate(parts)]
    return "\n".join(p.strip() for p in parts if p.strip())


def load_rows(directory: Path = HPLT, view: str = "trimmed") -> list[Row]:
    csv.field_size_limit(1 << 30)
    rows = []
    for path in sorted(directory.glob("*.tsv")):
        code, script = path.stem.split("_")[:2]
        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                rows.append(
                    Row(
                        id=r["id"],
                        file_lang=code,
                        script=script,
                        text=prepare(r["text"], view),
                        porn=_flag(r["porn"]),
                        unnatural=_flag(r["unnatural"]),
                        lang_correct=r["lang_correct"].strip(),
                    )
                )
    return rows


def doc_of(row_id: str, text: str, lang: str | None = None) -> Document:
    return Document(
        id=row_id,
        url=None,
        crawl_date=None,
        source_file="hplt",
        source_offset=0,
        source_format="tsv",
        text=text,
        lang=lang,
    )


# ---- language ID ------------------------------------------------------------------------


def langid_accuracy(rows: list[Row], ident: LanguageIdentifier) -> tuple[dict, dict[str, str], float]:
    """Per file language: (n, correct, top confusions) over lang_correct == 1 rows; also the
    label of every row (for the rules) and docs/s."""
    labels: dict[str, str] = {}
    per = collections.defaultdict(lambda: [0, 0, collections.Counter()])
    t0 = time.perf_counter()
    for row in rows:
        labels[row.id + row.file_lang] = ident.identify(row.text)[0]
    rate = len(rows) / (time.perf_counter() - t0)
    for row in rows:
        if row.lang_correct != "1":
            continue
        got = labels[row.id + row.file_lang]
        want = ISO3_TO_LABEL.get(row.file_lang)
        cell = per[row.file_lang]
        cell[0] += 1
        cell[1] += got == want
        if got != want:
            cell[2][got] += 1
    return dict(per), labels, rate


# ---- rules --------------------------------------------------------------------------------


def datatrove_only_config() -> FiltersConfig:
    """Baseline: datatrove's four filters with their own defaults (C4's terminal-punctuation
    line filter on, Gopher counting punctuation tokens as words), English tokenizer and
    stop words for every language (no adaptation), no edumix rule, no code/math relaxation."""
    return FiltersConfig(
        adapt_to_language=False,
        relax_code_math=False,
        default_language="en",
        gopher_quality={"word_split": "datatrove"},
        c4_quality={"filter_no_terminal_punct": True},
        dup_ngram={"line_enabled": False, "doc_enabled": False},
        dirty_words={"enabled": False},
        kl={"enabled": False},
    )


def evaluate_rows(rows, labels, cfg: FiltersConfig, use_lang: bool = True, with_kl: bool = True):
    """Failed rules per row (list aligned with rows), and docs/s."""
    rules = QualityRules(cfg)
    dists = None
    if with_kl and cfg.kl.enabled:
        totals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for row in rows:
            lang = labels[row.id + row.file_lang]
            totals[lang].update(token_counts(row.text, cfg.kl.vocab_size, cfg.kl.max_doc_tokens))
        dists = {
            lang: corpus_distribution(total, cfg.kl.vocab_size, cfg.kl.top_k, cfg.kl.alpha)
            for lang, total in totals.items()
        }
    out, signals = [], []
    t0 = time.perf_counter()
    for row in rows:
        lang = labels[row.id + row.file_lang] if use_lang else None
        res = rules.evaluate(doc_of(row.id, row.text), lang if use_lang else "en", dists)
        out.append(res.failed)
        signals.append(res.signals)
    return out, signals, len(rows) / (time.perf_counter() - t0)


# Tag mode's point: thresholds tuned from recorded signals, without re-running the rules.
TUNING = (
    ("kl_divergence", ">", (1.6, 1.7, 1.8, 1.9, 2.0)),
    ("dirty_words.ratio", ">", (0.0, 0.005, 0.01, 0.02)),
    ("dup_ngram.doc_coverage", ">", (0.2, 0.3, 0.4, 0.5)),
    ("fineweb_quality.line_punct_ratio", "<", (0.12, 0.3, 0.5)),
)


def tuning_table(rows, signals):
    gold = [r.bad for r in rows]
    out = []
    for key, op, thresholds in TUNING:
        for thr in thresholds:
            flags = [(key in s) and (s[key] > thr if op == ">" else s[key] < thr) for s in signals]
            out.append((f"{key} {op} {thr}", *pr(flags, gold)))
    return out


def pr(flags: list[bool], gold: list[bool]) -> tuple[int, int, float, float]:
    tp = sum(f and g for f, g in zip(flags, gold))
    n = sum(flags)
    pos = sum(gold)
    return n, tp, (tp / n if n else float("nan")), (tp / pos if pos else float("nan"))


def rule_table(rows, failed) -> list[tuple[str, int, int, float, float]]:
    gold = [r.bad for r in rows]
    seen = collections.Counter(rule for f in failed for rule in f)
    order = [r for r in RULE_NAMES if r in seen] + sorted(r for r in seen if r not in RULE_NAMES)
    return [(rule, *pr([rule in f for f in failed], gold)) for rule in order]


def group_table(rows, failed, key) -> list[tuple[str, int, int, int, float, float]]:
    groups = collections.defaultdict(list)
    for i, row in enumerate(rows):
        groups[key(row)].append(i)
    out = []
    for name, idx in sorted(groups.items()):
        flags = [bool(failed[i]) for i in idx]
        gold = [rows[i].bad for i in idx]
        out.append((name, len(idx), sum(gold), *pr(flags, gold)))
    return out


EDUMIX_RULES = ("empty", "dup_ngram_doc", "dup_ngram_emptied", "dirty_words", "kl_outlier")


def summary(rows, failed, only=None) -> tuple[int, int, float, float]:
    gold = [r.bad for r in rows]
    if only is None:
        flags = [bool(f) for f in failed]
    else:
        flags = [any(only(rule) for rule in f) for f in failed]
    return pr(flags, gold)


# ---- code / math on the seed corpora --------------------------------------------------------


def seed_passages(directory: Path = SEED) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in ("code", "math", "edu_high", "general", "low_quality"):
        path = directory / f"{name}.jsonl"
        if not path.exists():
            continue
        rows = [json.loads(line) for line in path.open(encoding="utf-8")]
        if name == "edu_high":
            out["edu_python"] = [r["text"] for r in rows if "python" in r["source"].lower()]
            out["edu_other"] = [r["text"] for r in rows if "python" not in r["source"].lower()]
        else:
            out[name] = [r["text"] for r in rows]
    return out


def code_math_table(passages: dict[str, list[str]]):
    """Per corpus: detected code/math share; flagged share with relax on / off; and the
    C4 curly-bracket + terminal-punctuation rules' share with relax on / off."""
    on = QualityRules(FiltersConfig())
    off = QualityRules(FiltersConfig(relax_code_math=False))
    punct_rules = {"c4_quality:curly_bracket", "c4_quality:too_few_sentences", "fineweb_quality:line_punct_ratio"}
    out = []
    for name, texts in passages.items():
        det = flagged_on = flagged_off = punct_on = punct_off = 0
        for i, text in enumerate(texts):
            doc = doc_of(f"{name}{i}", text)
            r_on = on.evaluate(doc, "en")
            r_off = off.evaluate(doc, "en")
            det += r_on.signals["code_math_relaxed"] > 0
            flagged_on += bool(r_on.failed)
            flagged_off += bool(r_off.failed)
            punct_on += any(r in punct_rules for r in r_on.failed)
            punct_off += any(r in punct_rules for r in r_off.failed)
        n = len(texts)
        out.append((name, n, det / n, flagged_off / n, flagged_on / n, punct_off / n, punct_on / n))
    return out
