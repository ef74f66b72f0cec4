"""report.html: one self-contained page to read a run (`edumix report RUN_DIR`).

Everything is inline (CSS, and SVG charts drawn here in Python), with no JavaScript and no
network: the file opens offline, from a downloaded bucket or a mail attachment, and looks
the same in ten years. Sections a run predates (token counts, score histograms, the mix)
say "not available in this run" instead of failing: the page must open for every run
directory edumix ever wrote.

Dropped documents left the pipeline before the PII stage, so the ledger excerpts shown here
are scrubbed with the run's own PII settings (edumix.filters.pii) before they enter the page,
and every string from the data is HTML-escaped.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.compute as pc

from edumix import __version__
from edumix.core.run_dir import (
    MANIFEST,
    REJECTED_GLOB,
    REPORT,
    REPORT_HTML,
    SHARDS_GLOB,
    TIMING,
    match,
    open_parquet,
    read_json,
)

from .charts import (
    NOT_AVAILABLE,
    Raw,
    TokenUnit,
    _Row,
    esc,
    fmt_int,
    fmt_pct,
    grid,
    hbars,
    histogram,
    human,
    na,
    note,
    section,
    signed,
    table,
    vbars,
)
from .compare import compare_runs, config_value, final_tokens

log = logging.getLogger(__name__)

EXCERPT_CHARS = 400  # of each sample dropped document
SAMPLES_PER_RULE = 3
MATRIX_RULES = 15  # rules in the overlap heat map (most flagged first)
CHART_ROWS = 25  # bars in a horizontal bar chart before the rest is left to the table
LANG_COLUMNS = 8  # languages given their own column in the tier x domain table
TOP_HOSTS = 20  # hosts (and TLDs) in the kept-documents tables
KEPT_SAMPLES = 2  # kept documents shown per domain x tier (the smallest ids: the same every time)
LENGTH_BINS = 20


@dataclass
class KeptDocs:
    """What the shards hold, read once for the report: lengths, hosts, a few samples."""

    chars: list[int] = field(default_factory=list)
    words: list[int] = field(default_factory=list)
    hosts: Counter = field(default_factory=Counter)
    tlds: Counter = field(default_factory=Counter)
    samples: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


def _host(url: str | None) -> str | None:
    try:
        host = urlsplit(url or "").hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def kept_documents(run_dir: str, per_cell: int = KEPT_SAMPLES) -> KeptDocs | None:
    """Lengths (characters, whitespace-separated words), hosts and the `per_cell` kept
    documents with the smallest ids per (domain, edu tier), from the shards."""
    paths = match(run_dir, SHARDS_GLOB)
    if not paths:
        return None
    kept = KeptDocs()
    wanted = ("id", "url", "text", "lang", "domain", "edu_tier")
    try:
        for path in paths:
            with open_parquet(path) as pf:
                cols = [c for c in wanted if c in pf.schema_arrow.names]
                if "text" not in cols:
                    return None
                t = pf.read(columns=cols)
            text = t.column("text")
            kept.chars += pc.utf8_length(text).fill_null(0).to_pylist()
            kept.words += pc.list_value_length(pc.utf8_split_whitespace(text)).fill_null(0).to_pylist()
            if "url" in cols:
                for url in t.column("url").to_pylist():
                    host = _host(url)
                    if host:
                        kept.hosts[host] += 1
                        kept.tlds["." + host.rsplit(".", 1)[-1]] += 1
            doms = t.column("domain").to_pylist() if "domain" in cols else [None] * t.num_rows
            tiers = t.column("edu_tier").to_pylist() if "edu_tier" in cols else [None] * t.num_rows
            ids = t.column("id").to_pylist() if "id" in cols else [str(i) for i in range(t.num_rows)]
            for i, (doc_id, dom, tier) in enumerate(zip(ids, doms, tiers, strict=True)):
                cell = kept.samples.setdefault((str(dom or "–"), str(tier or "–")), [])
                if len(cell) < per_cell or doc_id < cell[-1]["id"]:
                    row = {c: t.column(c)[i].as_py() for c in cols}
                    cell.append(row)
                    cell.sort(key=lambda r: r["id"])
                    del cell[per_cell:]
    except (OSError, ValueError) as e:
        log.warning("report: cannot read shards of %s: %s", run_dir, e)
        return None
    return kept


@dataclass
class RunView:
    run_dir: str
    report: dict[str, Any]
    config: dict[str, Any] | None = None
    samples: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    kept_by_lang: Counter | None = None
    kept: KeptDocs | None = None
    timing: dict[str, Any] | None = None

    @property
    def stats(self) -> dict[str, Any]:
        return self.report.get("stats") or {}

    @property
    def tokens(self) -> TokenUnit:
        return TokenUnit(self.report.get("token_count"))


def read_samples(run_dir: str, per_rule: int = SAMPLES_PER_RULE) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The first rows of each rejected/STAGE.REASON.parquet (already sorted by id: the same
    samples every time), documents with text first. Keyed by the rows' own stage/reason."""
    wanted = ("url", "text", "lang", "stage", "reason", "detail")
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for path in match(run_dir, REJECTED_GLOB):
        try:
            with open_parquet(path) as pf:
                cols = [c for c in wanted if c in pf.schema_arrow.names]
                batch = next(pf.iter_batches(batch_size=8 * per_rule, columns=cols), None)
        except (OSError, ValueError) as e:
            log.warning("report: cannot read %s: %s", path, e)
            continue
        rows = batch.to_pylist() if batch is not None else []
        if not rows or "stage" not in rows[0]:
            continue
        rows.sort(key=lambda r: not r.get("text"))  # stable: keeps the id order otherwise
        out[(rows[0]["stage"], rows[0]["reason"])] = rows[:per_rule]
    return out


def kept_languages(run_dir: str) -> Counter | None:
    """Kept documents per language, from the shards' `lang` column (one column: cheap)."""
    paths = match(run_dir, SHARDS_GLOB)
    if not paths:
        return None
    counts: Counter = Counter()
    try:
        for path in paths:
            with open_parquet(path) as pf:
                if "lang" not in pf.schema_arrow.names:
                    return None
                col = pf.read(columns=["lang"]).column("lang")
            for item in pc.value_counts(col).to_pylist():
                counts[item["values"] or "und"] += item["counts"]
    except (OSError, ValueError) as e:
        log.warning("report: cannot read shards of %s: %s", run_dir, e)
        return None
    return counts


class ExcerptScrubber:
    """The run's PII scrubber (its `pii` settings, always enabled) for ledger excerpts."""

    def __init__(self, config: dict[str, Any] | None):
        from edumix.core.config import PiiConfig
        from edumix.filters.pii import PiiScrubber

        try:
            cfg = PiiConfig.model_validate({**((config or {}).get("pii") or {}), "enabled": True})
        except ValueError:  # a config from another edumix version
            cfg = PiiConfig()
        quiet = logging.getLogger("presidio-analyzer")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "recognizer not added for language xx" x 20
        try:
            try:
                self._scrubber = PiiScrubber(cfg)
            except RuntimeError:  # NER model the run used is not installed here
                self._scrubber = PiiScrubber(cfg.model_copy(update={"ner": False, "ner_model": None}))
        finally:
            quiet.setLevel(level)

    def excerpt(self, text: str | None, limit: int = EXCERPT_CHARS) -> str:
        """The first `limit` characters after scrubbing. Twice that is scrubbed, cut at a
        space, so a value cut in half by the window lies beyond what is shown."""
        if not text:
            return ""
        window = text[: 2 * limit]
        if len(text) > len(window):
            space = max(window.rfind(" ", limit), window.rfind("\n", limit))
            window = window[:space] if space > 0 else window
        clean, _ = self._scrubber.scrub(window)
        more = len(clean) > limit or len(text) > len(window)
        return clean[:limit] + ("…" if more else "")

    def short(self, text: str | None) -> str:
        return self._scrubber.scrub(text)[0] if text else ""


def load_run(run_dir: str, scrubber: ExcerptScrubber | None = None) -> RunView:
    """report.json (required) plus what else the run directory holds; ledger samples come
    back scrubbed."""
    report = read_json(run_dir, REPORT)
    try:
        config = read_json(run_dir, MANIFEST).get("config")
    except (OSError, ValueError):
        config = None
    samples = read_samples(run_dir)
    if samples:
        scrubber = scrubber or ExcerptScrubber(config)
        for rows in samples.values():
            for r in rows:
                r["text"] = scrubber.excerpt(r.get("text"))
                r["url"] = scrubber.short(r.get("url"))
                r["detail"] = scrubber.short(r.get("detail"))
    kept = kept_documents(run_dir)
    if kept is not None and kept.samples:
        scrubber = scrubber or ExcerptScrubber(config)
        for rows in kept.samples.values():
            for r in rows:
                r["text"] = scrubber.excerpt(r.get("text"))
                r["url"] = scrubber.short(r.get("url"))
    try:
        timing = read_json(run_dir, TIMING)
    except (OSError, ValueError):
        timing = None
    return RunView(run_dir, report, config, samples, kept_languages(run_dir), kept, timing)


# ---------------------------------------------------------------------------------------
# Sections


def _rules(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    rows = [(s, r, n) for s, reasons in (report.get("dropped") or {}).items() for r, n in reasons.items()]
    return sorted(rows, key=lambda x: (-x[2], x[0], x[1]))


def summary_section(v: RunView) -> Raw:
    r = v.report
    inp, kept = r.get("input_records"), r.get("kept")
    ok = r.get("accounting_ok")
    cards = [
        ("input records", fmt_int(inp)),
        ("kept documents", f"{fmt_int(kept)}" + (f" ({fmt_pct(kept / inp)})" if inp and kept is not None else "")),
        ("dropped", fmt_int(r.get("dropped_total"))),
    ]
    tokens = final_tokens(r)
    cards.append((f"kept, {v.tokens.name}", v.tokens.fmt(tokens) if tokens is not None else NOT_AVAILABLE))
    cards.append(("accounting", Raw('<span class="ok">holds</span>' if ok else '<span class="bad">BROKEN</span>')))
    html_cards = "".join(
        f'<div class="card"><div class="v">{esc(val)}</div><div class="k">{esc(k)}</div></div>' for k, val in cards
    )
    shards = r.get("shards") or {}
    mix = r.get("mix") or {}
    meta = [
        ("run directory", v.run_dir),
        ("edumix version", r.get("edumix_version", "–")),
        ("config hash", r.get("config_hash", "–")),
        ("input fingerprint", r.get("input_fingerprint", "–")),
        ("recipe hash (mix)", mix.get("recipe_hash") or NOT_AVAILABLE),
        ("token counts", r.get("token_count") or NOT_AVAILABLE),
        ("input files", fmt_int(r.get("input_files"))),
        (
            "shards",
            f"{fmt_int(shards.get('files'))} files, {fmt_int(shards.get('rows'))} rows, {human(shards.get('bytes'))} bytes",
        ),
    ]
    return section(
        "summary", "Summary", [f'<div class="cards">{html_cards}</div>', table(["", ""], meta, "ll", "meta")]
    )


def funnel_section(v: RunView) -> Raw:
    r, unit = v.report, v.tokens
    stages = r.get("stages") or []
    if not stages:
        return section("funnel", "Funnel", [na("stage counts")])
    labels = ["input"] + [s["stage"] for s in stages]
    docs = hbars(
        "Documents after each stage",
        labels,
        [("documents", [r.get("input_records", stages[0]["in"])] + [s["out"] for s in stages])],
        "documents",
        "stage",
    )
    counted = [s for s in stages if s.get("tokens_out") is not None]
    tokens = (
        hbars(
            f"Tokens after each stage{unit.kind}",
            [s["stage"] for s in counted],
            [("tokens", [s["tokens_out"] for s in counted])],
            unit.name,
            "stage",
            fmt=unit.fmt,
        )
        if counted and any(s["tokens_out"] for s in counted)
        else na("tokens per stage")
    )
    dropped = r.get("dropped") or {}
    rows = []
    for s in stages:
        top = sorted(dropped.get(s["stage"], {}).items(), key=lambda kv: -kv[1])[:3]
        rows.append(
            [
                s["stage"],
                fmt_int(s.get("in")),
                fmt_int(s.get("dropped")),
                fmt_int(s.get("out")),
                fmt_pct(s.get("drop_rate")),
                unit.fmt(s["tokens_out"]) if s.get("tokens_out") is not None else "–",
                ", ".join(f"{k} {n:,}" for k, n in top),
            ]
        )
    parts = [
        grid(docs, tokens),
        table(["stage", "in", "dropped", "out", "drop rate", f"out, {unit.name}", "top reasons"], rows, "lrrrrrl"),
        note("Tokens are counted from extraction on (before it there is no text)."),
    ]
    return section("funnel", "Funnel", parts)


def ledger_section(v: RunView) -> Raw:
    r = v.report
    rules = _rules(r)
    if not rules:
        return section("ledger", "Removal ledger", [Raw("<p>No document was dropped.</p>")])
    inp, total = r.get("input_records") or 0, r.get("dropped_total") or sum(n for *_, n in rules)
    flagged = (v.stats.get("quality") or {}).get("flagged") or {}
    rows = [
        [
            stage,
            reason,
            fmt_int(n),
            fmt_pct(n / inp if inp else None),
            fmt_pct(n / total if total else None),
            fmt_int(flagged.get(reason)) if stage == "quality" and reason in flagged else "",
        ]
        for stage, reason, n in rules
    ]
    shown = rules[:CHART_ROWS]
    chart = hbars(
        "Documents dropped per rule",
        [f"{s}: {x}" for s, x, _ in shown],
        [("dropped", [n for *_, n in shown])],
        "documents dropped",
        "stage: rule",
        width=760,
    )
    parts = [
        chart,
        table(["stage", "rule", "dropped", "% of input", "% of drops", "flagged (any rule)"], rows, "llrrrr"),
        note(
            "A document is dropped under one reason (the first rule it fails); 'flagged' counts every "
            "document the rule flags, also those another rule dropped first."
        ),
        Raw("<h3>Rule overlap (quality rules)</h3>"),
        overlap_matrix(v),
        Raw("<h3>Removal by language</h3>"),
        language_table(v),
        Raw("<h3>Sample dropped documents</h3>"),
        samples_html(v, rules),
    ]
    return section("ledger", "Removal ledger", parts)


def overlap_matrix(v: RunView) -> Raw:
    q = v.stats.get("quality") or {}
    flagged, overlap = q.get("flagged") or {}, q.get("overlap") or {}
    if not flagged:
        return na("rule overlap")
    names = sorted(flagged, key=lambda k: (-flagged[k], k))[:MATRIX_RULES]

    def both(a: str, b: str) -> int:
        return int((overlap.get(a) or {}).get(b) or (overlap.get(b) or {}).get(a) or 0)

    head = "".join(f'<th title="{esc(n)}">R{i + 1}</th>' for i, n in enumerate(names))
    body = []
    for i, a in enumerate(names):
        cells = []
        for j, b in enumerate(names):
            if i == j:
                cells.append(f'<td class="diag" title="{esc(a)}: {flagged[a]:,} flagged">{flagged[a]:,}</td>')
                continue
            n = both(a, b)
            share = n / flagged[a] if flagged[a] else 0.0
            style = f' style="background:rgba(228,87,86,{0.12 + 0.8 * share:.2f})"' if n else ""
            tip = f"{n:,} of the {flagged[a]:,} documents {a} flags are also flagged by {b} ({fmt_pct(share)})"
            cells.append(f'<td{style} title="{esc(tip)}">{n:,}</td>' if n else '<td class="zero">·</td>')
        body.append(f'<tr><th class="rn">R{i + 1} {esc(a)}</th>{"".join(cells)}</tr>')
    grid_html = f'<div class="tablewrap"><table class="heat"><thead><tr><th>rule (flagged)</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    return Raw(
        grid_html
        + note(
            "Cell: documents flagged by both the row and the column rule; shade: share of the row rule's "
            "flagged documents; diagonal: documents the rule flags. Most flagged rules first."
        )
    )


def language_table(v: RunView) -> Raw:
    after = (v.stats.get("langid") or {}).get("languages") or {}
    byq = (v.stats.get("quality") or {}).get("by_language") or {}
    kept = v.kept_by_lang
    langs = sorted(
        set(after) | set(byq), key=lambda lang: (-(after.get(lang) or (byq.get(lang) or {}).get("docs", 0)), lang)
    )
    if not langs:
        return na("per-language counts")
    rows, rates = [], []
    for lang in langs:
        a = after.get(lang)
        q = byq.get(lang) or {}
        qd, qf = q.get("docs", 0), q.get("flagged", 0)
        k = kept.get(lang, 0) if kept is not None else None
        removed = 1 - k / a if a and k is not None else None
        rows.append(
            [lang, fmt_int(a), fmt_int(qd), fmt_int(qf), fmt_pct(qf / qd if qd else None), fmt_int(k), fmt_pct(removed)]
        )
        if removed is not None:
            rates.append((lang, removed))
    chart: str = ""
    if any(x for _, x in rates):
        top = rates[:CHART_ROWS]
        chart = hbars(
            "Share of documents removed after language ID",
            [lang for lang, _ in top],
            [("removed", [x for _, x in top])],
            "removed by later stages (dedup, quality…)",
            "language",
            fmt=fmt_pct,
        )
    tbl = table(
        [
            "language",
            "after langid",
            "quality: checked",
            "quality: flagged",
            "flagged rate",
            "kept",
            "removed after langid",
        ],
        rows,
        "lrrrrrr",
    )
    return Raw(
        grid(tbl, chart)
        + note(
            "'after langid' counts the documents language ID passed on; 'kept' counts them in shards/. "
            "Languages are ordered by documents."
        )
    )


def samples_html(v: RunView, rules: list[tuple[str, str, int]]) -> Raw:
    if not v.samples:
        return na("rejected/ samples")
    out = [
        note(
            f"First {SAMPLES_PER_RULE} documents (by id) of each rule's sample in rejected/, the first "
            f"{EXCERPT_CHARS} characters, PII replaced with the run's PII settings (dropped documents "
            "never reached the PII stage)."
        )
    ]
    counts = {(s, x): n for s, x, n in rules}
    order = sorted(v.samples, key=lambda key: (-counts.get(key, 0), key))
    opened = next((key for key in order if any(d.get("text") for d in v.samples[key])), None)
    for key in order:
        stage, reason = key
        docs = []
        for d in v.samples[key]:
            meta = " · ".join(
                str(x) for x in (d.get("url") or "(no url)", d.get("lang") or "", d.get("detail") or "") if x
            )
            body = (
                f'<pre class="excerpt">{esc(d["text"])}</pre>'
                if d.get("text")
                else '<p class="note">(no text: dropped before extraction)</p>'
            )
            docs.append(f'<div class="sample"><div class="meta">{esc(meta)}</div>{body}</div>')
        summary = f"{stage}: {reason} — {counts.get(key, 0):,} dropped, {len(v.samples[key])} shown"
        out.append(
            f"<details{' open' if key == opened else ''}><summary>{esc(summary)}</summary>{''.join(docs)}</details>"
        )
    return Raw("".join(out))


def scores_section(v: RunView) -> Raw:
    cls = v.stats.get("classify") or {}
    hists = cls.get("histograms") or {}
    cuts = cls.get("tier_cuts") or {}

    def usable(h: dict | None) -> bool:
        return bool(h) and len(h.get("edges") or []) == len(h.get("counts") or []) + 1 and sum(h["counts"]) > 0

    charts = []
    q = hists.get("quality")
    charts.append(
        histogram(
            "Quality score of classified documents",
            q["edges"],
            q["counts"],
            "quality score (P(high quality))",
            "documents",
        )
        if usable(q)
        else na("quality score histogram")
    )
    e = hists.get("edu")
    marks = [(float(c), f"tier {t} ≥ {float(c):g}") for t, c in sorted(cuts.items())]
    charts.append(
        histogram("Educational score with tier cuts", e["edges"], e["counts"], "edu score (0-5)", "documents", marks)
        if usable(e)
        else na("edu score histogram")
    )
    at = cls.get("tokens_at_edu_threshold") or {}
    unit = v.tokens
    parts = [grid(*charts)]
    if at and any(at.values()):
        keys = sorted(at, key=float)
        parts.append(
            grid(
                vbars(
                    f"Tokens kept at each edu threshold{unit.kind}",
                    [f"≥{float(k):g}" for k in keys],
                    [at[k] for k in keys],
                    "minimum edu score (classify.min_edu)",
                    unit.name,
                    fmt=human,
                ),
                table(
                    ["min edu score", unit.name, "share of all"],
                    [
                        [f"≥ {float(k):g}", unit.fmt(at[k]), fmt_pct(at[k] / at[keys[0]] if at[keys[0]] else None)]
                        for k in keys
                    ],
                ),
            )
        )
    else:
        parts.append(na("tokens at each edu threshold"))
    if cuts:
        parts.append(
            note("Tier cuts: " + ", ".join(f"{t} ≥ {c:g}" for t, c in sorted(cuts.items())) + "; below the last: C.")
        )
    return section("scores", "Score histograms", parts)


def content_section(v: RunView) -> Raw:
    """Tokens by tier x domain, languages as columns: the supply the mixer draws from."""
    unit = v.tokens
    cls = v.stats.get("classify") or {}
    rows_in = (v.report.get("mix") or {}).get("table") or []
    parts: list[str] = []
    if rows_in:
        lang_tokens: Counter = Counter()
        cells: dict[tuple[str, str], Counter] = {}
        docs: Counter = Counter()
        for row in rows_in:
            key = (str(row.get("tier")), str(row.get("domain")))
            lang = row.get("lang") or "und"
            lang_tokens[lang] += row.get("tokens", 0)
            cells.setdefault(key, Counter())[lang] += row.get("tokens", 0)
            docs[key] += row.get("documents", 0)
        langs = [lang for lang, _ in lang_tokens.most_common(LANG_COLUMNS)]
        other = len(lang_tokens) > len(langs)
        total_all = sum(lang_tokens.values())
        out_rows = []
        for key in sorted(cells):
            c = cells[key]
            total = sum(c.values())
            line = [key[0], key[1], fmt_int(docs[key])] + [human(c.get(lang)) if c.get(lang) else "" for lang in langs]
            if other:
                rest = sum(n for lang, n in c.items() if lang not in langs)
                line.append(human(rest) if rest else "")
            out_rows.append(line + [unit.fmt(total), fmt_pct(total / total_all if total_all else None)])
        totals = ["all", "", fmt_int(sum(docs.values()))] + [human(lang_tokens[lang]) for lang in langs]
        if other:
            totals.append(human(sum(n for lang, n in lang_tokens.items() if lang not in langs)))
        out_rows.append(_Row(totals + [unit.fmt(total_all), "100%"], "total"))
        headers = ["tier", "domain", "documents"] + langs + (["other"] if other else []) + [unit.name, "share"]
        parts += [table(headers, out_rows, "ll"), note(f"Token columns per language: {unit.name}.")]
    else:
        parts.append(na(f"tier × domain × language {unit.name}"))
    small = []
    for key, title in (("tiers", "Documents per edu tier"), ("domains", "Documents per domain")):
        counts = cls.get(key) or {}
        if counts and any(counts.values()):
            labels = sorted(counts)
            small.append(hbars(title, labels, [("documents", [counts[k] for k in labels])], "documents", key[:-1]))
    parts.append(grid(*small) if small else na("classifier tiers and domains"))
    return section("content", "Tiers, domains, languages", parts)


def mix_section(v: RunView) -> Raw:
    mix = v.report.get("mix") or {}
    phases = mix.get("phases") or {}
    unit = v.tokens
    if not phases:
        return section("mix", "Data mix", [na("the data mix (mix/)")])
    parts: list[str] = []
    if mix.get("recipe_hash"):
        parts.append(note(f"Recipe {mix['recipe_hash']}: the mix's lineage (config, input and token counter)."))
    for phase in sorted(phases, key=lambda p: (len(str(p)), str(p))):
        info = phases[phase] or {}
        targets, achieved = info.get("targets") or {}, info.get("achieved") or {}
        shortfall = info.get("shortfall") or {}
        domain_tokens = info.get("domain_tokens") or {}
        domains = list(targets) + [d for d in achieved if d not in targets]
        budget = info.get("budget_tokens")
        auto = " (auto: the largest budget without repeating a domain)" if info.get("budget_auto") else ""
        parts.append(Raw(f"<h3>Phase {esc(phase)}</h3>"))
        parts.append(
            note(
                f"tiers {', '.join(map(str, info.get('tiers') or [])) or '–'} · budget {unit.fmt(budget)}{auto} · "
                f"mixed {unit.fmt(info.get('tokens'))} {unit.name}"
            )
        )
        chart = (
            hbars(
                f"Phase {phase}: target vs achieved share",
                domains,
                [("target", [targets.get(d) for d in domains]), ("achieved", [achieved.get(d) for d in domains])],
                "share of the phase's tokens",
                "domain",
                fmt=fmt_pct,
            )
            if domains and any((targets.get(d) or 0) + (achieved.get(d) or 0) for d in domains)
            else na("targets")
        )
        rows = []
        for d in domains:
            t, a, miss = targets.get(d), achieved.get(d), shortfall.get(d) or 0
            gap = None if t is None or a is None else (a - t) * 100
            rows.append(
                [
                    d,
                    fmt_pct(t),
                    fmt_pct(a),
                    signed(gap, lambda x: f"{x:.1f} pp", colored=False),
                    unit.fmt(domain_tokens.get(d)) if d in domain_tokens else "–",
                    Raw(f'<span class="short">{esc(unit.fmt(miss))}</span>') if miss else "0",
                ]
            )
        domain_table = table(["domain", "target", "achieved", "achieved − target", unit.name, "shortfall"], rows, "l")
        parts.append(grid(chart, domain_table))
        cells = info.get("cells") or []
        if cells:
            cell_rows = []
            for c in sorted(cells, key=lambda c: (str(c.get("domain")), str(c.get("tier")))):
                epochs = c.get("epochs") or 0.0
                miss = c.get("shortfall_tokens") or 0
                cls = "rep" if epochs > 1.0 + 1e-6 else ""
                cell_rows.append(
                    _Row(
                        [
                            c.get("domain"),
                            c.get("tier"),
                            fmt_int(c.get("documents")),
                            unit.fmt(c.get("unique_tokens")),
                            unit.fmt(c.get("tokens")),
                            Raw(f"<b>×{epochs:.2f}</b>") if cls else f"×{epochs:.2f}",
                            f"{c['rate']:.3g}" if isinstance(c.get("rate"), (int, float)) else "–",
                            fmt_pct(c.get("weight")),
                            Raw(f'<span class="short">{esc(unit.fmt(miss))}</span>') if miss else "0",
                        ],
                        cls,
                    )
                )
            parts.append(
                table(
                    [
                        "domain",
                        "tier",
                        "documents",
                        f"unique {unit.name}",
                        unit.name,
                        "epochs",
                        "rate",
                        "weight",
                        "shortfall",
                    ],
                    cell_rows,
                    "ll",
                )
            )
            parts.append(
                note(
                    "Highlighted cells repeat documents (epochs > 1: the mixer upsampled them to meet a "
                    "target); a shortfall is what a domain still missed at the repetition cap."
                )
            )
    return section("mix", "Data mix", parts)


def dedup_section(v: RunView) -> Raw:
    mh = v.stats.get("minhash_dedup") or {}
    ran = {s.get("stage") for s in v.report.get("stages") or []}
    sizes = mh.get("cluster_size") or {}
    parts: list[str] = []
    # stats are sums: a stage that ran and found nothing has no key, which means 0
    zero = 0 if "minhash_dedup" in ran else None
    chart: str = (
        Raw("<p>No near-duplicate clusters in this run.</p>") if zero == 0 else na("near-duplicate cluster sizes")
    )
    if sizes and any(sizes.values()):
        keys = sorted(sizes, key=lambda k: int(str(k).split("-")[0]))
        chart = vbars(
            "Near-duplicate cluster sizes", keys, [sizes[k] for k in keys], "documents in cluster", "clusters"
        )
    prec = mh.get("precision") or {}
    rows = [
        ["LSH candidate pairs kept as edges", fmt_int(mh.get("edges", zero))],
        ["candidates rejected by the Jaccard check", fmt_int(mh.get("candidates_rejected", zero))],
        ["sampled edge pairs re-checked", fmt_int(prec.get("pairs", zero))],
        ["precision (true Jaccard ≥ threshold)", fmt_pct(prec.get("precision"))],
        ["mean true Jaccard of edges", f"{prec['mean_true_jaccard']:.3f}" if "mean_true_jaccard" in prec else "–"],
        ["LSH threshold (bands × rows)", f"{mh['lsh_threshold']:.3f}" if "lsh_threshold" in mh else "–"],
    ]
    for stage in ("url_dedup", "exact_dedup", "minhash_dedup"):
        if stage not in ran:
            continue
        n = sum(((v.report.get("dropped") or {}).get(stage) or {}).values())
        rows.append([f"dropped by {stage}", fmt_int(n)])
    ld = v.stats.get("line_dedup") or {}
    if ld:
        rows.append(
            [
                "line dedup: frequent lines / lines removed / documents changed",
                f"{fmt_int(ld.get('frequent_lines'))} / {fmt_int(ld.get('lines_removed'))} / {fmt_int(ld.get('docs_changed'))}",
            ]
        )
    parts.append(grid(chart, table(["", ""], rows, "lr")))
    curve = mh.get("s_curve") or {}
    if curve:
        keys = sorted(curve, key=float)
        parts.append(
            table(["Jaccard similarity"] + keys, [["P(candidate pair)"] + [f"{curve[k]:.3f}" for k in keys]], "l")
        )
    return section("dedup", "Deduplication", parts)


def pii_section(v: RunView) -> Raw:
    pii = v.stats.get("pii")
    if pii is None and "pii" in {s.get("stage") for s in v.report.get("stages") or []}:
        pii = {}  # the stage ran; sums of nothing leave no key
    if pii is None:
        return section("pii", "PII", [na("PII counts")])
    ents = {k: n for k, n in (pii.get("entities") or {}).items() if n}
    parts: list[str] = [note(f"{fmt_int(pii.get('docs_scrubbed', 0))} kept documents had PII replaced.")]
    if ents:
        labels = sorted(ents, key=lambda k: (-ents[k], k))
        parts.append(
            grid(
                hbars(
                    "PII replaced in kept documents, by type",
                    labels,
                    [("found", [ents[k] for k in labels])],
                    "values replaced",
                    "entity type",
                ),
                table(["entity type", "values replaced"], [[k, fmt_int(ents[k])] for k in labels]),
            )
        )
    else:
        parts.append(Raw("<p>No PII found in kept documents.</p>"))
    return section("pii", "PII", parts)


def compare_section(cmp: dict[str, Any], this: str, other: str, unit: TokenUnit) -> Raw:
    runs = cmp["runs"]
    parts = [
        note(f"This run (A): {this} · other run (B): {other}. Deltas are A − B."),
        table(
            ["", "this run (A)", "other run (B)"],
            [
                ["config hash", runs["a"]["config_hash"] or "–", runs["b"]["config_hash"] or "–"],
                ["input fingerprint", runs["a"]["input_fingerprint"] or "–", runs["b"]["input_fingerprint"] or "–"],
                ["recipe hash", runs["a"]["recipe_hash"] or "–", runs["b"]["recipe_hash"] or "–"],
                ["token counts", runs["a"]["token_count"] or "–", runs["b"]["token_count"] or "–"],
            ],
            "lll",
        ),
    ]
    if not cmp["same_input"]:
        parts.append(note("The runs read different inputs: count differences mix input and config effects."))
    totals = cmp["totals"]
    rows = [
        [k.replace("_", " "), fmt_int(d["a"]), fmt_int(d["b"]), signed(d["delta"])]
        for k, d in totals.items()
        if k != "tokens"
    ]
    t = totals["tokens"]
    rows.append([f"kept {unit.name}", unit.fmt(t["a"]), unit.fmt(t["b"]), signed(t["delta"], human)])
    parts.append(table(["", "A", "B", "Δ"], rows))
    stages = cmp["stages"]
    labels = [s["stage"] for s in stages]
    parts.append(
        hbars(
            "Documents after each stage: A vs B",
            labels,
            [("A (this run)", [s["out"]["a"] for s in stages]), ("B (other)", [s["out"]["b"] for s in stages])],
            "documents",
            "stage",
            width=760,
        )
    )
    parts.append(
        table(
            ["stage", "in A", "in B", "Δ in", "out A", "out B", "Δ out", f"out A, {unit.name}", "out B", "Δ"],
            [
                [
                    s["stage"],
                    fmt_int(s["in"]["a"]),
                    fmt_int(s["in"]["b"]),
                    signed(s["in"]["delta"]),
                    fmt_int(s["out"]["a"]),
                    fmt_int(s["out"]["b"]),
                    signed(s["out"]["delta"]),
                    human(s["tokens_out"]["a"]),
                    human(s["tokens_out"]["b"]),
                    signed(s["tokens_out"]["delta"], human),
                ]
                for s in stages
            ],
        )
    )
    changed = [r for r in cmp["rules"] if r["delta"]]
    parts.append(Raw("<h3>Drops per rule that changed</h3>"))
    parts.append(
        table(
            ["stage", "rule", "A", "B", "Δ"],
            [[r["stage"], r["reason"], fmt_int(r["a"]), fmt_int(r["b"]), signed(r["delta"])] for r in changed],
            "ll",
        )
        if changed
        else Raw("<p>Every rule dropped as many documents in both runs.</p>")
    )
    if cmp["mix"]:
        parts.append(Raw("<h3>Mix: achieved share per phase</h3>"))
        rows = []
        for phase, doms in cmp["mix"].items():
            for d in doms:
                a = d["achieved"]
                rows.append(
                    [
                        phase,
                        d["domain"],
                        fmt_pct(d["target"]["a"]),
                        fmt_pct(a["a"]),
                        fmt_pct(a["b"]),
                        signed(None if a["delta"] is None else a["delta"] * 100, lambda x: f"{x:.1f} pp"),
                    ]
                )
        parts.append(table(["phase", "domain", "target A", "achieved A", "achieved B", "Δ achieved"], rows, "ll"))
    parts.append(Raw("<h3>Config differences</h3>"))
    if not cmp["config_known"]:
        parts.append(na("a config (manifest.json) of one of the runs"))
    elif cmp["config"]:
        parts.append(
            table(
                ["setting", "A", "B"],
                [[c["key"], config_value(c, "a"), config_value(c, "b")] for c in cmp["config"]],
                "lll",
            )
        )
    else:
        parts.append(Raw("<p>Same config.</p>"))
    return section("compare", "Compared with another run", parts)


def _quantiles(values: list[int]) -> list[str]:
    ordered = sorted(values)
    picks = [ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))] for q in (0.1, 0.5, 0.9, 0.99)]
    return (
        [fmt_int(ordered[0])]
        + [fmt_int(x) for x in picks]
        + [fmt_int(ordered[-1]), fmt_int(sum(ordered) / len(ordered))]
    )


def _length_histogram(title: str, values: list[int], x_label: str) -> Raw:
    """LENGTH_BINS equal bins up to the 99th percentile; longer documents in the last bin."""
    ordered = sorted(values)
    top = max(1, ordered[min(len(ordered) - 1, math.floor(0.99 * len(ordered)))])
    step = max(1, math.ceil(top / LENGTH_BINS))
    edges = [i * step for i in range(LENGTH_BINS + 1)]
    counts = [0] * LENGTH_BINS
    for x in values:
        counts[min(LENGTH_BINS - 1, x // step)] += 1
    return histogram(title, edges, counts, x_label, "documents")


def documents_section(v: RunView) -> Raw:
    """Kept documents: length distributions, top hosts and TLDs, samples per domain x tier."""
    k = v.kept
    if k is None or not k.chars:
        return section("documents", "Kept documents", [na("kept documents (shards/)")])
    parts: list[str] = [
        grid(
            _length_histogram("Length of kept documents", k.chars, "characters"),
            _length_histogram("Words per kept document", k.words, "words (whitespace-separated)"),
        ),
        table(
            ["", "min", "p10", "median", "p90", "p99", "max", "mean"],
            [["characters"] + _quantiles(k.chars), ["words"] + _quantiles(k.words)],
            "lrrrrrrrr",
        ),
        note("The last bar of each histogram also holds the documents above the 99th percentile."),
    ]
    if k.hosts:
        total = sum(k.hosts.values())
        hosts = [[h, fmt_int(n), fmt_pct(n / total)] for h, n in k.hosts.most_common(TOP_HOSTS)]
        tlds = [[t, fmt_int(n), fmt_pct(n / total)] for t, n in k.tlds.most_common(TOP_HOSTS)]
        parts.append(
            grid(
                Raw("<h3>Top hosts</h3>" + table(["host", "documents", "share"], hosts, "lrr")),
                Raw("<h3>Top TLDs</h3>" + table(["TLD", "documents", "share"], tlds, "lrr")),
            )
        )
        parts.append(note(f"{len(k.hosts):,} hosts in all; the {TOP_HOSTS} with most kept documents shown."))
    else:
        parts.append(na("document URLs"))
    if k.samples:
        blocks = []
        for (dom, tier), rows in sorted(k.samples.items()):
            inner = "".join(
                f'<div class="sample"><div class="meta">{esc(r.get("url") or "–")} · {esc(r.get("lang") or "–")}'
                f' · {esc(r.get("id"))}</div><pre class="excerpt">{esc(r.get("text") or "")}</pre></div>'
                for r in rows
            )
            blocks.append(f"<details><summary>{esc(dom)} · tier {esc(tier)}</summary>{inner}</details>")
        parts.append(Raw("<h3>Samples per domain and tier</h3>" + "".join(blocks)))
        parts.append(
            note(
                f"The {KEPT_SAMPLES} kept documents with the smallest ids in each cell (the same on every "
                f"rerun), first {EXCERPT_CHARS} characters, scrubbed with the run's PII settings."
            )
        )
    return section("documents", "Kept documents", parts)


def timing_section(v: RunView) -> Raw:
    t = v.timing or {}
    rows_in = t.get("stages") or []
    if not rows_in:
        return section("timing", "Timing", [na("stage timings (timing.json)")])
    rows = []
    for r in rows_in:
        cpu = r.get("cpu_s")
        rate = r.get("documents_in", 0) / cpu if cpu else None
        rows.append(
            [
                r.get("stage"),
                fmt_int(r.get("documents_in")),
                f"{r.get('wall_s', 0):.2f}",
                "–" if cpu is None else f"{cpu:.2f}",
                "–" if rate is None else fmt_int(rate),
            ]
        )
    other = t.get("other_cpu_s") or {}
    busy = [(r["stage"], r.get("cpu_s") or 0) for r in rows_in]
    parts = [
        grid(
            hbars(
                "CPU seconds per stage",
                [b[0] for b in busy],
                [("CPU s", [b[1] for b in busy])],
                "seconds",
                "stage",
                fmt=lambda x: f"{x:.2f}",
            ),
            table(["stage", "documents in", "wall s", "CPU s", "docs / CPU s"], rows, "lrrrr"),
        ),
        note(
            f"Run wall time {t.get('total_wall_s') or 0:.1f} s on {fmt_int(t.get('workers'))} worker process(es). "
            "Wall: first document into the stage to the last out (stages overlap). CPU: Beam's execution time "
            "of the stage's own transforms, summed over workers. Outside the funnel: "
            + (", ".join(f"{k} {x:.2f} s" for k, x in sorted(other.items()) if x) or "–")
            + ". From timing.json, which differs run to run and is in no manifest."
        ),
    ]
    return section("timing", "Timing", parts)


# ---------------------------------------------------------------------------------------
# The page

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);margin:0}
header{background:#24292f;color:#fff;padding:12px 24px}
header h1{margin:0;font-size:20px}header .sub{color:#c9d1d9;font-size:12px;word-break:break-all}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:6px 24px;font-size:13px;z-index:1}
nav a{margin-right:16px;color:var(--accent);text-decoration:none}
main{max-width:1240px;margin:0 auto;padding:4px 24px 48px}
section{border-top:1px solid var(--line);margin-top:22px}
h2{font-size:19px;margin:14px 0 8px}h3{font-size:15px;margin:18px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:8px}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .k{color:var(--muted);font-size:12px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px 24px;align-items:start}
svg.chart{width:100%;max-width:760px;height:auto;display:block;margin:6px 0}
svg.chart text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1f2328}
svg.chart .ct{font-size:13px;font-weight:600}svg.chart .al{fill:#59636e}svg.chart .vl{font-size:10px;fill:#333}
svg.chart .cutl{fill:#c4312f;font-size:10px;font-weight:600}
svg.chart .grid{stroke:#e7ebef}svg.chart .axis{stroke:#8c959f}
svg.chart .cut{stroke:#e45756;stroke-dasharray:4 3;stroke-width:1.5}
.tablewrap{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 8px;vertical-align:top}
th{background:var(--bg);text-align:left;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even) td{background:#fafbfc}
tbody tr.rep td{background:#fff3cd}tbody tr.total td{font-weight:600;background:var(--bg)}
table.meta td:first-child{color:var(--muted)}table.meta td{word-break:break-all}
table.heat td{text-align:right;min-width:36px;font-variant-numeric:tabular-nums}
table.heat td.diag{background:#e7ebef;font-weight:600}table.heat td.zero{color:#b6bec7;text-align:center}
table.heat th.rn{font-weight:400;white-space:nowrap}
.na{color:var(--muted);font-style:italic;background:var(--bg);border:1px dashed var(--line);padding:6px 10px;border-radius:4px;display:inline-block}
.note{color:var(--muted);font-size:12px;max-width:980px;margin:4px 0 8px}
details{margin:4px 0;border:1px solid var(--line);border-radius:4px;padding:4px 8px}
summary{cursor:pointer;font-weight:600}
.sample .meta{font-size:12px;color:var(--muted);margin-top:6px;word-break:break-all}
pre.excerpt{white-space:pre-wrap;word-break:break-word;background:var(--bg);border:1px solid var(--line);
  padding:6px 8px;font-size:12px;max-height:11em;overflow:auto;margin:3px 0 8px}
.ok,.pos{color:#1a7f37}.bad,.short,.neg{color:#b42318}.ok,.bad,.short{font-weight:600}
"""

NAV = (
    ("summary", "Summary"),
    ("compare", "Compare"),
    ("funnel", "Funnel"),
    ("ledger", "Removal ledger"),
    ("scores", "Scores"),
    ("content", "Tiers & domains"),
    ("documents", "Documents"),
    ("mix", "Mix"),
    ("dedup", "Dedup"),
    ("pii", "PII"),
    ("timing", "Timing"),
)


def render_html(v: RunView, cmp: dict[str, Any] | None = None, other: str | None = None) -> str:
    sections = [summary_section(v)]
    if cmp is not None:
        sections.append(compare_section(cmp, v.run_dir, other or "", v.tokens))
    sections += [
        funnel_section(v),
        ledger_section(v),
        scores_section(v),
        content_section(v),
        documents_section(v),
        mix_section(v),
        dedup_section(v),
        pii_section(v),
        timing_section(v),
    ]
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in NAV if a != "compare" or cmp is not None)
    name = os.path.basename(v.run_dir.rstrip("/")) or v.run_dir
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>edumix report: {esc(name)}</title><style>{CSS}</style></head><body>'
        f'<header><h1>edumix mix report</h1><div class="sub">{esc(v.run_dir)} · edumix {esc(__version__)}</div></header>'
        f"<nav>{nav}</nav><main>{''.join(sections)}</main></body></html>\n"
    )


def render_report_html(run_dir: str, compare_dir: str | None = None) -> str:
    view = load_run(run_dir)
    cmp = compare_runs(run_dir, compare_dir) if compare_dir else None
    return render_html(view, cmp, compare_dir)


def write_report_html(
    run_dir: str | Path, out_path: str | Path | None = None, compare_dir: str | Path | None = None
) -> Path:
    """Write the page (default RUN_DIR/report.html, atomically) and return its path.
    A remote run (gs://...) needs a local `out_path`: the page is opened from disk."""
    run_dir = str(run_dir)
    if out_path is None:
        if "://" in run_dir:
            raise ValueError(f"{run_dir} is not local: give a local path for the HTML report")
        out_path = Path(run_dir) / REPORT_HTML
    out = Path(out_path)
    text = render_report_html(run_dir, str(compare_dir) if compare_dir else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
