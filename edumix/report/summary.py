"""The terminal summary of a run's report.json: funnel, top drop reasons, per-stage
numbers, the accounting identity and, for runs with a mix, target vs achieved per phase."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_summary(out: Console, report: dict[str, Any], output: str, full_stats: bool = False) -> None:
    """The funnel, the top drop reasons, per-stage numbers, the accounting identity and,
    for runs with a mix, target vs achieved per phase. Token numbers carry their kind."""
    estimate = report.get("token_count") == "estimate"
    unit = "≈ est. tokens" if estimate else "tokens"
    tokens = any(row.get("tokens_out") is not None for row in report["stages"])
    table = Table(title=f"edumix run: {output}", show_lines=False)
    for col in ("stage", "in", "dropped", "out", "drop %", "reasons") + ((f"out, {unit}",) if tokens else ()):
        table.add_column(col, justify="left" if col == "stage" else "right")
    reasons_all = []
    for row in report["stages"]:
        reasons = report["dropped"].get(row["stage"], {})
        reasons_all += [(row["stage"], r, n) for r, n in reasons.items()]
        cells = [
            row["stage"],
            f"{row['in']:,}",
            f"{row['dropped']:,}",
            f"{row['out']:,}",
            f"{100 * row.get('drop_rate', 0):.1f}",
            str(len(reasons) or ""),
        ]
        if tokens:
            cells.append("–" if row.get("tokens_out") is None else f"{row['tokens_out']:,}")
        table.add_row(*cells)
    out.print(table)
    if reasons_all:
        shown = len(reasons_all) if full_stats else min(10, len(reasons_all))
        top = Table(title=f"top drop reasons ({shown} of {len(reasons_all)})", title_justify="left")
        for col in ("stage", "reason", "dropped", "% of input"):
            top.add_column(col, justify="left" if col in ("stage", "reason") else "right")
        for stage, reason, n in sorted(reasons_all, key=lambda x: (-x[2], x[0], x[1]))[:shown]:
            share = 100 * n / report["input_records"] if report["input_records"] else 0.0
            top.add_row(stage, reason, f"{n:,}", f"{share:.1f}")
        out.print(top)
    for stage, stats in report.get("stats", {}).items():
        shown = stats if full_stats else {k: v for k, v in stats.items() if not isinstance(v, dict)}
        if shown:
            out.print(f"  {stage}: {_flat(shown)}", highlight=False)
    ok = "[green]holds[/]" if report["accounting_ok"] else "[bold red]BROKEN[/]"
    out.print(
        f"{report['input_files']} file(s), {report['input_records']:,} input records = "
        f"{report['kept']:,} kept + {report['dropped_total']:,} dropped: accounting {ok}"
    )
    shards = report["shards"]
    kept_tokens = f", {report['kept_tokens']:,} {unit}" if report.get("kept_tokens") is not None else ""
    out.print(
        f"{shards['files']} shard file(s), {shards['bytes']:,} bytes{kept_tokens}, in {output}/shards/", highlight=False
    )
    mix = report.get("mix") or {}
    for phase, info in sorted((mix.get("phases") or {}).items(), key=lambda kv: (len(kv[0]), kv[0])):
        targets, achieved = info.get("targets") or {}, info.get("achieved") or {}
        shortfall, by_domain = info.get("shortfall") or {}, info.get("domain_tokens") or {}
        budget = info.get("budget_tokens")
        title = (
            f"mix phase {phase}: tiers {','.join(info.get('tiers') or [])}, {info.get('tokens', 0):,} {unit} "
            f"(budget {'auto' if budget is None else f'{budget:,}'})"
        )
        t = Table(title=title, title_justify="left")
        for col in ("domain", "target %", "achieved %", unit, "shortfall", "max epochs"):
            t.add_column(col, justify="left" if col == "domain" else "right")
        for d in list(targets) + [d for d in achieved if d not in targets]:
            epochs = max((c.get("epochs") or 0 for c in info.get("cells") or [] if c.get("domain") == d), default=None)
            t.add_row(
                d,
                f"{100 * targets.get(d, 0):.1f}",
                f"{100 * achieved.get(d, 0):.1f}",
                f"{by_domain[d]:,}" if d in by_domain else "–",
                f"[red]{shortfall[d]:,}[/]" if shortfall.get(d) else "0",
                "–" if epochs is None else (f"[yellow]{epochs:.2f}[/]" if epochs > 1 + 1e-6 else f"{epochs:.2f}"),
            )
        out.print(t)


def _flat(stats: dict[str, Any], prefix: str = "") -> str:
    parts = []
    for key, value in stats.items():
        if isinstance(value, dict):
            parts.append(f"{prefix}{key}{{{_flat(value)}}}")
        else:
            parts.append(f"{prefix}{key}={value:g}" if isinstance(value, float) else f"{prefix}{key}={value}")
    return ", ".join(parts)
