"""report.json and the manifests a run writes: exact accounting of every input record,
and of every input byte.

Counts come from the data itself (file stats, drop records, shard rows), not from
runner metrics, so retries and runner differences cannot skew them. Two identities are
checked here, and a run that breaks either fails: `input_records == kept + sum(dropped)`,
and, for every input file, `bytes == bytes_records + bytes_read_errors + bytes_framing`
(each read error listed with its byte range; see pipelines.formats.account).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from edumix import __version__
from edumix.core.run_dir import REPORT, SCHEMA_VERSION
from edumix.core.stages import CLASSIFY, MIX, READ, check_stages

from .mix import EDU_THRESHOLDS, HIST_BINS
from .read import FileStat, InputFile
from .write import WrittenFile


class AccountingError(RuntimeError):
    pass


def build_report(
    stages: list[str],
    file_stats: Iterable[FileStat],
    drop_counts: Iterable[tuple[tuple[str, str], int]],
    shards: Iterable[WrittenFile],
    config_hash: str,
    fingerprint: str,
    stats: Iterable[tuple[tuple[str, str], float]] = (),
) -> dict[str, Any]:
    files = sorted(file_stats, key=lambda f: f.path)
    shards = sorted(shards, key=lambda s: s.path)
    dropped: dict[str, dict[str, int]] = defaultdict(dict)
    for (stage, reason), n in sorted(drop_counts):
        dropped[stage][reason] = n
    order = check_stages(stages)
    unknown = sorted(set(dropped) - set(order))
    if unknown:
        raise AccountingError(f"drops from stages {unknown} that the run did not list ({order})")
    input_records = sum(f.records for f in files)
    kept = sum(s.rows for s in shards)
    stage_rows, flowing = [], input_records
    for stage in order:
        lost = sum(dropped.get(stage, {}).values())
        rate = round(lost / flowing, 6) if flowing else 0.0
        stage_rows.append({"stage": stage, "in": flowing, "dropped": lost, "out": flowing - lost, "drop_rate": rate})
        flowing -= lost
    dropped_total = input_records - flowing
    unattributed = sum(abs(f.unattributed_bytes) for f in files)
    return {
        "edumix_version": __version__,
        "config_hash": config_hash,
        "input_fingerprint": fingerprint,
        "input_files": len(files),
        "input_records": input_records,
        "kept": kept,
        "dropped_total": dropped_total,
        "input_bytes": sum(f.bytes for f in files),
        "unattributed_bytes": unattributed,
        "accounting_ok": input_records == kept + dropped_total and unattributed == 0,
        "dropped": {s: dropped[s] for s in order if s in dropped},
        "stages": stage_rows,
        "shards": {"files": len(shards), "rows": kept, "bytes": sum(s.bytes for s in shards)},
        "stats": stage_stats(stats),
        "files": [file_entry(f) for f in files],
    }


def file_entry(f: FileStat) -> dict[str, Any]:
    return {**asdict(f), "read_error_ranges": list(f.read_error_ranges), "unattributed_bytes": f.unattributed_bytes}


def accounting_problem(report: dict[str, Any]) -> str | None:
    """Why a report's accounting is broken (None when it holds), in one line."""
    problems = []
    if report["input_records"] != report["kept"] + report["dropped_total"]:
        problems.append(
            f"{report['input_records']} input records != {report['kept']} kept + {report['dropped_total']} dropped"
        )
    bad = [f for f in report["files"] if f["unattributed_bytes"]]
    if bad:
        shown = ", ".join(f"{f['path']} ({f['unattributed_bytes']:+,} bytes)" for f in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        problems.append(f"input bytes not attributed to records, read errors or framing: {shown}{more}")
    return "; ".join(problems) or None


def stage_stats(stats: Iterable[tuple[tuple[str, str], float]]) -> dict[str, Any]:
    """((stage, "a/b"), value) sums -> {stage: {a: {b: value}}}, plus derived ratios."""
    out: dict[str, Any] = {}
    for (stage, name), value in sorted(stats):
        node = out.setdefault(stage, {})
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = round(value, 6) if isinstance(value, float) else value
    for node in out.values():
        precision = node.get("precision")
        if precision and precision.get("pairs"):
            pairs = precision["pairs"]
            precision["precision"] = round(precision.get("at_or_above_threshold", 0) / pairs, 6)
            precision["mean_true_jaccard"] = round(precision.pop("jaccard_sum") / pairs, 6)
    return out


def add_token_funnel(
    report: dict[str, Any], drop_tokens: dict[str, int], token_label: str, tier_cuts: dict[str, float]
) -> None:
    """Tokens after each stage (from extraction on: before it there is no text), and the
    score histograms the token counter gathered, in the shapes the HTML report draws."""
    report["token_count"] = token_label
    mix_stats = report["stats"].pop(MIX, {})
    kept_tokens = int(mix_stats.get("kept_tokens", 0))
    flowing = kept_tokens + sum(drop_tokens.values())
    for row in report["stages"]:
        flowing -= drop_tokens.get(row["stage"], 0)
        if row["stage"] != READ:
            row["tokens_out"] = int(flowing)
    report["kept_tokens"] = kept_tokens
    classify = report["stats"].setdefault(CLASSIFY, {})
    classify["tier_cuts"] = tier_cuts
    hist = mix_stats.get("hist", {})
    for name, top in (("quality", 1.0), ("edu", 5.0)):
        if name in hist:
            edges = [round(top * i / HIST_BINS, 6) for i in range(HIST_BINS + 1)]
            counts = [int(hist[name].get(f"{i:02d}", 0)) for i in range(HIST_BINS)]
            classify.setdefault("histograms", {})[name] = {"edges": edges, "counts": counts}
    if "tokens_at_edu" in mix_stats:
        at = mix_stats["tokens_at_edu"]
        classify["tokens_at_edu_threshold"] = {f"{t:.1f}": int(at.get(f"{t:.1f}", 0)) for t in EDU_THRESHOLDS}


def build_mix_manifest(report: dict[str, Any], recipe: str, token_label: str, plans, files) -> dict[str, Any]:
    """The trainer's entry point to a phase: every cell's files with exact token counts
    (summed from the rows written, not from the plan)."""
    by_cell: dict[tuple[int, str, str], list] = defaultdict(list)
    for f in files:
        by_cell[(f.phase, f.domain, f.tier)].append(f)
    phases = {}
    for phase, plan in sorted(plans.items()):
        cells = []
        for c in plan.cells:
            written = sorted(by_cell.get((phase, c.domain, c.tier), []), key=lambda f: f.file.path)
            if not written:
                continue
            tokens = sum(f.tokens for f in written)
            unique = sum(f.unique_tokens for f in written)
            cells.append(
                {
                    "domain": c.domain,
                    "tier": c.tier,
                    "rate": c.rate,
                    "documents": sum(f.documents for f in written),
                    "unique_tokens": unique,
                    "tokens": tokens,
                    "epochs": round(tokens / unique, 6) if unique else 0.0,
                    "supply_documents": c.supply_documents,
                    "supply_tokens": c.supply_tokens,
                    "files": [asdict(f.file) for f in written],
                }
            )
        total = sum(c["tokens"] for c in cells)
        for c in cells:
            c["weight"] = round(c["tokens"] / total, 6) if total else 0.0
        achieved = {d: 0 for d in plan.targets}
        for c in cells:
            achieved[c["domain"]] += c["tokens"]
        phases[str(phase)] = {
            "tiers": list(plan.tiers),
            "budget_tokens": plan.budget_tokens,
            "budget_auto": plan.budget_auto,
            "targets": plan.targets,
            "tokens": total,
            "achieved": {d: round(t / total, 6) if total else 0.0 for d, t in achieved.items()},
            "domain_tokens": achieved,
            "shortfall": plan.shortfall,
            "cells": cells,
        }
        if plan.min_tokens is not None:  # long-document sampling: only documents this long
            phases[str(phase)]["min_tokens"] = plan.min_tokens
    return {
        "edumix_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "recipe_hash": recipe,
        "config_hash": report["config_hash"],
        "input_fingerprint": report["input_fingerprint"],
        "token_count": token_label,
        "phases": phases,
    }


def mix_report(mix_manifest: dict[str, Any], table) -> dict[str, Any]:
    """The report's view of the mix: the manifest less file lists, plus the supply table."""
    phases = {
        phase: {**info, "cells": [{k: v for k, v in c.items() if k != "files"} for c in info["cells"]]}
        for phase, info in mix_manifest["phases"].items()
    }
    rows = [
        {"tier": tier, "domain": domain, "lang": lang, "documents": docs, "tokens": tokens}
        for (tier, domain, lang), (docs, tokens) in sorted(table, key=lambda r: (str(r[0][0]), str(r[0][1]), r[0][2]))
    ]
    return {
        "recipe_hash": mix_manifest["recipe_hash"],
        "token_count": mix_manifest["token_count"],
        "table": rows,
        "phases": phases,
    }


def build_manifest(
    report: dict[str, Any],
    config: dict[str, Any],
    inputs: list[InputFile],
    shards: Iterable[WrittenFile],
    rejected: Iterable[WrittenFile],
) -> dict[str, Any]:
    return {
        "edumix_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "config_hash": report["config_hash"],
        "config": config,
        "input_fingerprint": report["input_fingerprint"],
        "inputs": [asdict(f) for f in inputs],
        "rows": report["kept"],
        "shards": [asdict(s) for s in sorted(shards, key=lambda s: s.path)],
        "rejected": [asdict(s) for s in sorted(rejected, key=lambda s: s.path)],
        "report": REPORT,
    }
