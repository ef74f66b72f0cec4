"""The edu score's two label-free signals (classifiers/edu_signals.py): course-material likeness
and, for English, the reading level. How much they help is measured by cross-validation in
tests/test_judgments.py; here, what they are."""

import json

import numpy as np
import pytest

from edumix.classifiers.edu_signals import (
    READING_LANG,
    EduSignals,
    difficult_share,
    easy_words,
    signals_path,
)
from edumix.classifiers.models import EduClassifier, default_model_path, embed

SIMPLE = "The cat sat on the mat. The sun is hot and the sky is blue. We like to play in the park."
HARD = "Pharmacokinetic heterogeneity necessitates individualized therapeutic monitoring of immunosuppressants."


def test_difficult_share_counts_words_outside_the_dale_chall_list():
    assert {"cat", "sun", "play", "don't"} <= easy_words() and "pharmacokinetic" not in easy_words()
    simple, hard, empty = difficult_share([SIMPLE, HARD, "1234 !!"])
    assert simple < 0.1 and hard > 0.8 and empty == 0.0
    assert difficult_share(["Don't stop."])[0] == 0.0  # contractions are words of the list


def test_shipped_signals_load_and_point_the_rubric_way():
    edu = EduClassifier.load()
    sig = edu.signals
    assert isinstance(sig, EduSignals) and sig.reading_level is not None
    assert sig.textbook.points > 0 and sig.reading_level.points > 0
    texts = [SIMPLE, HARD]
    parts = sig.parts(embed(texts), texts, [READING_LANG, READING_LANG])  # (2, 2)
    assert parts[0, 1] > parts[1, 1]  # simpler English reads as more suited to school
    # the reading level applies to English only; the textbook part is centred per language
    other = sig.parts(embed(texts), texts, ["da", "da"])
    assert np.array_equal(other[:, 1], [0.0, 0.0])
    shift = other[:, 0] - parts[:, 0]
    assert shift[0] == pytest.approx(shift[1]) and set(sig.textbook.lang_means) == {"da", "en"}
    # a language without its own mean is centred on all training texts
    unseen = sig.parts(embed(texts), texts, ["xx", "xx"])[:, 0]
    assert np.allclose(unseen, sig.textbook.offset(sig.textbook_head.predict(embed(texts))))
    assert np.allclose(sig.offset(embed(texts), texts, ["en", "en"]), parts.sum(axis=1))


def test_predict_identifies_the_language_when_not_given():
    edu = EduClassifier.load()
    texts = [SIMPLE, "Dette er en dansk tekst om planter, vand og lys, som børn lærer om i skolen."]
    assert edu.predict(texts) == edu.predict(texts, langs=["en", "da"])
    assert edu.predict(texts, langs=["da", "da"])[0] != edu.predict(texts, langs=["en", "da"])[0]


def test_a_model_without_signals_is_scored_as_before(tmp_path):
    import shutil

    from edumix.classifiers.linear_head import head_path

    shutil.copy(default_model_path("edu"), tmp_path / "edu.ftz")
    shutil.copy(head_path(default_model_path("edu")), tmp_path / "edu.head.json")
    plain = EduClassifier.load(tmp_path / "edu.ftz")
    assert plain.signals is None
    shutil.copy(signals_path(default_model_path("edu")), tmp_path / "edu.signals.json")
    full = EduClassifier.load(tmp_path / "edu.ftz")
    texts = [SIMPLE, HARD]
    offset = full.signals.offset(embed(texts), texts, ["en", "en"])
    expect = np.clip(np.asarray(plain.predict(texts, langs=["en", "en"])) + offset, 0, 5)
    assert np.allclose(full.predict(texts, langs=["en", "en"]), expect)


def test_signals_file_round_trips_and_bad_files_are_named(tmp_path):
    sig = EduClassifier.load().signals
    sig.save(tmp_path / "a.signals.json")
    again = EduSignals.load(tmp_path / "a.signals.json")
    assert again.textbook == sig.textbook and again.reading_level == sig.reading_level
    assert np.array_equal(again.textbook_head.weights, sig.textbook_head.weights)
    (tmp_path / "bad.signals.json").write_text(json.dumps({"textbook": {}}))
    with pytest.raises(ValueError, match="bad.signals.json: not an edu signals file"):
        EduSignals.load(tmp_path / "bad.signals.json")
