"""Offline language identification: py3langid, whose model ships inside its wheel.

Why py3langid and not fasttext's lid.176: lid.176 is fetched at run time (datatrove's
LanguageFilter downloads it), and nothing may be downloaded here. py3langid 0.4 carries its
naive-Bayes byte n-gram model (140 labels, ISO 639-1 where one exists, otherwise 639-3)
inside the package, needs only numpy, and on the human-labelled HPLT v2 dev excerpts
(`benchmarks/filters_eval.py`) it is right on 2,255 of the 2,265 documents of the 21
languages it has a label for (every one of them >= 97%), at ~3,500 docs/s on one core.
Asturian (`ast`) is not among its labels (it answers `ext`/`es`/`an`), so Asturian is
never identified; see the benchmark's table. Codes: ISO 639-1 where one exists (`no` is
Norwegian Bokmål, `nn` Nynorsk), else 639-3 (`wuu`, `yue`, `ary`...), `zxx` for text with
no linguistic content, and edumix's `und` for text without a letter.

Plain Python; the Beam wiring builds one `LanguageIdentifier` per worker.
"""

from __future__ import annotations

import dataclasses
import threading

from edumix.core.record import Document, Drop
from edumix.core.stages import LANGID

UNDETERMINED = "und"  # ISO 639-2 "undetermined": no letters to classify (empty, digits only...)

_MODEL_LOCK = threading.Lock()
_MODEL = None


def _model():
    """The py3langid identifier, loaded once per process (~0.5 s) and shared."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            from py3langid.langid import MODEL_FILE
            from py3langid.langid import LanguageIdentifier as _PyLangId

            _MODEL = _PyLangId.from_model_file(MODEL_FILE, norm_probs=True)
        return _MODEL


def supported_languages() -> list[str]:
    """Every label the model can answer."""
    return list(_model().labels)


def sample_text(text: str, max_chars: int) -> str:
    """A bounded sample of a long document: its first and its middle `max_chars // 2`
    characters. py3langid's cost is linear in bytes (a Python-level DFA walk, about
    2 s for 10 MB), while its accuracy has saturated long before: the HPLT excerpts it
    classifies 99.9% right are 0.5-1 KB. The middle part keeps a page whose first
    kilobytes are an English menu or header from being called English."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    half = max_chars // 2
    mid = len(text) // 2
    return text[:half] + "\n" + text[mid : mid + half]


class LanguageIdentifier:
    """Tags each document with `lang` and `signals["lang_score"]` (the model's softmax
    probability, 0..1); drops it only when the config says so:

    - `allowed` non-empty and the language not in it: `Drop("langid", "lang_not_allowed")`;
    - `min_score` > 0 and the score below it: `Drop("langid", "lang_low_score")`.

    With the defaults (`allowed` empty, `min_score` 0) every document is kept and tagged.
    `cfg` is an `edumix.core.config.LangIdConfig` or any object with the same attributes;
    `None` means the defaults.
    """

    def __init__(self, cfg=None):
        self.allowed = frozenset(getattr(cfg, "allowed", ()) or ())
        self.min_score = float(getattr(cfg, "min_score", 0.0) or 0.0)
        self.max_chars = int(getattr(cfg, "max_chars", 4000))
        self.candidates = tuple(getattr(cfg, "candidates", ()) or ())
        self.stage = LANGID
        model = _model()
        if self.candidates:
            # A private copy restricted to the candidate labels (py3langid's set_languages
            # mutates the identifier it is called on, and the loaded model is shared).
            import copy

            model = copy.copy(model)
            model.set_languages(list(self.candidates))
        self._model = model

    def __getstate__(self):  # the model (tens of MB) is reloaded, not pickled
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        model = _model()
        if self.candidates:
            import copy

            model = copy.copy(model)
            model.set_languages(list(self.candidates))
        self._model = model

    def identify(self, text: str) -> tuple[str, float]:
        """(language, score) of `text`; ("und", 0.0) when there is no letter to go on."""
        sample = sample_text(text or "", self.max_chars)
        if not any(ch.isalpha() for ch in sample):
            return UNDETERMINED, 0.0
        lang, score = self._model.classify(sample)
        return lang, round(float(score), 6)

    def __call__(self, doc: Document) -> Document | Drop:
        lang, score = self.identify(doc.text)
        out = dataclasses.replace(doc, lang=lang, signals={**doc.signals, "lang_score": score})
        if self.allowed and lang not in self.allowed:
            return Drop(self.stage, "lang_not_allowed", out, f"lang={lang} score={score:.3f}")
        if self.min_score > 0 and score < self.min_score:
            return Drop(self.stage, "lang_low_score", out, f"lang={lang} score={score:.3f} < {self.min_score}")
        return out
