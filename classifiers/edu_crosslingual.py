"""The edu score for languages without judged pages: one ridge on the multilingual static
embedding and the text statistics, taught across languages (issue 14).

fastText carries the edu level by language, and it learned one only where there are judged
pages (English, Danish): a translation scored 2.2 points below its English original on
average (3.9 for Russian), and inside such a language the score barely varied (sd 0.1-0.8,
against 2.0 in English), so nothing reached tier A and porn scored like prose. A constant shift
per language cannot fix a score that does not vary (`evaluate.languages.level_shift_cv`).

The cross-lingual head is a student of the judged model, as FineWeb-Edu's classifier is of its
LLM, taught on text in many languages at once:
  - the judged rows, at their labels (Danish people's mean, the English LLM's score, HPLT's
    low English and Norwegian pages at 0);
  - the English seed passages, at the judged model's score (teacher -> student);
  - their translations in the seed (opensource.guide, the CPython docs; 27 languages), at the
    judged model's mean score of the English original: the same text in any language;
  - HPLT's porn or unnatural pages in every language, at 0 (the rubric's "no educational value").
It reads what the static embedding knows in 100+ languages, so it ranks pages the same way
whatever their language; it replaces the judged model's score for the pages whose language
has no judged pages (`judged`: languages with >= MIN_JUDGED_ROWS judged rows), and leaves
English and Danish (or a user's judged languages) as they were.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edumix.classifiers.linear_head import LinearHead, fit_ridge, head_features, head_target, within_set_targets

FEATURES = "static+stats"
UNKNOWN = ("", "und")
# judged rows that make a language the judged model's: it has learned that language's level
# from them (fewer: likely pages language ID got wrong, such as 4 Danish pages called English)
MIN_JUDGED_ROWS = 5


def crosslingual_path(model_path: str | Path) -> Path:
    """The cross-lingual head that belongs to an edu model file: edu.ftz -> edu.crosslingual.json."""
    return Path(model_path).with_suffix(".crosslingual.json")


@dataclass(frozen=True)
class CrossLingual:
    head: LinearHead  # ridge on the static embedding and the text statistics
    judged: tuple[str, ...]  # languages the judged model keeps
    rows: dict[str, int]  # what it was taught on: {kind: rows}

    def routed(self, langs: Sequence[str]) -> np.ndarray:
        """(n,) bool: the pages this head scores (a known language without judged pages)."""
        return np.array([lang not in self.judged and lang not in UNKNOWN for lang in langs], bool)

    def predict(self, embedding: np.ndarray, stats: np.ndarray) -> np.ndarray:
        """(n,) edu scores in [0, 5] from the (n, d) embedding and (n, 20) statistics."""
        return np.clip(self.head.predict(head_features(self.head.features, embedding, stats)), 0.0, 5.0)

    def save(self, path: str | Path) -> None:
        body = {"judged": list(self.judged), "rows": self.rows, "head": self.head.to_dict()}
        Path(path).write_text(json.dumps(body, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> CrossLingual:
        try:
            body = json.loads(Path(path).read_text(encoding="utf-8"))
            head = LinearHead.from_dict(body["head"], path)
            return cls(head, tuple(str(x) for x in body["judged"]), {str(k): int(v) for k, v in body["rows"].items()})
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: not an edu cross-lingual head file ({e})") from e


def judged_languages(langs: Sequence[str], labels: Sequence, sets: Sequence[str], min_rows: int) -> tuple[str, ...]:
    """Languages with >= min_rows training rows in judged sets (sets whose labels vary: the
    rows `within_set_targets` does not leave out)."""
    judged = ~np.isnan(within_set_targets(labels, sets))
    count = Counter(lang for lang, j in zip(langs, judged, strict=True) if j and lang not in UNKNOWN)
    return tuple(sorted(lang for lang, n in count.items() if n >= min_rows))


@dataclass(frozen=True)
class TeachingRow:
    text: str
    target: float
    kind: str  # judged | teacher_en | translation | hplt_low
    group: str  # what may not be split across folds (a page; a translated document)


def teaching_rows(teacher, rows, root: Path | None = None) -> list[TeachingRow]:
    """The cross-lingual head's rows (see the module docstring). `teacher`: the judged
    EduClassifier (fastText, its head and signals); `rows`: its training rows
    (`fasttext_model.Example`)."""
    from edumix.classifiers.edu_signals import languages
    from edumix.classifiers.training_data import read_hplt, read_parallel_seed, read_seed

    out = [TeachingRow(r.text, float(head_target(r)), "judged", r.key) for r in rows]
    seen = {r.key for r in rows}
    seeds = [s for s in read_seed(root) if s["file"] != "multilingual"]
    seed_langs = languages([s["text"] for s in seeds])
    english = [s["text"] for s, lang in zip(seeds, seed_langs, strict=True) if lang == "en"]
    scores = dict(zip(english, teacher.predict(english, langs=["en"] * len(english)), strict=True))
    out += [TeachingRow(t, float(scores[t]), "teacher_en", f"seed:{t}") for t in english]
    parallel = list(read_parallel_seed(root))
    en_rows = [r for r in parallel if r["english"]]
    # the English originals are seed passages scored above, unless language ID called one otherwise
    missing = list(dict.fromkeys(r["text"] for r in en_rows if r["text"] not in scores))
    scores.update(zip(missing, teacher.predict(missing, langs=["en"] * len(missing)), strict=True))
    originals = defaultdict(list)  # the English original's passages' scores, per document
    for r in en_rows:
        originals[r["doc"]].append(scores[r["text"]])
    translated = [r for r in parallel if not r["english"] and r["doc"] in originals]
    for r, lang in zip(translated, languages([r["text"] for r in translated]), strict=True):
        if lang != "en":
            out.append(TeachingRow(r["text"], float(np.mean(originals[r["doc"]])), "translation", f"doc:{r['doc']}"))
    out += [
        TeachingRow(r["text"], 0.0, "hplt_low", f"hplt:{r['id']}")
        for r in read_hplt(root)
        if r["low"] and f"hplt:{r['id']}" not in seen
    ]
    return out


def fit_crosslingual(embed, teach: Sequence[TeachingRow], judged: Sequence[str]) -> CrossLingual:
    """The ridge on `teach` (`embed`: texts -> (n, d) static embedding)."""
    from edumix.classifiers.text_stats import text_stats

    texts = [r.text for r in teach]
    X = head_features(FEATURES, embed(texts), text_stats(texts))
    head = dataclasses.replace(fit_ridge(X, [r.target for r in teach]), features=FEATURES)
    return CrossLingual(head, tuple(judged), dict(Counter(r.kind for r in teach)))


def train_crosslingual(rows, model_path: str | Path, root: Path | None = None) -> Path | None:
    """Fit and save the cross-lingual head beside an edu model trained on `rows` (the model, its
    head and signals already saved at `model_path`: they are the teacher); None, and no file,
    when the seed passages or HPLT's pages are not at hand ($EDUMIX_SHARED_DATA)."""
    from edumix.classifiers.edu_signals import languages
    from edumix.classifiers.models import EduClassifier
    from edumix.classifiers.static_embed import shipped_embedder

    out = crosslingual_path(model_path)
    out.unlink(missing_ok=True)  # never leave an older file beside a new model
    teacher = EduClassifier.load(model_path)
    try:
        teach = teaching_rows(teacher, rows, root)
    except FileNotFoundError:
        return None
    texts = [r.text for r in rows]
    judged = judged_languages(
        languages(texts), [head_target(r) for r in rows], [r.source for r in rows], MIN_JUDGED_ROWS
    )
    fit_crosslingual(shipped_embedder().embed, teach, judged).save(out)
    return out
