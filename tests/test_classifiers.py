"""Default fastText classifiers (classifiers/models/*.ftz): load, predict, held-out floors, sanity.

The shipped models train on every dev row (scripts/train_default_classifiers.py); how the edu
and quality scores do on pages they never saw is cross-validated in tests/test_judgments.py.
The domain recipe is checked here on the deterministic 80/20 split (sha1 of the text):
measured accuracy 0.993, F1 general 0.996 / math 0.991 / code 0.982; floors leave ~0.03 slack.
"""

import pytest
from shared_data import shared

from edumix.classifiers.fasttext_model import evaluate, normalize, split
from edumix.classifiers.models import (
    DomainClassifier,
    DomainPrediction,
    EduClassifier,
    ModelNotFoundError,
    QualityClassifier,
    default_model_path,
)

CODE = """import json

def read_config(path):
    with open(path) as fh:
        data = json.load(fh)
    for key, value in data.items():
        if value is None:
            raise ValueError(f"missing {key}")
    return data
"""
# The math seed data is LaTeX-rich (Stacks, HoTT, Open Logic, AATA): the domain model keys on "$...$"
# math; a plain-text proof without LaTeX is classified "general" (see test_plain_text_math_known_limitation).
MATH = (
    r"Lemma 2.1. Let $G$ be a group and let $H$ be a subgroup of $G$. Then the left cosets of $H$ partition "
    r"$G$. Proof. Suppose $g \in aH \cap bH$. Then $g = ah_1 = bh_2$ for some $h_1, h_2 \in H$, hence "
    r"$a = b h_2 h_1^{-1}$ and $aH = bH$. Every element $g$ lies in $gH$, so the cosets cover $G$."
)
PLAIN_MATH = (
    "Theorem. For every integer n >= 1, the sum 1 + 2 + ... + n equals n(n+1)/2. Proof. We proceed by "
    "induction on n. For n = 1 both sides equal 1. Suppose the identity holds for n. Then 1 + ... + n + (n+1) "
    "= n(n+1)/2 + (n+1) = (n+1)(n+2)/2, which is the statement for n+1. This completes the proof."
)
TEXTBOOK = (
    "Photosynthesis is the process by which plants, algae and some bacteria convert light energy into "
    "chemical energy. In the chloroplasts, light is absorbed by chlorophyll. The energy is used to split "
    "water molecules, releasing oxygen, and to produce ATP and NADPH. In the Calvin cycle these molecules "
    "are then used to fix carbon dioxide into glucose. For example, a leaf exposed to sunlight produces "
    "sugars that the plant uses for growth. Understanding this process helps explain why plants need "
    "both light and water."
)
SPAM = (
    "BEST CHEAP WATCHES ONLINE!!! Buy now, cheap loans, casino bonus, click here, free download, best price, "
    "discount, top 10 best deals 2023 >> Click here >> Home | About | Contact | Login | Register | Cart (0) | "
    "Privacy Policy | Terms | Sitemap © 2023 All rights reserved"
)
TEXTS = [CODE, MATH, TEXTBOOK, SPAM, "", "x"]


@pytest.fixture(scope="module")
def quality():
    return QualityClassifier.load()


@pytest.fixture(scope="module")
def edu():
    return EduClassifier.load()


@pytest.fixture(scope="module")
def domain():
    return DomainClassifier.load()


@pytest.mark.parametrize("task", ["quality", "edu", "domain"])
def test_shipped_model_files_are_small(task):
    path = default_model_path(task)
    assert path.is_file(), path
    assert path.stat().st_size <= 10_000_000


def test_missing_model_gives_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model file not found"):
        EduClassifier.load(tmp_path / "nope.ftz")


def test_normalize_is_one_bounded_lowercase_line():
    out = normalize("Hello\nWORLD\t" + "a" * 10_000 + " __label__x")
    assert "\n" not in out and out == out.lower() and len(out) <= 4000 * 2
    assert "__label__" not in normalize("x __label__code y")


def test_predict_batch_shapes_and_ranges(quality, edu, domain):
    q, e, d = quality.predict(TEXTS), edu.predict(TEXTS), domain.predict(TEXTS)
    assert len(q) == len(e) == len(d) == len(TEXTS)
    assert all(0.0 <= p <= 1.0 for p in q)
    assert all(0.0 <= s <= 5.0 for s in e)
    assert all(
        isinstance(x, DomainPrediction) and x.label in ("general", "math", "code") and 0 <= x.prob <= 1 for x in d
    )
    assert quality.predict([]) == [] and edu.predict([]) == [] and domain.predict([]) == []


def test_tier():
    assert EduClassifier.tier(3.0) == "A" and EduClassifier.tier(2.5) == "B" and EduClassifier.tier(1.99) == "C"
    assert EduClassifier.tier(3.5, thresholds=(4.0, 3.0)) == "B"
    with pytest.raises(ValueError):
        EduClassifier.tier(1.0, thresholds=(1.0, 2.0))


def test_sanity_on_hand_written_texts(quality, edu, domain):
    d = domain.predict([CODE, MATH, TEXTBOOK])
    assert [x.label for x in d] == ["code", "math", "general"]
    s_book, s_spam = edu.predict([TEXTBOOK, SPAM])
    assert EduClassifier.tier(s_book) in ("A", "B")
    assert EduClassifier.tier(s_spam) == "C"
    assert s_book > s_spam
    q_book, q_spam = quality.predict([TEXTBOOK, SPAM])
    assert q_book > q_spam


def test_predictions_are_deterministic(quality, edu, domain):
    assert quality.predict(TEXTS) == quality.predict(TEXTS) == QualityClassifier.load().predict(TEXTS)
    assert edu.predict(TEXTS) == EduClassifier.load().predict(TEXTS)
    assert domain.predict(TEXTS) == domain.predict(list(reversed(TEXTS)))[::-1]


@pytest.mark.xfail(reason="weak labels: math seed data is LaTeX; plain-text proofs come out 'general'", strict=False)
def test_plain_text_math_known_limitation(domain):
    assert domain.predict([PLAIN_MATH])[0].label == "math"


def test_training_rows_are_judgments():
    """edu from people's and an LLM's judgments (+ HPLT pages people flagged), quality from HPLT's
    human labels read whole (its quoted texts span lines), domain from the seed sources."""
    shared("edu", "fineweb_c_da_dev.jsonl")
    from edumix.classifiers.training_data import build_rows

    rows = build_rows()
    edu = rows["edu"]
    assert {r.source for r in edu} == {"fineweb_c_da", "fineweb_edu_en_llm", "hplt_low"}
    assert sum(r.source == "fineweb_edu_en_llm" for r in edu) == 75
    assert all(r.label == "0" for r in edu if r.source == "hplt_low")
    # HPLT's low pages only in the judged languages' neighbourhood (elsewhere they taught language)
    from edumix.classifiers.training_data import EDU_HPLT_LANGS, read_hplt

    lang = {f"hplt:{r['id']}": r["lang"] for r in read_hplt()}
    low = [r for r in edu if r.source == "hplt_low"]
    assert low and {lang[r.key] for r in low} <= set(EDU_HPLT_LANGS)
    quality = rows["quality"]
    assert len(quality) == 2400 and sum(r.label == "low" for r in quality) == 263
    assert len({r.source for r in quality}) == 22  # hplt:<language>, 22 languages
    assert {r.label for r in rows["domain"]} == {"general", "math", "code"}


def test_domain_floors_on_a_held_out_split():
    """The domain model's recipe on the 80/20 hash split (the shipped model trains on all rows)."""
    shared("seed", "code.jsonl")
    from edumix.classifiers.fasttext_model import fit
    from edumix.classifiers.training_data import domain_examples

    train, held = split(domain_examples())
    m = evaluate("domain", fit("domain", train, quantize=False), held)
    assert m.n_heldout == 675
    assert m.accuracy >= 0.97
    for lab in ("general", "math", "code"):
        assert m.per_class[lab]["f1"] >= 0.95, lab


@pytest.mark.slow
def test_shipped_edu_model_is_reproducible(tmp_path):
    """Same data + seed -> the same file as the one in the repository."""
    shared("edu", "fineweb_c_da_dev.jsonl")
    from edumix.classifiers.fasttext_model import train
    from edumix.classifiers.training_data import edu_examples
    from edumix.core.hashing import file_sha256

    train("edu", edu_examples(), tmp_path / "edu.ftz", seed=0, epochs=25, heldout_fraction=0)
    assert file_sha256(tmp_path / "edu.ftz") == file_sha256(default_model_path("edu"))


def test_text_stats_on_known_cases():
    """The quality score's text statistics (classifiers/text_stats.py), column by column."""
    import numpy as np

    from edumix.classifiers.text_stats import FEATURES, text_stats

    page = "Intro line here.\nIntro line here.\n- a bullet point\nSee www.example.com and more...\nOK"
    loud = "BUY NOW. CHEAP PILLS!"
    F = text_stats([page, loud, "", " \n ", "x\ud800y 😀"])
    assert F.shape == (5, len(FEATURES)) and np.isfinite(F).all()
    col = dict(zip(FEATURES, F[0]))
    assert col["log_words"] == pytest.approx(np.log1p(len(page.split())))
    assert col["log_lines"] == pytest.approx(np.log1p(5))
    assert col["dup_line_ratio"] == pytest.approx(1 / 5)  # one line repeated, of five
    assert col["bullet_ratio"] == pytest.approx(1 / 5) and col["ellipsis_ratio"] == pytest.approx(1 / 5)
    assert col["line_end_ratio"] == pytest.approx(3 / 5)  # two "here.", one "..."
    assert col["short_line_ratio"] == pytest.approx(3 / 5)  # fewer than 4 words: both intros, "OK"
    assert col["url_ratio"] == pytest.approx(1 / len(page.split()))
    assert col["caps_word_ratio"] == pytest.approx(1 / len(page.split()))  # "OK"
    shout = dict(zip(FEATURES, F[1]))
    assert shout["upper_ratio"] == 1.0 and shout["caps_word_ratio"] == 1.0
    assert shout["log_words_per_sentence"] == pytest.approx(np.log1p(4 / 2))
    assert (F[2] == 0).all() and (F[3] == 0).all()  # nothing to measure
    assert dict(zip(FEATURES, F[4]))["non_ascii_ratio"] == pytest.approx(2 / 5)  # lone surrogate, emoji
    # a text's statistics do not depend on its batch
    assert text_stats([loud])[0] == pytest.approx(F[1]) and text_stats([page, loud])[0] == pytest.approx(F[0])


def test_shipped_heads_read_the_text_stats(quality, edu):
    """Both shipped heads read the static embedding and the text statistics side by side; the
    classify stage computes each once per batch (classifiers/judge.py)."""
    from edumix.classifiers.models import embed
    from edumix.classifiers.text_stats import FEATURES, text_stats

    for clf in (quality, edu):
        assert clf.head.features == "static+stats" and clf.needs_stats
        assert len(clf.head.weights) == 128 + len(FEATURES)
    texts = [TEXTBOOK, SPAM]
    given = {"embedding": embed(texts), "stats": text_stats(texts)}  # what the stage passes
    assert quality.predict(texts) == pytest.approx(quality.predict(texts, **given))
    assert edu.predict(texts) == pytest.approx(edu.predict(texts, **given))
