"""The memoized spaCy tokenizer (filters/spacy_memo.py) must give exactly what datatrove's
spaCy tokenizer gives: words of whole documents and sentence spans of lines (C4's use)."""

import gzip

import pytest
from shared_data import shared

from edumix.evaluate.pages import choose_eval_pages
from edumix.filters.rules_language import word_tokenizer
from edumix.filters.spacy_memo import MemoSpacyTokenizer

TRICKY = [
    "Hello world. This is a test, 123! Another one?",
    "Mr. Smith met Dr. Jones at 5 p.m. in the U.S. -- e.g. near St. Louis...",
    "can't won't cannot gonna gotta Let's it's o'clock rock'n'roll",
    "two  spaces,\tand a tab.  Then\xa0nbsp. And\u2009thin space. End .",
    "Smileys :) :-( (: ;) <3 and URLs https://example.com/a?b=c.d, www.x.org.",
    "Numbers 3.5km, $10.99, 50%, 1,000,000 and 12:30. ... !! ?! ¿Qué? ¡Sí!",
    "«Quotes» “double” ‘single’ (parens) [brackets] {braces} — dashes – ok.",
    "Привет, мир. Как дела? 你好世界。这是测试。 Γειά σου κόσμε. مرحبا بالعالم؟",
    "hyphen-ated well-known state-of-the-art e-mail co-operate.",
    "a.m. A.M. etc. vs. i.e. No. 5 Fig. 3 Jan. 2024",
    "",
    "   ",
    ".",
    "word",
    "...and then.",
]


@pytest.fixture(scope="module")
def page_texts():
    import trafilatura

    root = shared()
    texts = []
    for _, path in choose_eval_pages(root, 40):
        text = trafilatura.extract(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"), include_tables=True)
        if text:
            texts.append(text)
    assert len(texts) > 30
    return texts


@pytest.mark.parametrize("lang", ["en", "de", "ru"])
def test_words_and_sentence_spans_equal_spacy(lang, page_texts):
    memo = word_tokenizer(lang)
    assert isinstance(memo, MemoSpacyTokenizer)
    spacy_tok = memo.inner
    docs = page_texts + TRICKY + ["\n".join(TRICKY)]
    lines = 0
    for text in docs:
        assert memo.word_tokenize(text) == spacy_tok.word_tokenize(text)
        for line in [text, *text.splitlines()]:
            for variant in (line, line.strip()):
                lines += 1
                assert memo.span_tokenize(variant) == spacy_tok.span_tokenize(variant), variant[:120]
    assert lines > 2000
    # the same again with a warm memo: still identical
    assert [memo.word_tokenize(t) for t in docs] == [spacy_tok.word_tokenize(t) for t in docs]


def test_segmenting_tokenizers_are_not_wrapped():
    """Chinese/Japanese segmenters see the whole text, so the per-run memo would be wrong."""
    assert not isinstance(word_tokenizer("zh"), MemoSpacyTokenizer)
    assert not isinstance(word_tokenizer("ja"), MemoSpacyTokenizer)
