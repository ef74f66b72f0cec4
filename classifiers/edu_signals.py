"""Two signals added to the edu score that the judged pages are too few to learn (issue 14).

The head (`linear_head`) learns the order of pages inside a judged set from ~520 judged pages,
449 of them Danish; it barely ranks the 75 English pages (Spearman ~0.15 cross-validated). Two
signals that need no edu label carry what the FineWeb-Edu rubric asks for:

textbook       P(textbook) of a logistic head on the static embedding, fitted on the seed
               passages: textbooks, tutorials and mathematical texts (1) against general web
               text, low-quality pages and code (0). The labels name sources, not value: on its
               own that was the old, failed edu model; as a bounded offset beside the judged
               model it adds "reads like course material", which the rubric's points 3-5 reward.
reading_level  for English pages only, the share of words outside the Dale-Chall list of
               ~3,000 words familiar to fourth-graders (the list textstat ships; read from the
               installed package, nothing downloaded), in the page's first 1,000 characters.
               The rubric keeps pages suited to "primary school to grade school levels" and
               marks down advanced, technical ones. Other languages have no such list here:
               their pages get no offset from it.

Each is z-scored over the texts the edu model was trained on (their labels are not used): the
reading level against its English texts, the textbook signal against the mean of the page's own
language where it has >= MIN_LANG_TEXTS of them (English, Danish), else of all. So both rank
pages within a language and fastText keeps the level (centred on all texts, the textbook signal
lifted every English page by ~0.3 points). Each is added times a fixed weight in points (weight x
the training labels' pooled within-set sd, 0.76 points on the shipped data). The weights
(textbook 0.5, reading level 1.0) and the window were chosen on the dev data; chosen again
inside each fold of a nested cross-validation (`evaluate.judgments.edu_cv`), the English figure
is 0.31, not the 0.38 of the choice made on all of it: the first is the one to expect on unseen
pages.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from edumix.classifiers.linear_head import LinearHead, fit_logistic, pooled_within_set_sd

TEXTBOOK_WEIGHT = 0.5
READING_LEVEL_WEIGHT = 1.0
TEXTBOOK_SEEDS = ("edu_high", "math")  # seed files that are course material
OTHER_SEEDS = ("general", "low_quality", "code")  # seed files that are not (multilingual: left out)
READING_LANG = "en"
MIN_LANG_TEXTS = 50  # training texts a language needs for its own textbook mean
# The share is read on the page's start, the same 1,000 characters the static embedding reads
# (where the main text is; and a share needs a sample, not the whole page).
READING_MAX_CHARS = 1_000
_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)*")


def signals_path(model_path: str | Path) -> Path:
    """The signals that belong to an edu model file: edu.ftz -> edu.signals.json."""
    return Path(model_path).with_suffix(".signals.json")


@lru_cache(maxsize=1)
def easy_words() -> frozenset[str]:
    """textstat's Dale-Chall list (en), read from the installed package without importing it
    (its import pulls in nltk, and its own counter fetches cmudict from the network)."""
    spec = importlib.util.find_spec("textstat")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the edu score's reading level needs textstat: pip install textstat")
    path = Path(spec.submodule_search_locations[0]) / "resources" / "en" / "easy_words.txt"
    return frozenset(path.read_text(encoding="utf-8").split())


def difficult_share(texts: Sequence[str], max_chars: int = READING_MAX_CHARS) -> np.ndarray:
    """(n,) share of each text's words (in its first max_chars characters) outside the
    Dale-Chall list; 0 for a text with no word."""
    easy = easy_words()
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        words = _WORD.findall(text[:max_chars].lower())
        if words:
            out[i] = 1.0 - sum(map(easy.__contains__, words)) / len(words)  # map: ~10% faster than a generator
    return out


@dataclass(frozen=True)
class Standardised:
    mean: float
    sd: float
    points: float  # score points per sd
    # the mean over a language's own training texts, for languages with enough of them: the
    # offset then ranks pages within their language and leaves the level to fastText
    lang_means: dict[str, float] = field(default_factory=dict)

    def offset(self, x: np.ndarray, langs: Sequence[str] | None = None) -> np.ndarray:
        x = np.asarray(x, np.float64)
        mean = self.mean if langs is None else np.array([self.lang_means.get(lang, self.mean) for lang in langs])
        return self.points * (x - mean) / self.sd

    @classmethod
    def of(cls, x: np.ndarray, points: float, langs: Sequence[str] | None = None) -> Standardised:
        x = np.asarray(x, np.float64)
        means = {}
        if langs is not None:
            langs = np.asarray(langs)
            for lang in sorted(set(langs.tolist())):
                if (langs == lang).sum() >= MIN_LANG_TEXTS:
                    means[lang] = float(x[langs == lang].mean())
        return cls(float(x.mean()), float(x.std()) or 1.0, points, means)


@dataclass(frozen=True)
class EduSignals:
    textbook_head: LinearHead  # logistic, on the static embedding
    textbook: Standardised
    reading_level: Standardised | None  # of difficult_share, English pages only (None: no English training text)
    reading_max_chars: int = READING_MAX_CHARS  # the window difficult_share reads

    def parts(self, embedding: np.ndarray, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """(n, 2) the textbook and the reading-level offsets, in points (0 where a part does not apply)."""
        out = np.zeros((len(texts), 2))
        out[:, 0] = self.textbook.offset(self.textbook_head.predict(np.asarray(embedding)), langs)
        english = [i for i, lang in enumerate(langs) if lang == READING_LANG] if self.reading_level else []
        if english:
            shares = difficult_share([texts[i] for i in english], self.reading_max_chars)
            out[english, 1] = -self.reading_level.offset(shares)
        return out

    def offset(self, embedding: np.ndarray, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """(n,) points to add to the edu score: more for course material, less for hard English."""
        return self.parts(embedding, texts, langs).sum(axis=1)

    def save(self, path: str | Path) -> None:
        body = {"textbook": {"head": self.textbook_head.to_dict(), **vars(self.textbook)}}
        if self.reading_level:
            body["reading_level"] = {
                "lang": READING_LANG,
                "word_list": "textstat resources/en/easy_words.txt",
                "max_chars": self.reading_max_chars,
            }
            body["reading_level"] |= vars(self.reading_level)
        Path(path).write_text(json.dumps(body, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> EduSignals:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            t, r = body["textbook"], body.get("reading_level")
            return cls(
                LinearHead.from_dict(t["head"], path),
                Standardised(
                    float(t["mean"]),
                    float(t["sd"]),
                    float(t["points"]),
                    {str(k): float(v) for k, v in t.get("lang_means", {}).items()},
                ),
                Standardised(float(r["mean"]), float(r["sd"]), float(r["points"])) if r else None,
                int(r.get("max_chars", READING_MAX_CHARS)) if r else READING_MAX_CHARS,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: not an edu signals file ({e})") from e


def fit_signals(
    embed,
    seeds: Sequence[dict],
    texts: Sequence[str],
    langs: Sequence[str],
    labels,
    sets,
    max_chars: int = READING_MAX_CHARS,
) -> EduSignals:
    """The textbook head from the seed passages (dicts with `text` and `file`), standardised over
    the edu training `texts` (`langs`: their languages); the points from the training labels'
    pooled within-set sd (`labels`, `sets` as `linear_head.within_set_targets` takes them).
    `embed`: texts -> (n, d) static embedding."""
    rows = [s for s in seeds if s["file"] in TEXTBOOK_SEEDS + OTHER_SEEDS]
    if not rows:
        raise ValueError("edu signals: no seed passages to learn 'course material' from")
    X = np.asarray(embed([s["text"] for s in rows]), np.float64)
    head = fit_logistic(X, [s["file"] in TEXTBOOK_SEEDS for s in rows])
    sd = pooled_within_set_sd(labels, sets)
    english = [t for t, lang in zip(texts, langs, strict=True) if lang == READING_LANG]
    return EduSignals(
        head,
        Standardised.of(head.predict(np.asarray(embed(list(texts)), np.float64)), TEXTBOOK_WEIGHT * sd, langs),
        Standardised.of(difficult_share(english, max_chars), READING_LEVEL_WEIGHT * sd) if english else None,
        max_chars,
    )


def languages(texts: Sequence[str]) -> list[str]:
    """The pipeline's language of each text (`filters.langid`, the shipped fastText model):
    where no document language is at hand, the reading level still applies to English."""
    from edumix.filters.langid import LanguageIdentifier

    identify = LanguageIdentifier().identify
    return [identify(t)[0] for t in texts]


def train_signals(rows, model_path: str | Path, root: Path | None = None) -> Path | None:
    """Fit and save the signals next to an edu model trained on `rows` (`fasttext_model.Example`);
    None, and no file, when the seed passages are not at hand ($EDUMIX_SHARED_DATA)."""
    from edumix.classifiers.linear_head import head_target
    from edumix.classifiers.static_embed import shipped_embedder
    from edumix.classifiers.training_data import read_seed

    out = signals_path(model_path)
    out.unlink(missing_ok=True)  # never leave an older file beside a new model
    try:
        seeds = list(read_seed(root))
    except FileNotFoundError:
        return None
    texts = [r.text for r in rows]
    labels, sets = [head_target(r) for r in rows], [r.source for r in rows]
    fit_signals(shipped_embedder().embed, seeds, texts, languages(texts), labels, sets).save(out)
    return out
