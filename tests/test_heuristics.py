"""Heuristic quality rules (filters/heuristics.py and filters/rules_*.py): datatrove's
filters called as they are, edumix's own rules, code/math relaxation, tag/drop semantics,
robustness, and precision/recall floors on human labels."""

import collections
import pickle
import time

import pytest
from datatrove.data import Document as DTDocument
from datatrove.pipeline.filters.gopher_repetition_filter import GopherRepetitionFilter
from shared_data import shared

from edumix.core.config import FiltersConfig
from edumix.core.record import Document, Drop
from edumix.evaluate.quality_rules import (
    EDUMIX_RULES,
    evaluate_rows,
    load_rows,
    rule_table,
    summary,
)
from edumix.filters.heuristics import (
    RULE_NAMES,
    QualityRules,
    RuleResult,
    corpus_distribution,
    kl_divergence,
    signal_names,
    token_counts,
)
from edumix.filters.langid import LanguageIdentifier
from edumix.filters.rules_dirty_words import DirtyWords
from edumix.filters.rules_kl import windowed_kl


def doc(text: str, lang=None, id="d1") -> Document:
    return Document(
        id=id,
        url=None,
        crawl_date=None,
        source_file="f.jsonl",
        source_offset=1,
        source_format="jsonl",
        text=text,
        lang=lang,
    )


PROSE = (
    "The river flows through the valley and the farmers depend on it for their crops.\n"
    "In the spring, the water level rises and the fields are flooded with fresh silt.\n"
    "Local schools teach children how the seasons shape the work of the village.\n"
    "Many families have lived here for generations, and they know the land well.\n"
    "Scientists visit every year to measure the quality of the water and the soil.\n"
    "Their reports help the council to plan new canals and to protect the wetlands.\n"
    "Visitors are welcome to walk along the banks and to watch the birds at dawn.\n"
)

PYTHON_TUTORIAL = """Dictionaries map keys to values. You create one with curly braces, and you read a value with its key.
```python
prices = {"apple": 3, "pear": 5}
for name, price in prices.items():
    print(f"{name}: {price}")
```
The loop above prints every key and its value. A dictionary comprehension builds one in a single expression:
```python
squares = {n: n * n for n in range(10)}
if 3 in squares:
    print(squares[3])
```
Keys must be hashable, so lists cannot be keys, but tuples can. Use get() to supply a default for a missing key:
```python
count = prices.get("plum", 0)
def total(d):
    return sum(d.values())
```
"""

MATH_PAGE = r"""The derivative of a function measures how fast it changes. For $f(x) = x^2$ we have
$$f'(x) = \lim_{h \to 0} \frac{(x+h)^2 - x^2}{h} = 2x$$
More generally, for $f(x) = x^n$ with $n \in \mathbb{N}$,
\begin{equation}
\frac{d}{dx} x^{n} = n x^{n-1}
\end{equation}
The chain rule states that $(g \circ f)'(x) = g'(f(x)) \cdot f'(x)$, so for $h(x) = \sin(x^2)$
$$h'(x) = \cos(x^2) \cdot 2x$$
Integration reverses differentiation: $\int_0^1 x^2 \, dx = \frac{1}{3}$ and
$$\sum_{k=1}^{n} k = \frac{n(n+1)}{2}$$
"""

PUNCT_BRACE_RULES = {"c4_quality:curly_bracket", "c4_quality:too_few_sentences", "fineweb_quality:line_punct_ratio"}


@pytest.fixture(scope="module")
def rules():
    return QualityRules(FiltersConfig())


# ---- robustness ------------------------------------------------------------------------


def test_empty_document_fails_only_empty(rules):
    for text in ("", "   \n\n\t", "--- !!! ..."):
        res = rules.evaluate(doc(text), "en")
        assert res.failed == ["empty"] and res.text == text


@pytest.mark.parametrize("lang", ["en", "zh", "ru", None, "und", "xx-unknown"])
def test_one_word_document(rules, lang):
    res = rules.evaluate(doc("Hello"), lang)
    assert "gopher_quality:gopher_short_doc" in res.failed
    assert res.text == "Hello"


NON_LATIN = {
    "zh": "这是一个关于河流和农民的故事。农民依靠河水灌溉庄稼，每年春天水位上涨。\n" * 6,
    "ja": "川は谷を流れ、農家は作物のためにそれに頼っています。春には水位が上がります。\n" * 6,
    "ar": "يتدفق النهر عبر الوادي ويعتمد عليه المزارعون في محاصيلهم. في الربيع يرتفع منسوب المياه.\n" * 6,
    "hi": "नदी घाटी से होकर बहती है और किसान अपनी फसलों के लिए उस पर निर्भर हैं। वसंत में जल स्तर बढ़ता है।\n" * 6,
    "ru": "Река течёт через долину, и фермеры зависят от неё. Весной уровень воды поднимается.\n" * 6,
    "th": "แม่น้ำไหลผ่านหุบเขาและชาวนาพึ่งพาแม่น้ำสำหรับพืชผลของพวกเขา ในฤดูใบไม้ผลิระดับน้ำจะสูงขึ้น\n" * 6,
    "ko": "강은 계곡을 따라 흐르고 농부들은 농작물을 위해 강에 의존합니다. 봄에는 수위가 올라갑니다.\n" * 6,
    "el": "Ο ποταμός ρέει μέσα από την κοιλάδα και οι αγρότες εξαρτώνται από αυτόν για τις καλλιέργειές τους.\n" * 6,
}


@pytest.mark.parametrize("lang", sorted(NON_LATIN))
def test_non_latin_documents(rules, lang):
    text = NON_LATIN[lang]
    res = rules.evaluate(doc(text), lang)
    assert isinstance(res, RuleResult)
    assert not any(k.endswith(".error") for k in res.signals)
    # the same text evaluated as another language does not crash either
    rules.evaluate(doc(text), "en")


def test_ten_megabyte_documents_are_bounded(rules):
    line = "The farmers measure the water of the river every morning before work.\n"
    big = line * (10_000_000 // len(line))
    for text, lang in ((big, "en"), ("这是一个简单的中文文本，用来测试。" * 600_000, "zh")):
        t0 = time.perf_counter()
        res = rules.evaluate(doc(text), lang)
        assert time.perf_counter() - t0 < 20  # ~3 s here: rules read the first 300,000 chars
        assert res.signals["eval_truncated"] == 1.0
        assert "gopher_quality:gopher_long_doc" in res.failed  # the whole text is counted
    # the same line 140k times: the Llama-3 line rule empties it (bounded: only the head is judged)
    assert len(res.text) > 0


# ---- datatrove reuse ---------------------------------------------------------------------


def test_rule_is_datatroves_own_verdict():
    text = "buy cheap shoes buy cheap shoes buy cheap shoes online today\n" * 20
    want = GopherRepetitionFilter(language="en").filter(DTDocument(text=text, id="x"))
    assert want[0] is False
    # (with the Llama-3 line rule on, these lines would be removed before datatrove sees them)
    rules = QualityRules(FiltersConfig(dup_ngram={"line_enabled": False}))
    res = rules.evaluate(doc(text), "en")
    assert f"gopher_repetition:{want[1]}" in res.failed
    assert res.details[f"gopher_repetition:{want[1]}"].startswith(want[1])


def test_c4_bad_words_download_is_never_attempted(monkeypatch):
    import datatrove.io

    def no_download(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(datatrove.io, "cached_asset_path_or_download", no_download)
    import datatrove.pipeline.filters.c4_filters as c4

    monkeypatch.setattr(c4, "cached_asset_path_or_download", no_download)
    res = QualityRules(FiltersConfig()).evaluate(doc(PROSE + "fuck fuck fuck this\n"), "en")
    assert "dirty_words" in res.failed


def test_rule_names_are_stable_and_ordered(rules):
    assert len(set(RULE_NAMES)) == len(RULE_NAMES)
    assert RULE_NAMES[:3] == ("empty", "dup_ngram_doc", "dup_ngram_emptied")
    assert RULE_NAMES[-2:] == ("dirty_words", "kl_outlier")
    res = rules.evaluate(doc("Hello"), "en")
    assert res.failed == sorted(res.failed, key=RULE_NAMES.index)
    for rule in res.failed:
        assert rule in res.details


def test_signals_cover_every_check(rules):
    res = rules.evaluate(doc(PROSE), "en")
    names = set(signal_names())
    missing = {n for n in names if n not in res.signals} - {
        "gopher_quality.words_estimate",
        "kl_divergence",  # only for long docs / with a corpus
    }
    assert not missing
    assert all(isinstance(v, float) for v in res.signals.values())


def test_unknown_relaxed_rule_is_a_config_error():
    with pytest.raises(ValueError, match="unknown rule"):
        QualityRules(FiltersConfig(code_math={"relaxed_rules": ("c4_quality:no_such_rule",)}))


def test_good_prose_passes(rules):
    res = rules.evaluate(doc(PROSE), "en")
    assert res.failed == [], res.details


# ---- code and math -------------------------------------------------------------------------


def test_code_and_math_are_detected(rules):
    code = rules.evaluate(doc(PYTHON_TUTORIAL), "en").signals
    math = rules.evaluate(doc(MATH_PAGE), "en").signals
    prose = rules.evaluate(doc(PROSE), "en").signals
    assert code["code_score"] >= 0.15 and code["code_math_relaxed"] == 1.0
    assert math["math_score"] >= 0.2 and math["code_math_relaxed"] == 1.0
    assert prose["code_score"] < 0.15 and prose["math_score"] < 0.2 and prose["code_math_relaxed"] == 0.0


@pytest.mark.parametrize("page", [PYTHON_TUTORIAL, MATH_PAGE], ids=["python_tutorial", "math_page"])
def test_code_math_relaxation(page):
    # Defaults (C4 without its terminal-punctuation line filter, as in FineWeb) and C4 as in
    # its paper (the line filter on: lines without . ? ! " ' are dropped before the brace
    # check, so the page then fails on too few sentences instead).
    for c4 in ({}, {"filter_no_terminal_punct": True}):
        on = QualityRules(FiltersConfig(c4_quality=c4)).evaluate(doc(page), "en")
        off = QualityRules(FiltersConfig(c4_quality=c4, relax_code_math=False)).evaluate(doc(page), "en")
        assert not PUNCT_BRACE_RULES & set(on.failed), on.details
        assert PUNCT_BRACE_RULES & set(off.failed)
        assert on.signals["c4_quality.curly_brackets"] > 0  # the braces were still seen
        if not c4:
            assert "c4_quality:curly_bracket" in off.failed
            assert "fineweb_quality:line_punct_ratio" in off.failed


def test_code_line_checks_decide_as_the_one_pattern_they_replaced():
    """The per-kind patterns with their character prechecks (a speed-up) flag exactly the
    lines that the single statement pattern and the end-of-line search flagged before."""
    import random
    import re

    from edumix.filters import rules_codemath as R

    body = re.compile(
        r"(?:\b\w+(?:\.\w+)*\s*(?:=|\+=|-=|\*=|/=|==|!=|<=|>=|:=|->|=>)\s*[\w\"'\[\({-]"
        r"|\b\w+(?:\.\w+)+\(|\b[a-z_]\w*\([^()]*\)\s*[;:{]?\s*$|::\w|\w\[\w*\]|&&|\|\|)"
    )
    parts = [
        "x",
        "a.b",
        "f",
        "(",
        ")",
        "()",
        "[",
        "]",
        "[1]",
        "=",
        "==",
        "+=",
        "->",
        "=>",
        ":=",
        "::",
        "&&",
        "||",
        ";",
        "{",
        "}",
        ":",
        ",",
        " ",
        "  ",
        "é",
        "1",
        "-",
        "'s",
        "if",
        "print(x)",
        "Std::vec",
        "<=",
        ">",
    ]
    rng = random.Random(0)
    lines = [PYTHON_TUTORIAL, MATH_PAGE, PROSE] + [
        "".join(rng.choices(parts, k=rng.randint(1, 9))) for _ in range(20_000)
    ]
    for line in (s.strip() for text in lines for s in text.split("\n")):
        if line:
            assert R._has_statement(line) == bool(body.search(line)), line
            assert R._ends_like_code(line) == bool(R._CODE_END.search(line)), line


# ---- dirty words ---------------------------------------------------------------------------


def test_dirty_words_from_a_user_file(tmp_path):
    listing = tmp_path / "words.txt"
    listing.write_text("# my list\nzorblax\nflim flam*\n\n醜聞語\n", encoding="utf-8")
    text = PROSE + "Zorblax zorblax and FLIM FLAMMERY, 醜聞語 醜聞語.\n"
    without = QualityRules(FiltersConfig()).evaluate(doc(text), "en")
    with_file = QualityRules(FiltersConfig(dirty_words_file=str(listing))).evaluate(doc(text), "en")
    assert "dirty_words" not in without.failed and without.signals["dirty_words.hits"] == 0
    assert "dirty_words" in with_file.failed
    assert with_file.signals["dirty_words.hits"] == 5
    only_file = DirtyWords.from_config(use_default=False, extra_file=str(listing))
    assert only_file.hits("zorblax porn") == ["zorblax"]


def test_dirty_words_matching():
    dw = DirtyWords.from_config()
    assert dw.size >= 100
    assert dw.hits("FUCKING hell, free Porn videos") == ["fucking", "porn"]
    assert dw.hits("xxx videos and sex cams") == ["xxx videos", "sex cams"]
    assert dw.hits("यह चुदाई वाला") == ["चुदाई"]  # Devanagari: combining marks stay in the word
    assert dw.hits("看口交视频") == ["口交"]  # unspaced script: substring
    # words that merely start like one, or mean something else in another language
    clean = "The Slutsky equation, a Wankel engine, Scunthorpe; Asturian cuntar; Dutch huren; nynorsk kurva"
    assert dw.hits(clean) == []
    hits, tokens, ratio = dw.measure("porn " * 3 + "word " * 97)
    assert (hits, tokens) == (3, 100) and ratio == pytest.approx(0.03)
    assert dw.measure("") == (0, 0, 0.0)


def test_one_mention_is_not_a_drop(rules):
    res = rules.evaluate(doc(PROSE + "A report on the porn industry was published.\n"), "en")
    assert res.signals["dirty_words.hits"] == 1 and "dirty_words" not in res.failed


# ---- Llama 3 duplicated n-gram lines -----------------------------------------------------


def test_repeated_content_lines_are_removed(rules):
    logs = "".join(
        f"2024-03-0{i % 9 + 1} 12:0{i % 10}:00 ERROR worker failed to connect to database host db-{i} retrying in 5 seconds\n"
        for i in range(30)
    )
    res = rules.evaluate(doc(PROSE + logs), "en")
    assert res.signals["dup_ngram.lines_removed"] == 30
    assert "ERROR" not in res.text and res.text.strip() == PROSE.strip()
    assert "dup_ngram_doc" in res.failed  # most of the document was repeated content


def test_tag_mode_removes_no_lines():
    logs = "".join(f"12:0{i % 10}:00 ERROR worker {i} failed to connect to database host db-{i}\n" for i in range(30))
    text = PROSE + logs
    for mode, kept_text in (("drop", PROSE.strip()), ("tag", text)):
        rules = QualityRules(FiltersConfig(mode=mode, dup_ngram={"doc_enabled": False}))
        out = rules(doc(text, lang="en"))
        assert isinstance(out, Document) and out.text == kept_text
        assert out.signals["dup_ngram.lines_removed"] == 30


def test_line_removal_leaves_good_prose_alone(rules):
    res = rules.evaluate(doc(PROSE), "en")
    assert res.signals["dup_ngram.lines_removed"] == 0 and res.text == PROSE


# ---- KL against the corpus distribution ---------------------------------------------------

COOKING = [
    "Heat the oil in a pan, add the onion and cook until soft. Stir in the garlic and the tomatoes.",
    "Boil the pasta in salted water. Drain it and toss it with the sauce and some fresh basil.",
    "Whisk the eggs with the milk, pour them into the hot pan and stir gently until they set.",
    "Roast the vegetables in the oven for forty minutes, turning them once, until they brown.",
    "Season the soup with salt and pepper, then simmer it for ten minutes before you serve it.",
]


def test_kl_on_a_toy_corpus():
    corpus = [t for t in COOKING for _ in range(20)]
    total = collections.Counter()
    for t in corpus:
        total.update(token_counts(t))
    # the combine's sum is order-independent, so the side input is deterministic
    total2 = collections.Counter()
    for t in reversed(corpus):
        total2.update(token_counts(t))
    dist = corpus_distribution(total, top_k=500)
    assert dist == corpus_distribution(total2, top_k=500)
    assert pickle.loads(pickle.dumps(dist)) == dist
    assert len(token_counts("a b c " * 10_000, max_tokens=100)) <= 3
    assert sum(token_counts("a b c " * 10_000, max_tokens=100).values()) == 100

    inlier = kl_divergence(token_counts(COOKING[0] + " " + COOKING[3]), dist)
    spam = (
        "cheap replica watches buy online best price discount luxury brands free shipping "
        "guaranteed lowest cost authentic designer handbags sale today only casino bonus"
    )
    outlier = kl_divergence(token_counts(spam), dist)
    assert 0 <= inlier < outlier
    assert kl_divergence(collections.Counter(), dist) == 0.0

    cfg = FiltersConfig(kl={"threshold": (inlier + outlier) / 2, "min_corpus_tokens": 100})
    qr = QualityRules(cfg)
    good = qr.evaluate(doc(COOKING[0] + " " + COOKING[3]), "en", {"en": dist})
    bad = qr.evaluate(doc(spam), "en", {"en": dist})
    assert "kl_outlier" not in good.failed and "kl_outlier" in bad.failed
    assert good.signals["kl_divergence"] == pytest.approx(windowed_kl(good.text, dist)[0], abs=1e-6)
    # no side input, another language's only, or a too-small corpus: the rule is skipped
    for side in (None, {"de": dist}):
        res = qr.evaluate(doc(spam), "en", side)
        assert "kl_divergence" not in res.signals and "kl_outlier" not in res.failed
    tiny = QualityRules(FiltersConfig(kl={"min_corpus_tokens": 10**9})).evaluate(doc(spam), "en", dist)
    assert "kl_divergence" not in tiny.signals


# ---- tag and drop ---------------------------------------------------------------------------


def test_tag_and_drop_modes():
    spam = PROSE + "fuck fuck fuck porn porn porn\n"
    drop_rules = QualityRules(FiltersConfig(mode="drop"))
    tag_rules = QualityRules(FiltersConfig(mode="tag"))
    original = doc(spam)
    r_drop = drop_rules.evaluate(original, "en")
    r_tag = tag_rules.evaluate(original, "en")
    assert r_drop.failed == r_tag.failed == ["dirty_words"]
    assert r_drop.signals == r_tag.signals
    dropped = drop_rules.apply(original, r_drop)
    assert isinstance(dropped, Drop) and dropped.reason == "dirty_words" and dropped.stage == "quality"
    assert "dirty_words.ratio=" in dropped.detail and dropped.doc.text == spam
    kept = tag_rules.apply(original, r_tag)
    assert isinstance(kept, Document) and kept.metadata["failed_rules"] == "dirty_words"
    assert kept.signals["dirty_words.hits"] == 6
    assert original.signals == {} and "failed_rules" not in original.metadata  # never mutated
    clean = tag_rules(doc(PROSE, lang="en"))
    assert isinstance(clean, Document) and "failed_rules" not in clean.metadata


# ---- floors on human labels -------------------------------------------------------------------


@pytest.mark.slow
def test_precision_recall_floors_on_hplt_dev():
    """Floors measured with `.venv/bin/python benchmarks/filters_eval.py` (view "trimmed",
    edumix defaults, identified language; 2,400 rows, 256 'unnatural or porn'):

    | measure                                   | flagged | prec  | recall |
    | any rule                                  |     812 | 0.206 | 0.652  |
    | any rule without the two length checks    |     298 | 0.362 | 0.422  |
    | edumix's own rules only                   |      56 | 0.786 | 0.172  |
    | dirty_words                               |      25 | 1.000 | 0.098  |
    | dup_ngram_doc                             |      31 | 0.613 | 0.074  |
    | datatrove alone, as documented (baseline) |    2322 | 0.107 | 0.973  |
    """
    rows = load_rows(shared("quality", "hplt_v2_dev"), "trimmed")
    ident = LanguageIdentifier()
    labels = {r.id + r.file_lang: ident.identify(r.text)[0] for r in rows}
    failed, _, _ = evaluate_rows(rows, labels, FiltersConfig())
    any_n, _, any_p, r = summary(rows, failed)
    assert any_p >= 0.19 and r >= 0.60
    # vs datatrove's filters as documented (2,322 flagged at 0.107, measured by the benchmark):
    # under 40% of the documents flagged, at 1.8x the precision
    assert any_n < 0.4 * 2322 and any_p > 1.8 * 0.107
    length = {"gopher_quality:gopher_short_doc", "c4_quality:too_few_sentences"}
    _, _, p, r = summary(rows, failed, lambda rule: rule not in length)
    assert p >= 0.33 and r >= 0.38
    _, _, p, r = summary(rows, failed, lambda rule: rule in EDUMIX_RULES)
    assert p >= 0.74 and r >= 0.15
    table = {rule: (n, tp, p, r) for rule, n, tp, p, r in rule_table(rows, failed)}
    assert table["dirty_words"][2] >= 0.95 and table["dirty_words"][3] >= 0.09
    assert table["dup_ngram_doc"][2] >= 0.55


def test_fineweb_judges_the_c4_edited_text_when_edits_are_kept():
    """As in FineWeb's pipeline (C4 before FineWeb): lines C4 removes (here a repeated
    'enable JavaScript' banner) no longer count as FineWeb's duplicated lines."""
    prose = [
        f"Paragraph {i} explains how the river carries silt to the delta every spring. "
        f"Farmers there plant rice once the water recedes, and the harvest follows in autumn."
        for i in range(8)
    ]
    banner = "Please enable JavaScript in your browser to see this part of the page."
    text = "\n".join(prose[:4] + [banner] * 6 + prose[4:])
    base = {
        "evaluate_all": True,
        "signals": False,
        "dup_ngram": {"line_enabled": False, "doc_enabled": False},
        "kl": {"enabled": False},
        "dirty_words": {"enabled": False},
    }
    unedited = QualityRules(FiltersConfig.model_validate(base)).evaluate(doc(text, lang="en"))
    assert "fineweb_quality:char_dup_ratio" in unedited.failed
    edited = QualityRules(FiltersConfig.model_validate({**base, "c4_quality": {"apply_line_edits": True}}))
    result = edited.evaluate(doc(text, lang="en"))
    assert not any(r.startswith("fineweb_quality") for r in result.failed), result.failed
    assert "JavaScript" not in result.text and result.text.count("river") == 8
