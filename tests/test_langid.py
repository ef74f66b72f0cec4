"""Language ID (filters/langid.py): offline model, accuracy floors on human labels, drop
rules, robustness."""

import time

import pytest
from shared_data import shared

from edumix.core.config import LangIdConfig
from edumix.core.record import Document, Drop
from edumix.evaluate.quality_rules import ISO3_TO_LABEL, langid_accuracy, load_rows
from edumix.filters.langid import (
    UNDETERMINED,
    LanguageIdentifier,
    sample_text,
    supported_languages,
)


def doc(text: str, **kw) -> Document:
    return Document(
        id="d1",
        url="https://example.org/a",
        crawl_date=None,
        source_file="f.jsonl",
        source_offset=1,
        source_format="jsonl",
        text=text,
        **kw,
    )


SENTENCES = {
    "en": "The committee published its annual report on water quality in the river basin.",
    "de": "Der Ausschuss hat seinen Jahresbericht über die Wasserqualität im Flussgebiet veröffentlicht.",
    "fr": "Le comité a publié son rapport annuel sur la qualité de l'eau dans le bassin du fleuve.",
    "es": "El comité publicó su informe anual sobre la calidad del agua en la cuenca del río.",
    "ru": "Комитет опубликовал свой ежегодный доклад о качестве воды в бассейне реки.",
    "zh": "委员会发布了关于流域水质的年度报告，报告指出水质在过去一年有所改善。",
    "ar": "نشرت اللجنة تقريرها السنوي عن جودة المياه في حوض النهر.",
    "hi": "समिति ने नदी बेसिन में पानी की गुणवत्ता पर अपनी वार्षिक रिपोर्ट प्रकाशित की।",
    "el": "Η επιτροπή δημοσίευσε την ετήσια έκθεσή της για την ποιότητα του νερού στη λεκάνη του ποταμού.",
}


@pytest.fixture(scope="module")
def ident():
    return LanguageIdentifier()


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_identifies_sentences(ident, lang):
    got, score = ident.identify(SENTENCES[lang])
    assert got == lang
    assert 0.5 < score <= 1.0


def test_tags_a_new_document_and_keeps_everything_by_default(ident):
    original = doc(SENTENCES["de"], signals={"x": 1.0})
    out = ident(original)
    assert isinstance(out, Document) and out is not original
    assert out.lang == "de" and 0 < out.signals["lang_score"] <= 1 and out.signals["x"] == 1.0
    assert original.lang is None and "lang_score" not in original.signals  # never mutated


def test_allowed_languages_drop_the_others():
    ident = LanguageIdentifier(LangIdConfig(allowed=("en", "de")))
    assert isinstance(ident(doc(SENTENCES["en"])), Document)
    dropped = ident(doc(SENTENCES["ru"]))
    assert isinstance(dropped, Drop)
    assert (dropped.stage, dropped.reason) == ("langid", "lang_not_allowed")
    assert dropped.doc.lang == "ru" and "lang=ru" in dropped.detail


def test_min_score_drops_unsure_documents():
    ident = LanguageIdentifier(LangIdConfig(min_score=0.999999))
    out = ident(doc("ok"))
    assert isinstance(out, Drop) and out.reason == "lang_low_score"


def test_candidates_restrict_the_model():
    ident = LanguageIdentifier(LangIdConfig(candidates=("nn", "no", "da")))
    assert ident.identify(SENTENCES["en"])[0] in {"nn", "no", "da"}
    # the shared model is not changed for other identifiers
    assert LanguageIdentifier().identify(SENTENCES["en"])[0] == "en"


@pytest.mark.parametrize(
    "text",
    ["", " \n\t ", "1234 5678 -- !!", "word", "😀😀😀", "\x00\ud800 broken surrogate", "a" * 50],
)
def test_never_crashes_on_odd_input(ident, text):
    lang, score = ident.identify(text)
    assert isinstance(lang, str) and 0.0 <= score <= 1.0
    assert isinstance(ident(doc(text)), Document)


def test_no_letters_is_undetermined(ident):
    assert ident.identify("") == (UNDETERMINED, 0.0)
    assert ident.identify("12 345 -- 6789") == (UNDETERMINED, 0.0)


def test_ten_megabytes_classify_a_bounded_sample(ident):
    big = ("Der Ausschuss hat seinen Bericht veröffentlicht. " * 220_000)[:10_000_000]
    t0 = time.perf_counter()
    assert ident.identify(big)[0] == "de"
    assert time.perf_counter() - t0 < 1.0  # 4,000 characters, not 10 MB
    assert len(sample_text(big, 4000)) <= 4001


def test_sample_reads_the_middle_of_a_page_with_an_english_header():
    page = "Home | About | Contact | Login | Cart\n" * 60 + SENTENCES["de"] * 200
    assert LanguageIdentifier().identify(page)[0] == "de"


def test_model_ships_in_the_wheel():
    labels = supported_languages()
    assert len(labels) >= 97 and {"en", "zh", "gd", "nn", "hi"} <= set(labels)


def test_accuracy_floors_on_hplt_dev(ident):
    """Floors measured on ../shared/data/quality/hplt_v2_dev, rows with lang_correct == 1:
    `.venv/bin/python benchmarks/filters_eval.py` (section "Language ID") printed 0.996 on
    the 2,265 rows of the 21 languages the model has a label for (every language >= 0.97:
    pes 0.97, nno 0.978, ces 0.98), and 0.964 on all 2,339 (Asturian has no label: 0/74)."""
    rows = load_rows(shared("quality", "hplt_v2_dev"), "trimmed")
    per, _, rate = langid_accuracy(rows, ident)
    known = {k: v for k, v in per.items() if ISO3_TO_LABEL.get(k)}
    n = sum(v[0] for v in known.values())
    ok = sum(v[1] for v in known.values())
    assert n > 2000
    assert ok / n >= 0.99
    for code, (m, good, wrong) in known.items():
        assert good / m >= 0.95, (code, good, m, wrong.most_common(3))
    assert per["ast"][1] == 0  # documented gap: py3langid has no Asturian label
    assert rate > 500  # docs/s; measured ~3,600 on 2 cores
