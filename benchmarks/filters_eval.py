"""Heuristic filters and language ID against human labels (HPLT v2 dev annotations).

    .venv/bin/python benchmarks/filters_eval.py            # ~80 s on 2 cores
    .venv/bin/python benchmarks/filters_eval.py --view raw # excerpts exactly as annotated
    .venv/bin/python benchmarks/filters_eval.py --skip-seed

Tables: language ID accuracy per file language; per rule, flags / precision / recall against
"unnatural or porn", "any rule" overall, per script group and per file language against
datatrove's filters alone; thresholds tuned from recorded signals; code/math awareness on the
seed corpora. The data, the two views of each row and what is measured are described, and the
loaders and the scoring live, in ``edumix/evaluate/quality_rules.py`` (tests/test_heuristics.py
and tests/test_langid.py hold the same numbers to floors).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from edumix.core.config import FiltersConfig
from edumix.evaluate.quality_rules import (
    EDUMIX_RULES,
    HPLT,
    ISO3_TO_LABEL,
    SCRIPT_GROUP,
    SEED,
    code_math_table,
    datatrove_only_config,
    evaluate_rows,
    group_table,
    langid_accuracy,
    load_rows,
    rule_table,
    seed_passages,
    summary,
    tuning_table,
)
from edumix.filters.langid import LanguageIdentifier

# ---- printing -----------------------------------------------------------------------------


def _f(x: float) -> str:
    return "  -  " if math.isnan(x) else f"{x:5.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=HPLT)
    ap.add_argument("--view", choices=("trimmed", "raw"), default="trimmed")
    ap.add_argument("--skip-seed", action="store_true", help="leave out the code/math table")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"data not found: {args.data} (set EDUMIX_SHARED_DATA)", file=sys.stderr)
        return 2

    rows = load_rows(args.data, args.view)
    n_bad = sum(r.bad for r in rows)
    print(
        f"{len(rows)} rows from {args.data} (view: {args.view}); unnatural or porn: {n_bad} "
        f"({n_bad / len(rows):.1%}, the precision of flagging at random)\n"
    )

    ident = LanguageIdentifier()
    per, labels, rate = langid_accuracy(rows, ident)
    print(f"== Language ID (py3langid), rows with lang_correct == 1; {rate:,.0f} docs/s")
    print(f"{'file':5s} {'label':5s} {'n':>4s} {'acc':>6s}  wrong answers")
    tot_n = tot_ok = sup_n = sup_ok = 0
    for code in sorted(per):
        n, ok, wrong = per[code]
        label = ISO3_TO_LABEL.get(code) or "-"
        tot_n += n
        tot_ok += ok
        if ISO3_TO_LABEL.get(code):
            sup_n += n
            sup_ok += ok
        note = ", ".join(f"{k} {v}" for k, v in wrong.most_common(3))
        if not ISO3_TO_LABEL.get(code):
            note = "(no such label in the model) " + note
        print(f"{code:5s} {label:5s} {n:4d} {ok / n:6.3f}  {note}")
    print(f"{'all':5s} {'':5s} {tot_n:4d} {tot_ok / tot_n:6.3f}")
    print(f"{'known':5s} {'':5s} {sup_n:4d} {sup_ok / sup_n:6.3f}  (languages the model has a label for)\n")

    cfg = FiltersConfig()
    failed, signals, rate = evaluate_rows(rows, labels, cfg)
    base_failed, _, base_rate = evaluate_rows(rows, labels, datatrove_only_config(), use_lang=False, with_kl=False)

    print(f"== Rules (edumix defaults, identified language, tag mode) vs 'unnatural or porn'; {rate:,.0f} docs/s")
    print(f"{'rule':46s} {'flagged':>7s} {'tp':>4s} {'prec':>6s} {'recall':>6s}")
    for rule, n, tp, p, r in rule_table(rows, failed):
        print(f"{rule:46s} {n:7d} {tp:4d} {_f(p):>6s} {_f(r):>6s}")
    length_rules = {"gopher_quality:gopher_short_doc", "c4_quality:too_few_sentences"}
    lines = [
        ("ANY RULE (edumix defaults)", summary(rows, failed)),
        ("  without the 2 length checks (see doc)", summary(rows, failed, lambda r: r not in length_rules)),
        ("  datatrove filters only (within defaults)", summary(rows, failed, lambda r: ":" in r)),
        ("  edumix rules only", summary(rows, failed, lambda r: r in EDUMIX_RULES)),
        (f"BASELINE datatrove alone, as documented ({base_rate:,.0f} docs/s)", summary(rows, base_failed)),
    ]
    for name, (n, tp, p, r) in lines:
        print(f"{name:46s} {n:7d} {tp:4d} {_f(p):>6s} {_f(r):>6s}")

    print("\n== Tuning from recorded signals (tag mode): a threshold's flags, precision, recall")
    for name, n, tp, p, r in tuning_table(rows, signals):
        print(f"{name:46s} {n:7d} {tp:4d} {_f(p):>6s} {_f(r):>6s}")

    print("\n== Any rule, per script group: edumix defaults | datatrove baseline")
    print(
        f"{'group':10s} {'rows':>5s} {'bad':>4s} {'flagged':>7s} {'prec':>6s} {'recall':>6s} | "
        f"{'flagged':>7s} {'prec':>6s} {'recall':>6s}"
    )
    base_by = {g[0]: g for g in group_table(rows, base_failed, lambda r: SCRIPT_GROUP.get(r.script, r.script))}
    for name, n, bad, k, _tp, p, r in group_table(rows, failed, lambda r: SCRIPT_GROUP.get(r.script, r.script)):
        b = base_by[name]
        print(f"{name:10s} {n:5d} {bad:4d} {k:7d} {_f(p):>6s} {_f(r):>6s} | {b[3]:7d} {_f(b[5]):>6s} {_f(b[6]):>6s}")

    print("\n== Any rule, per file language: edumix defaults | datatrove baseline")
    base_by = {g[0]: g for g in group_table(rows, base_failed, lambda r: r.file_lang)}
    for name, n, bad, k, _tp, p, r in group_table(rows, failed, lambda r: r.file_lang):
        b = base_by[name]
        print(f"{name:10s} {n:5d} {bad:4d} {k:7d} {_f(p):>6s} {_f(r):>6s} | {b[3]:7d} {_f(b[5]):>6s} {_f(b[6]):>6s}")

    if not args.skip_seed and SEED.is_dir():
        print("\n== Code/math awareness on seed corpora (English settings): share of passages")
        print(
            f"{'corpus':12s} {'n':>4s} {'detected':>8s} {'flagged off':>11s} {'flagged on':>10s} "
            f"{'punct/brace off':>15s} {'punct/brace on':>14s}"
        )
        for name, n, det, f_off, f_on, p_off, p_on in code_math_table(seed_passages()):
            print(f"{name:12s} {n:4d} {det:8.3f} {f_off:11.3f} {f_on:10.3f} {p_off:15.3f} {p_on:14.3f}")
        print(
            "(punct/brace = c4_quality:curly_bracket, c4_quality:too_few_sentences, fineweb_quality:line_punct_ratio)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
