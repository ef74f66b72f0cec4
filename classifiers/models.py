"""The three default classifiers: load once, predict a batch of texts.

q = QualityClassifier.load()          # classifiers/models/quality.ftz (+ quality.head.json)
q.predict(["some text", ...])         # -> [P(high quality) in [0, 1], ...]
e = EduClassifier.load()
e.predict(texts, langs=["en", ...])  # -> [edu score in [0, 5], ...] (langs: identified when omitted)
EduClassifier.tier(score)             # -> "A" (>= 3) / "B" (>= 2) / "C"
d = DomainClassifier.load()
d.predict(texts)                      # -> [DomainPrediction(label="code", prob=0.97), ...]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from edumix.classifiers.fasttext_model import TASK_LABELS, predict_proba

MODELS_DIR = Path(__file__).resolve().parent / "models"


def default_model_path(task: str) -> Path:
    return MODELS_DIR / f"{task}.ftz"


def companion_paths(model_path: str | os.PathLike) -> tuple[Path, ...]:
    """The files a model reads from beside itself (its head; edu's signals and cross-lingual
    head): a run's cache key covers them, and a retrain must not leave older ones behind."""
    from edumix.classifiers.edu_crosslingual import crosslingual_path
    from edumix.classifiers.edu_signals import signals_path
    from edumix.classifiers.linear_head import head_path

    return head_path(model_path), signals_path(model_path), crosslingual_path(model_path)


class ModelNotFoundError(FileNotFoundError):
    pass


def embed(texts: Sequence[str]):
    """The shipped static embedding of `texts`, (n, d): what the heads read."""
    from edumix.classifiers.static_embed import shipped_embedder

    return shipped_embedder().embed(list(texts))


class _FastTextClassifier:
    task: ClassVar[str]
    head = None  # LinearHead | None: the static-embedding head beside the model file, if any

    def __init__(self, model, path: Path):
        self.model = model
        self.path = path
        self.labels = TASK_LABELS[self.task]
        got = {lab.removeprefix("__label__") for lab in model.get_labels()}
        # A subset is fine (a user's edu labels may use only some levels): absent ones score 0.
        if not got or not got <= set(self.labels):
            raise ValueError(f"{path}: model labels {sorted(got)} are not {self.task!r} labels {list(self.labels)}")

    @classmethod
    def load(cls, path: str | os.PathLike | None = None):
        """Load the model file (default: the shipped classifiers/models/<task>.ftz)."""
        import fasttext

        p = Path(path) if path is not None else default_model_path(cls.task)
        if not p.is_file():
            raise ModelNotFoundError(
                f"{cls.__name__}: model file not found: {p}. Train the default models with "
                f"`python scripts/train_default_classifiers.py` or pass path=..."
            )
        fasttext.FastText.eprint = lambda *a, **k: None  # silence fastText's load_model warning
        clf = cls(fasttext.load_model(str(p)), p)
        from edumix.classifiers.linear_head import HEAD_TASKS, LinearHead, head_path

        hp = head_path(p)
        if cls.task in HEAD_TASKS and hp.is_file():
            clf.head = LinearHead.load(hp)
        return clf

    def predict_proba(self, texts: Sequence[str], lines: Sequence[str] | None = None) -> list[dict[str, float]]:
        """Per text, {label: probability} over all labels of the model (`lines`: the texts
        through `fasttext_model.normalize`, when the caller has them)."""
        return predict_proba(self.model, list(texts), self.labels, lines)

    @property
    def needs_stats(self) -> bool:
        """Whether the head reads the text statistics (`text_stats`) beside the embedding."""
        return self.head is not None and self.head.features == "static+stats"

    def _with_head(self, fast: list[float], texts: Sequence[str], embedding=None, stats=None) -> list[float]:
        """fastText's scores combined with the head's (`linear_head.blend`), when there is one.
        `embedding`, `stats`: the texts' static embedding (n, d) and statistics (n, 20), when
        the caller has them."""
        if self.head is None or not fast:
            return fast
        from edumix.classifiers.linear_head import blend, head_features

        if embedding is None:
            embedding = embed(texts)
        if stats is None and self.needs_stats:
            from edumix.classifiers.text_stats import text_stats

            stats = text_stats(texts)
        return blend(self.task, fast, self.head.predict(head_features(self.head.features, embedding, stats))).tolist()


class QualityClassifier(_FastTextClassifier):
    """fastText's P(high), averaged with a logistic head when the model file has one beside it
    (`<model>.head.json`; the shipped model does): fastText reads the n-grams; the head reads
    the static embedding (what a multilingual encoder knows about fluent text) and, the shipped
    one, the text statistics (the page's shape: line ends, symbols, capitals, repetition)."""

    task = "quality"

    def predict(
        self, texts: Sequence[str], lines: Sequence[str] | None = None, embedding=None, stats=None
    ) -> list[float]:
        """P(high quality) in [0, 1] per text."""
        return self._with_head([p["high"] for p in self.predict_proba(texts, lines)], texts, embedding, stats)


class EduClassifier(_FastTextClassifier):
    """fastText's expected 0-5 score (it carries the level) plus, when the model file has a head
    beside it (the shipped one does), the head's within-language offset (it sharpens the order
    of pages inside a language; the shipped head reads the static embedding and the text
    statistics), plus, when it has signals beside it (`edu_signals`: course-material likeness
    and, for English, the reading level), their offsets; clipped to [0, 5]. Pages in a language
    without judged pages are scored by the cross-lingual head instead, when the model has one
    (`edu_crosslingual`; the shipped one does)."""

    task = "edu"
    DEFAULT_THRESHOLDS: ClassVar[tuple[float, float]] = (3.0, 2.0)  # (A, B)
    signals = None  # EduSignals | None: <model>.signals.json beside the model file, if any
    crosslingual = None  # CrossLingual | None: <model>.crosslingual.json, if any

    @classmethod
    def load(cls, path: str | os.PathLike | None = None):
        clf = super().load(path)
        from edumix.classifiers.edu_crosslingual import CrossLingual, crosslingual_path
        from edumix.classifiers.edu_signals import EduSignals, signals_path

        if (sp := signals_path(clf.path)).is_file():
            clf.signals = EduSignals.load(sp)
        if (cp := crosslingual_path(clf.path)).is_file():
            clf.crosslingual = CrossLingual.load(cp)
        return clf

    def predict(
        self,
        texts: Sequence[str],
        lines: Sequence[str] | None = None,
        embedding=None,
        stats=None,
        langs: Sequence[str] | None = None,
    ) -> list[float]:
        """Educational value in [0, 5]: fastText's expected score sum_k k * P(k), plus the head's
        and the signals' offsets; the cross-lingual head's score for a language without judged
        pages. `langs`: each text's language (the document's, from language ID); identified
        here when omitted and the model has signals or a cross-lingual head."""
        if not texts:
            return []
        if self.signals is None and self.crosslingual is None:
            return self._judged(texts, lines, embedding, stats, langs).tolist()
        from edumix.classifiers.edu_signals import languages

        if embedding is None:
            embedding = embed(texts)
        langs = list(langs) if langs is not None else languages(texts)
        routed = self.crosslingual.routed(langs) if self.crosslingual is not None else np.zeros(len(texts), bool)
        if routed.any() and stats is None:  # computed once, for both heads
            from edumix.classifiers.text_stats import text_stats

            stats = text_stats(texts)
        embedding = np.asarray(embedding)
        score = np.empty(len(texts))
        if (judged := ~routed).any():  # the judged model scores only the pages it keeps
            idx = np.flatnonzero(judged)
            texts_j, langs_j = [texts[i] for i in idx], [langs[i] for i in idx]
            lines_j = [lines[i] for i in idx] if lines is not None else None
            stats_j = np.asarray(stats)[idx] if stats is not None else None
            score[idx] = self._judged(texts_j, lines_j, embedding[idx], stats_j, langs_j)
        if routed.any():
            score[routed] = self.crosslingual.predict(embedding[routed], np.asarray(stats)[routed])
        return score.tolist()

    def _judged(self, texts, lines, embedding, stats, langs) -> np.ndarray:
        """(n,) the judged model's score in [0, 5]: fastText + the head, + the signals' offsets
        when the model has them (`langs` is read only then)."""
        if self.signals is None:
            return np.asarray(self._with_head(self._expected(texts, lines), texts, embedding, stats))
        return np.clip(self.raw_scores(texts, lines, embedding, stats, langs), 0.0, 5.0)

    def raw_scores(self, texts: Sequence[str], lines=None, embedding=None, stats=None, langs=None):
        """(n,) the score before the final clip to [0, 5] (where a language's pages pile up at
        0, how far below: `evaluate.languages`). Needs the signals file."""
        from edumix.classifiers.edu_signals import languages

        if embedding is None:
            embedding = embed(texts)
        langs = list(langs) if langs is not None else languages(texts)
        base = self._with_head(self._expected(texts, lines), texts, embedding, stats)
        return np.asarray(base) + self.signals.offset(embedding, texts, langs)

    def _expected(self, texts: Sequence[str], lines: Sequence[str] | None) -> list[float]:
        """fastText's expected score sum_k k * P(k), in [0, 5]."""
        probs = self.predict_proba(texts, lines)
        return [min(5.0, max(0.0, sum(int(lab) * p[lab] for lab in self.labels))) for p in probs]

    @staticmethod
    def tier(score: float, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> str:
        """ "A" if score >= thresholds[0], "B" if score >= thresholds[1], else "C"."""
        a, b = thresholds
        if a < b:
            raise ValueError(f"thresholds must be (A, B) with A >= B, got {tuple(thresholds)}")
        return "A" if score >= a else "B" if score >= b else "C"


@dataclass(frozen=True)
class DomainPrediction:
    label: str  # "general" | "math" | "code"
    prob: float


class DomainClassifier(_FastTextClassifier):
    task = "domain"

    def predict(self, texts: Sequence[str], lines: Sequence[str] | None = None) -> list[DomainPrediction]:
        """Most probable domain and its probability per text."""
        out = []
        for p in self.predict_proba(texts, lines):
            lab = max(self.labels, key=lambda k: p[k])  # ties -> first label in TASK_LABELS order
            out.append(DomainPrediction(lab, p[lab]))
        return out
