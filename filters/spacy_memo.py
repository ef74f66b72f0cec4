"""datatrove's spaCy word tokenizer, with the same output at a fraction of the cost.

spaCy tokenizes every maximal run of non-whitespace characters on its own (its own cache
is keyed the same way), so a document's words are the concatenation of its runs' tokens.
Most runs repeat ("the", "and,", "2024."), so each run is tokenized once per worker
and looked up afterwards; unseen runs of a document go through spaCy in one call.
datatrove's C4 filter also counts sentences line by line with spaCy's sentencizer; that
count only needs the tokens, whether each is punctuation, and where whitespace tokens
stand, so it is computed from the same memo with the sentencizer's own rule.

benchmarks/vs_datatrove.py measures the gain; tests/test_spacy_memo.py checks that words
and sentence spans equal spaCy's on real pages.
"""

from __future__ import annotations

import re

from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, strip_strings

_RUNS = re.compile(r"\S+|\s+")
MAX_MEMO = 2_000_000  # runs kept per worker before the memo starts over


class MemoSpacyTokenizer(WordTokenizer):
    """Wraps a datatrove SpaCyTokenizer; word_tokenize and span_tokenize give its results."""

    def __init__(self, inner: SpaCyTokenizer):
        super().__init__(inner.language)
        self.inner = inner
        self._memo: dict[str, tuple[tuple[str, bool], ...]] = {}  # run -> ((token, is_punct), ...)
        self._punct_chars: frozenset[str] | None = None
        self._rules: set[str] | None = None  # spaCy's special cases, loaded on first use

    def _single_token(self, run: str) -> bool:
        """True when spaCy's tokenizer cannot split `run`: no special case, and none of its
        prefix, suffix or infix patterns matches anywhere (then `_split_affixes` and
        `_attach_tokens` leave it whole). Skips spaCy's costly new-lexeme path."""
        if self._rules is None:
            tok = self.inner.tokenizer.tokenizer
            self._rules = set(tok.rules or ())
            self._prefix = tok.prefix_search
            self._suffix = tok.suffix_search
            self._infix = tok.infix_finditer
            from spacy.attrs import IS_PUNCT

            self._is_punct = self.inner.tokenizer.vocab.lex_attr_getters[IS_PUNCT]
        return not (
            run in self._rules
            or (self._prefix is not None and self._prefix(run))
            or (self._suffix is not None and self._suffix(run))
            or (self._infix is not None and next(self._infix(run), None) is not None)
        )

    def _learn(self, runs: list[str]) -> None:
        """Tokenize unseen runs: runs spaCy cannot split directly, the rest in one spaCy
        call (joined by single spaces, a run's last token is the one followed by a space)."""
        if len(self._memo) + len(runs) > MAX_MEMO:
            self._memo.clear()
        rest = []
        for run in runs:
            if self._single_token(run):
                self._memo[run] = ((run, bool(self._is_punct(run))),)
            else:
                rest.append(run)
        if not rest:
            return
        runs = rest
        nlp = self.inner.tokenizer
        text = " ".join(runs)
        nlp.max_length = len(text) + 10
        with nlp.memory_zone():
            doc = nlp.make_doc(text)
            it = iter(runs)
            current: list[tuple[str, bool]] = []
            for tok in doc:
                current.append((tok.text, tok.is_punct))
                if tok.whitespace_ or tok.i == len(doc) - 1:
                    self._memo[next(it)] = tuple(current)
                    current = []

    def _tokens(self, text: str) -> list[tuple[str, bool]]:
        runs = text.split()
        missing = [r for r in dict.fromkeys(runs) if r not in self._memo]
        if missing:
            self._learn(missing)
        memo = self._memo
        return [t for r in runs for t in memo[r]]

    def word_tokenize(self, text: str) -> list[str]:
        return strip_strings([t for t, _ in self._tokens(text)])

    def sent_tokenize(self, text: str) -> list[str]:
        return self.inner.sent_tokenize(text)

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        """spaCy's sentencizer over the memo's tokens: a sentence starts at the first token
        after one of its punctuation characters that is neither punctuation nor such a
        character. Whitespace other than the single space spaCy attaches to the previous
        token becomes a token of its own (never punctuation)."""
        if self._punct_chars is None:
            self._punct_chars = frozenset(self.inner.tokenizer.get_pipe("sentencizer").punct_chars)
        punct_chars = self._punct_chars
        tokens: list[tuple[int, int, bool, bool]] = []  # (start, end, is_punct, in_punct_chars)
        for m in _RUNS.finditer(text):
            start, run = m.start(), m.group()
            if run[0].isspace():
                if tokens and run[0] == " ":  # spaCy's trailing space of the previous token
                    start, run = start + 1, run[1:]
                if run:
                    tokens.append((start, start + len(run), False, False))
                continue
            if run not in self._memo:
                self._learn([run])
            for tok, is_punct in self._memo[run]:
                tokens.append((start, start + len(tok), is_punct, tok in punct_chars))
                start += len(tok)
        if not tokens:
            return []
        starts, seen_period = [0], False
        for i, (_, _, is_punct, in_chars) in enumerate(tokens):
            if seen_period and not is_punct and not in_chars:
                starts.append(i)
                seen_period = False
            elif in_chars:
                seen_period = True
        bounds = starts + [len(tokens)]
        # (first token's start, last token's end): spaCy's Span.start_char / end_char
        return [(tokens[a][0], tokens[b - 1][1]) for a, b in zip(bounds, bounds[1:])]


def memoized(tok: WordTokenizer) -> WordTokenizer:
    """The memo only holds for spaCy's rule-based tokenizer (whitespace runs tokenized
    independently); segmenters such as Chinese jieba or Japanese see whole texts."""
    if not isinstance(tok, SpaCyTokenizer):
        return tok
    from spacy.tokenizer import Tokenizer

    return MemoSpacyTokenizer(tok) if type(tok.tokenizer.tokenizer) is Tokenizer else tok
