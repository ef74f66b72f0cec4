"""The edu score across languages (edumix/evaluate/languages.py): how far a translation scores
from its English original, measured on the seed's parallel documents."""

import pytest
from shared_data import shared

from edumix.classifiers.models import EduClassifier
from edumix.classifiers.training_data import parallel_document
from edumix.evaluate.languages import translation_gaps


def test_gaps_are_english_mean_minus_translation_mean_per_document():
    raw = [4.0, 3.0, 1.0, 0.0, 4.0, 2.0, 0.5, 9.0, 9.0]
    docs = ["a", "a", "a", "a", "b", "b", "b", "b", "c"]
    english = [True, True, False, False, True, False, False, False, False]
    langs = ["en", "en", "de", "ru", "en", "de", "de", "und", "de"]
    gaps = translation_gaps(raw, docs, english, langs)
    assert gaps["de"] == [("a", 2.5), ("b", 4.0 - 1.25)]  # c has no English passage
    assert gaps["ru"] == [("a", 3.5)] and "und" not in gaps


def test_parallel_documents_pair_a_translation_with_its_original():
    osg = "github/opensource.guide:_articles/{}legal.md"
    assert parallel_document(osg.format("")) == ("osg:legal.md", True)
    assert parallel_document(osg.format("pt-br/")) == ("osg:legal.md", False)
    assert parallel_document("python/python-docs-pt-br:howto/logging.po#msgid") == (
        "python-docs:howto/logging.po",
        True,
    )
    assert parallel_document("python/python-docs-ko:howto/logging.po") == ("python-docs:howto/logging.po", False)
    assert parallel_document("spencermountain/wtf_wikipedia:tests/cache/Alsea.txt") is None


def test_raw_scores_are_the_score_before_the_clip():
    edu = EduClassifier.load()
    texts = ["Photosynthesis turns light, water and carbon dioxide into sugar in the leaf.", "buy now!!! cheap"]
    raw = edu.raw_scores(texts, langs=["en", "en"])
    assert edu.predict(texts, langs=["en", "en"]) == pytest.approx([min(5.0, max(0.0, r)) for r in raw])


@pytest.mark.slow
def test_language_table_covers_the_translations_and_hplt():
    shared("seed"), shared("quality", "hplt_v2_dev")
    from edumix.evaluate.languages import language_table, level_shift_cv

    rows = {r.lang: r for r in language_table()}
    assert sum(r.documents for r in rows.values()) >= 200 and len([r for r in rows.values() if r.documents]) >= 20
    assert rows["en"].natural > 50 and rows["en"].documents == 0  # English is the reference, not a translation
    shift = level_shift_cv()
    assert shift.after < shift.before and set(shift.tier_a_natural) <= set(rows)
