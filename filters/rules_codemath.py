"""Cheap code and math detection, so that rules known to hurt code and math (curly
braces, terminal punctuation, symbol and short-line ratios...) can be relaxed for them.

Two scores in 0..1, both computed on a bounded prefix of the text:

- `code_score`: the share of non-blank lines that look like source code (a statement
  keyword at the start, a line ending in `;`/`{`/`}`, an assignment or call, a shell or
  REPL prompt, a code fence), blended with the share of code-ish symbols. A tutorial that
  is half prose, half listings scores ~0.3-0.6; prose scores ~0.
- `math_score`: LaTeX commands, `$...$` spans, `^{`/`_{`, math symbols and `x = ...`
  equations per word, saturating at 1.

Thresholds (`CodeMathConfig`) were set on the seed corpora in ../shared/data/seed:
see `benchmarks/filters_eval.py` (section "code/math detection") for the rates.
"""

from __future__ import annotations

import re

# Bounded work for huge documents: detection looks at the first this-many characters.
DETECT_CHARS = 20_000

_CODE_START = re.compile(
    r"""^\s*(?:
        def\s|class\s|import\s|from\s+[\w.]+\s+import\s|return\b|elif\b|else\s*:|else\s*\{|
        if\s*\(|if\s.+:\s*$|for\s*\(|for\s.+\sin\s.+:\s*$|while\s*[\(\w].*[:{]\s*$|try\s*[:{]|
        except\b.*:\s*$|catch\s*\(|finally\s*[:{]|with\s.+:\s*$|async\s+def\s|await\s|
        function\b|var\s|let\s|const\s|public\s|private\s|protected\s|static\s|void\s|
        int\s+\w+\s*[=;(]|\#include\b|\#define\b|\#!\/|package\s+[\w.]+|func\s|fn\s|impl\b|
        struct\s|enum\s|using\s|namespace\s|typedef\s|@\w+|
        SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(?:TABLE|INDEX)|
        print\s*\(|console\.\w+\(|System\.\w+|printf\s*\(|std::|
        >>>\s|\.\.\.\s|\$\s+\w|%\s+\w|sudo\s|pip\s+install|npm\s|git\s|cd\s+[\w/~.]|
        ```|//|/\*|\*/|<\?php|</?\w+[^>]*>\s*$
    )""",
    re.VERBOSE,
)
_CODE_END = re.compile(r"(?:;|\{|\}|\)\s*[:{]|\]\s*[,;]?|\(\s*\)|=>\s*\{?|:=.*)\s*$")
# A statement inside a line, one pattern per kind so that each runs only when the characters
# it needs are there (one combined search cost ~8 us a line, most of the detector's time).
# Possessive `\w++`: a word cut short can never be followed by `.`, a space or an operator.
_CODE_ASSIGN = re.compile(
    r"\b\w++(?:\.\w++)*\s*(?:=|\+=|-=|\*=|/=|==|!=|<=|>=|:=|->|=>)\s*[\w\"'\[\({-]"
)  # needs = or ->
_CODE_CALL = re.compile(r"\b\w++(?:\.\w++)+\(|\b[a-z_]\w*\([^()]*\)\s*[;:{]?\s*$")  # needs (
_CODE_SCOPE = re.compile(r"::\w")
_CODE_INDEX = re.compile(r"\w\[\w*\]")
_CODE_END_CHARS = frozenset(";{}:],)>")  # the last character of every _CODE_END match but `:=...`
_CODE_SYMBOLS = frozenset("{}[]();=<>_|&\\/*#$")

_LATEX_CMD = re.compile(
    r"\\(?:frac|dfrac|sum|int|oint|prod|lim|sqrt|alpha|beta|gamma|delta|epsilon|varepsilon|"
    r"theta|lambda|mu|pi|sigma|phi|varphi|omega|infty|partial|nabla|cdot|cdots|ldots|times|"
    r"leq|geq|neq|le|ge|ne|approx|equiv|in|notin|subset|subseteq|cup|cap|forall|exists|to|"
    r"mapsto|rightarrow|Rightarrow|iff|mathbb|mathcal|mathrm|mathbf|operatorname|left|right|"
    r"begin|end|label|ref|eqref|text|hat|bar|vec|overline|binom|pmod|mod|log|ln|sin|cos|tan|"
    r"exp|det|dim|ker|max|min|sup|inf)\b"
)
_DOLLAR_MATH = re.compile(r"\$[^$\n]{1,200}\$")
_TEX_SCRIPT = re.compile(r"[\^_]\{")
_MATH_SYMBOLS = frozenset("∑∫∮√∛≤≥≠≈≡∈∉∋∀∃∄→←↔⇒⇐⇔↦±∓×÷∞∂∇⊂⊃⊆⊇∪∩∅ℝℕℤℚℂ∘⊗⊕⊥∠∝′″‴⌊⌋⌈⌉⟨⟩")
_EQUATION = re.compile(r"(?<![\w.])[A-Za-z](?:_\w|\^\w|\(\w+\))?\s*(?:=|<|>|≤|≥)\s*[-+(]?\s*[\w.]+\s*[-+*/^]\s*[\w(]")
_WORD = re.compile(r"\w+")


def _ends_like_code(stripped: str) -> bool:
    return (stripped[-1] in _CODE_END_CHARS or ":=" in stripped) and _CODE_END.search(stripped) is not None


def _has_statement(s: str) -> bool:
    """An assignment, a call, `::`, an index, `&&` or `||` anywhere in the (stripped) line."""
    return (
        "&&" in s
        or "||" in s
        or (("=" in s or "->" in s) and _CODE_ASSIGN.search(s) is not None)
        or ("(" in s and _CODE_CALL.search(s) is not None)
        or ("::" in s and _CODE_SCOPE.search(s) is not None)
        or ("[" in s and _CODE_INDEX.search(s) is not None)
    )


def code_score(text: str) -> float:
    """Share of non-blank lines that look like code, blended with symbol density (0..1)."""
    text = text[:DETECT_CHARS]
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return 0.0
    in_fence = False
    code_lines = 0
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            code_lines += 1
            continue
        if in_fence:
            code_lines += 1
            continue
        if len(stripped) > 300:  # a paragraph of prose, even with a call in it
            continue
        if _CODE_START.match(line) or _ends_like_code(stripped) or _has_statement(stripped):
            code_lines += 1
    line_share = code_lines / len(lines)
    # str.split/str.count run in C: the same counts as a per-character loop, ~20x faster
    non_space = len("".join(text.split())) or 1
    symbol_share = sum(map(text.count, _CODE_SYMBOLS)) / non_space
    # Prose has ~1-2% of these symbols, source code 10-20%.
    return round(min(1.0, 0.75 * line_share + 0.25 * min(1.0, symbol_share / 0.12)), 4)


def math_score(text: str) -> float:
    """Math markup and notation per word, saturating at 1 (one hit every 10 words)."""
    text = text[:DETECT_CHARS]
    words = len(_WORD.findall(text))
    if not words:
        return 0.0
    # each pattern runs only when a character it needs is in the text
    hits = (
        ("\\" in text and len(_LATEX_CMD.findall(text)))
        + ("$" in text and 2 * len(_DOLLAR_MATH.findall(text)))
        + ("{" in text and len(_TEX_SCRIPT.findall(text)))
        + (not text.isascii() and sum(map(text.count, _MATH_SYMBOLS)))  # in C: ~4x faster than per character
        + (any(c in text for c in "=<>≤≥") and 2 * len(_EQUATION.findall(text)))
    )
    return round(min(1.0, hits / words * 10), 4)
