"""Training rows for the default classifiers, from judgments where they exist.

The data is read from ``$EDUMIX_SHARED_DATA`` (default ``<repo>/../shared/data``) and never copied
into the repository.

=====================  ===========================================  ==========================
task                   rows                                         label
=====================  ===========================================  ==========================
edu (0-5)              edu/fineweb_c_da_dev.jsonl: Danish pages     mean of the people's labels
                       judged by 1-3 people (FineWeb-C)             (None 0, Minimal 1, Basic 2,
                                                                    Good 3, Excellent 4),
                                                                    rounded; problematic 0
                       edu/fineweb_edu_en_llm_dev.jsonl: English    the LLM's 0-5 score
                       FineWeb-Edu pages scored with its rubric
                       quality/hplt_v2_dev: pages people marked     0
                       porn or unnatural (HPLT v2), English and
                       Norwegian (EDU_HPLT_LANGS)
quality (low/high)     quality/hplt_v2_dev: every row (22 langs)    low: porn, or unnatural
                                                                    >= 0.5; high: the rest
domain                 seed/*.jsonl (source-labelled passages)      the source's domain
edu signals: textbook  seed/*.jsonl: edu_high, math vs general,     course material or not
(edu_signals.py)       low_quality, code (multilingual left out)
edu cross-lingual      the edu rows; English seed passages; their   the label; the edu model's
(edu_crosslingual.py)  translations in the seed (read_parallel_     score; its score of the
                       seed); HPLT's porn/unnatural pages, every    English original; 0
                       language
=====================  ===========================================  ==========================

Why these: the edu score must follow educational value as people (or the FineWeb-Edu rubric)
judge it, not which corpus a passage came from; a model trained on sources learned "textbook
vs web" and did not track value at all (issue 14). FineWeb-C's five levels were written to
mirror FineWeb-Edu's additive rubric, so "Good" (3) is where FineWeb-Edu keeps a page (tier A).
The domain is a property of the source, so source labels stay right for it.

Sources and licences: FineWeb-C (ODC-By 1.0, via a public analysis repository), FineWeb-Edu
(ODC-By 1.0) scored by an LLM (MIT repository), HPLT v2 annotations (MIT repository, CC0 text),
seed passages (per-line licences, see seed/MANIFEST.md). Not used: the LLM-scored English
pages of the public repository Mohamed-Elsafty23/fineweb-edu-scorer (data/training_data.csv),
the only larger set of them found, because it holds the very pages of the English evaluation
set (the dev pages with the same rationales; at about twice their size, likely the held-out
half too): trained on, it would grade the model on pages it learned.

Every row carries a split key (the page id, the HPLT document id, or the text), so cross-
validation never puts one page on both sides.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from edumix.classifiers.fasttext_model import Example
from edumix.core.shared_data import shared_data_dir

FINEWEB_C = Path("edu") / "fineweb_c_da_dev.jsonl"
FINEWEB_EDU_LLM = Path("edu") / "fineweb_edu_en_llm_dev.jsonl"
HPLT_DIR = Path("quality") / "hplt_v2_dev"
FINEWEB_C_LEVELS = {"None": 0, "Minimal": 1, "Basic": 2, "Good": 3, "Excellent": 4}

DOMAIN_BY_SEED = {
    "low_quality": "general",
    "general": "general",
    "code": "code",
    "multilingual": "general",
    "math": "math",
    "edu_high": "general",
}
SEED_FILES = tuple(DOMAIN_BY_SEED)
# HPLT's low pages teach the edu model "0" only in the languages that also have judged pages at
# every level (English) or are close to them (Norwegian, for Danish). Elsewhere every row is a 0,
# and the model learned the language instead: German or Italian textbook prose scored ~0.
EDU_HPLT_LANGS = ("eng_Latn", "nob_Latn", "nno_Latn")


def _num(s: str | None) -> float:
    try:
        return float(s or 0)
    except ValueError:
        return 0.0


def _jsonl(path: Path) -> Iterator[dict]:
    if not path.exists():
        raise FileNotFoundError(f"training data missing: {path} (set EDUMIX_SHARED_DATA)")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def read_seed(root: Path | None = None) -> Iterator[dict]:
    root = root or shared_data_dir()
    for name in SEED_FILES:
        for row in _jsonl(root / "seed" / f"{name}.jsonl"):
            row["file"] = name
            yield row


def read_hplt(root: Path | None = None) -> Iterator[dict]:
    """HPLT v2 annotation rows: {text, id, porn, unnatural, lang_correct, lang, low}. Texts are
    quoted TSV fields that may span lines, so the file is read with csv's default quoting."""
    root = root or shared_data_dir()
    csv.field_size_limit(1 << 30)
    files = sorted((root / HPLT_DIR).glob("*.tsv"))
    if not files:
        raise FileNotFoundError(f"training data missing: {root / HPLT_DIR}/*.tsv (set EDUMIX_SHARED_DATA)")
    for path in files:
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row.get("text"):
                    row["lang"] = path.name.split("_batch")[0]
                    row["low"] = _num(row.get("unnatural")) >= 0.5 or _num(row.get("porn")) >= 1
                    yield row


def read_fineweb_c(root: Path | None = None) -> Iterator[dict]:
    """Danish pages with people's labels: {text, id, labels, score (0-4 mean or None), problematic}."""
    yield from _jsonl((root or shared_data_dir()) / FINEWEB_C)


def read_fineweb_edu_llm(root: Path | None = None) -> Iterator[dict]:
    """English FineWeb-Edu pages with an LLM's 0-5 score: {text, score, rationale}."""
    yield from _jsonl((root or shared_data_dir()) / FINEWEB_EDU_LLM)


def edu_label(score: float | None, problematic: bool = False) -> str | None:
    """A judged page's 0-5 class: the rounded score; problematic pages without a score are 0."""
    if score is None:
        return "0" if problematic else None
    return str(min(5, max(0, int(float(score) + 0.5))))


def edu_examples(root: Path | None = None) -> list[Example]:
    rows = []
    for r in read_fineweb_c(root):
        label = edu_label(r.get("score"), bool(r.get("problematic")))
        if label is not None:
            value = float(r["score"]) if r.get("score") is not None else 0.0
            rows.append(Example(r["text"], label, f"fineweb-c:{r['id']}", "fineweb_c_da", value))
    for r in read_fineweb_edu_llm(root):
        rows.append(Example(r["text"], edu_label(r["score"]), r["text"], "fineweb_edu_en_llm", float(r["score"])))
    for r in read_hplt(root):
        if r["low"] and r["lang"] in EDU_HPLT_LANGS:
            rows.append(Example(r["text"], "0", f"hplt:{r['id']}", "hplt_low"))
    return rows


def quality_examples(root: Path | None = None) -> list[Example]:
    return [
        Example(r["text"], "low" if r["low"] else "high", f"hplt:{r['id']}", f"hplt:{r['lang']}")
        for r in read_hplt(root)
    ]


def domain_examples(root: Path | None = None) -> list[Example]:
    """Seed passages by source; HPLT-derived seed rows are web text of no one domain: left out."""
    return [
        Example(r["text"], DOMAIN_BY_SEED[r["file"]], r["text"], r["file"])
        for r in read_seed(root)
        if not r["source"].startswith("hplt-project/")
    ]


# Seed passages that say the same thing in English and in a translation (whole documents, cut
# into passages independently): opensource.guide's articles (_articles/<lang>/X.md against
# _articles/X.md) and the CPython docs (python-docs-<lang>:P against python-docs-pt-br:P#msgid,
# the English source strings). The edu cross-lingual head learns from them (a translation at its
# original's score, `edu_crosslingual`) and `evaluate.languages` measures on them.
_PARALLEL = (
    (re.compile(r"github/opensource\.guide:_articles/(?:(?P<lang>[a-z]{2}(?:-[a-z]+)?)/)?(?P<doc>[^/]+\.md)$"), "osg"),
    (re.compile(r"python/python-docs-(?P<lang>[a-z-]+):(?P<doc>[^#]+?)(?P<msgid>#msgid)?$"), "python-docs"),
)


def parallel_document(source: str) -> tuple[str, bool] | None:
    """(document key, is the English original) of a seed passage that has a counterpart in
    another language; None for the rest."""
    for pattern, corpus in _PARALLEL:
        if m := pattern.match(source):
            english = m.group("lang") is None if corpus == "osg" else m.group("msgid") is not None
            return f"{corpus}:{m.group('doc')}", english
    return None


def read_parallel_seed(root: Path | None = None) -> Iterator[dict]:
    """Seed passages of documents that exist in English and in translation: {text, doc, english,
    file, source}; the English originals come from `general` and `edu_high`, the translations
    from `multilingual`."""
    for row in read_seed(root):
        found = parallel_document(row["source"])
        if found and (found[1] == (row["file"] != "multilingual")):
            yield {**row, "doc": found[0], "english": found[1]}


def unlabelled_pool(root: Path | None = None) -> list[str]:
    """Every text the shipped models may learn from without its label (seed passages, judged
    pages, HPLT rows), in a fixed order: the static embedder's token statistics come from it."""
    texts = [r["text"] for r in read_seed(root)]
    texts += [r["text"] for r in read_fineweb_c(root)]
    texts += [r["text"] for r in read_fineweb_edu_llm(root)]
    texts += [r["text"] for r in read_hplt(root)]
    return texts


def build_rows(root: Path | None = None) -> dict[str, list[Example]]:
    """Examples per task: {"quality": [...], "edu": [...], "domain": [...]}."""
    return {"quality": quality_examples(root), "edu": edu_examples(root), "domain": domain_examples(root)}


def read_user_labels(path: Path, task: str) -> list[Example]:
    """A user's labels as training rows: JSONL objects with `text` and either `label` (any
    task's label) or, for edu, a numeric `score` on the 0-5 scale (rounded, as the shipped rows);
    optional `id` (the split key) and `lang`. ValueError names the line at fault."""
    from edumix.classifiers.fasttext_model import TASK_LABELS

    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                value = None
                if "label" in obj:
                    label = str(obj["label"])
                elif task == "edu" and isinstance(obj.get("score"), int | float):
                    value = float(obj["score"])
                    label = edu_label(value)
                else:
                    raise KeyError("label" if task != "edu" else "label or a numeric score")
                key = str(obj.get("id") or obj["text"])
                rows.append(Example(obj["text"], label, key, obj.get("lang") or "", value))
            except (ValueError, KeyError, TypeError) as e:
                want = "text and label" if task != "edu" else "text and label (or score, 0-5)"
                raise ValueError(f"{path}:{n}: expected a JSON object with {want} ({e})") from e
    bad = sorted({r.label for r in rows} - set(TASK_LABELS[task]))
    if bad:
        raise ValueError(f"labels {bad} are not {task} labels ({', '.join(TASK_LABELS[task])})")
    if not rows:
        raise ValueError(f"{path}: no labelled rows")
    return rows
