"""What changed between two runs: the numbers of two report.json files side by side.

Used by `edumix report RUN --compare OTHER` (terminal tables) and by the compare section
of report.html. Run A is the one being reported, B the one it is compared with; every
delta is A - B, so a positive delta means "more in this run". Stages and rules are
matched by name: a stage or rule only one run has still shows, with 0 on the other side.
"""

from __future__ import annotations

from typing import Any

from edumix.core.run_dir import MANIFEST, REPORT, read_json


def _delta(a: float | None, b: float | None) -> dict[str, Any]:
    if isinstance(a, float) or isinstance(b, float):
        d = None if a is None or b is None else round(a - b, 6)
    else:
        d = None if a is None or b is None else a - b
    return {"a": a, "b": b, "delta": d}


def _union(first: list[str], second: list[str]) -> list[str]:
    """Names of both lists, in A's order, B's extras after them."""
    return first + [s for s in second if s not in first]


def final_tokens(report: dict[str, Any]) -> int | None:
    """Tokens kept by the run (None for runs before token counts)."""
    if report.get("kept_tokens") is not None:
        return report["kept_tokens"]
    counted = [s["tokens_out"] for s in report.get("stages", []) if s.get("tokens_out") is not None]
    return counted[-1] if counted else None


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"dedup": {"minhash": {"bands": 14}}} -> {"dedup.minhash.bands": 14}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_config(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_differences(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Settings whose values differ, or that only one run's config has (`in_a`/`in_b`
    tell an absent setting from a null one, e.g. a section an older edumix lacked)."""
    if a is None or b is None:
        return []
    fa, fb = flatten_config(a), flatten_config(b)
    return [
        {"key": k, "a": fa.get(k), "b": fb.get(k), "in_a": k in fa, "in_b": k in fb}
        for k in sorted(set(fa) | set(fb))
        if (k in fa) != (k in fb) or fa.get(k) != fb.get(k)
    ]


def config_value(row: dict[str, Any], side: str) -> str:
    """A config difference's value as text: lists joined, null and absent told apart."""
    if not row[f"in_{side}"]:
        return "(absent)"
    x = row[side]
    return "null" if x is None else ", ".join(map(str, x)) if isinstance(x, list) else str(x)


def _stages(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    by_a = {s["stage"]: s for s in a.get("stages", [])}
    by_b = {s["stage"]: s for s in b.get("stages", [])}
    rows = []
    for name in _union(list(by_a), list(by_b)):
        sa, sb = by_a.get(name, {}), by_b.get(name, {})
        row: dict[str, Any] = {"stage": name}
        for key in ("in", "dropped", "out", "drop_rate", "tokens_out"):
            row[key] = _delta(sa.get(key), sb.get(key))
        rows.append(row)
    return rows


def _rules(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (stage, reason) either run dropped for, biggest change first."""
    da, db = a.get("dropped", {}), b.get("dropped", {})
    rows = []
    for stage in _union(list(da), list(db)):
        ra, rb = da.get(stage, {}), db.get(stage, {})
        for reason in _union(list(ra), list(rb)):
            rows.append({"stage": stage, "reason": reason, **_delta(ra.get(reason, 0), rb.get(reason, 0))})
    rows.sort(key=lambda r: (-abs(r["delta"]), r["stage"], r["reason"]))
    return rows


def _mix(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per phase and domain: target and achieved share in each run (absent phases skipped)."""
    pa = (a.get("mix") or {}).get("phases") or {}
    pb = (b.get("mix") or {}).get("phases") or {}
    out: dict[str, list[dict[str, Any]]] = {}
    for phase in sorted(set(pa) | set(pb), key=str):
        xa, xb = pa.get(phase, {}), pb.get(phase, {})
        domains = _union(
            list({**xa.get("targets", {}), **xa.get("achieved", {})}),
            list({**xb.get("targets", {}), **xb.get("achieved", {})}),
        )
        out[str(phase)] = [
            {
                "domain": d,
                "target": _delta(xa.get("targets", {}).get(d), xb.get("targets", {}).get(d)),
                "achieved": _delta(xa.get("achieved", {}).get(d), xb.get("achieved", {}).get(d)),
            }
            for d in domains
        ]
    return out


def compare_reports(
    a: dict[str, Any],
    b: dict[str, Any],
    config_a: dict[str, Any] | None = None,
    config_b: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A's report against B's. `config_a`/`config_b` are the runs' manifest.json["config"]
    (report.json only holds the config's hash); without them `config` is empty."""
    totals = {key: _delta(a.get(key), b.get(key)) for key in ("input_records", "kept", "dropped_total")}
    totals["tokens"] = _delta(final_tokens(a), final_tokens(b))
    return {
        "runs": {
            side: {
                "config_hash": r.get("config_hash"),
                "input_fingerprint": r.get("input_fingerprint"),
                "recipe_hash": (r.get("mix") or {}).get("recipe_hash"),
                "token_count": r.get("token_count"),
            }
            for side, r in (("a", a), ("b", b))
        },
        "same_input": a.get("input_fingerprint") == b.get("input_fingerprint"),
        "same_config": a.get("config_hash") == b.get("config_hash"),
        "totals": totals,
        "stages": _stages(a, b),
        "rules": _rules(a, b),
        "mix": _mix(a, b),
        "config": config_differences(config_a, config_b),
        "config_known": config_a is not None and config_b is not None,
    }


def compare_runs(run_a: str, run_b: str) -> dict[str, Any]:
    """compare_reports of two run directories, with their manifests' configs when present."""

    def config(run: str) -> dict[str, Any] | None:
        try:
            return read_json(run, MANIFEST).get("config")
        except (OSError, ValueError):
            return None

    return compare_reports(read_json(run_a, REPORT), read_json(run_b, REPORT), config(run_a), config(run_b))


def _signed(n: float | None, fmt: str = ",") -> str:
    if n is None:
        return "–"
    return f"{n:+{fmt}}" if n else "0"


def _n(x: float | None) -> str:
    return "–" if x is None else f"{x:,}"


def _share(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def compare_tables(cmp: dict[str, Any], max_rules: int = 15) -> list:
    """The comparison as rich tables for the terminal (A = this run, B = the other)."""
    from rich.table import Table

    def new(title: str, *cols: str, left: int = 1) -> Table:
        """The first `left` columns are names, the rest numbers."""
        t = Table(title=title, title_justify="left")
        for i, c in enumerate(cols):
            t.add_column(c, justify="left" if i < left else "right")
        return t

    runs = cmp["runs"]
    totals = new("compare: A = this run, B = other", "", "A", "B", "Δ (A-B)")
    for key in ("config_hash", "input_fingerprint", "recipe_hash", "token_count"):
        totals.add_row(
            key,
            str(runs["a"][key] or "–"),
            str(runs["b"][key] or "–"),
            "same" if runs["a"][key] == runs["b"][key] else "differs",
        )
    for key, d in cmp["totals"].items():
        totals.add_row(key, _n(d["a"]), _n(d["b"]), _signed(d["delta"]))
    stages = new("stages", "stage", "in A", "in B", "Δ in", "out A", "out B", "Δ out", "Δ tokens out")
    for s in cmp["stages"]:
        stages.add_row(
            s["stage"],
            _n(s["in"]["a"]),
            _n(s["in"]["b"]),
            _signed(s["in"]["delta"]),
            _n(s["out"]["a"]),
            _n(s["out"]["b"]),
            _signed(s["out"]["delta"]),
            _signed(s["tokens_out"]["delta"]),
        )
    tables = [totals, stages]
    changed = [r for r in cmp["rules"] if r["delta"]]
    if changed:
        rules = new(
            f"drops per rule that changed (top {min(max_rules, len(changed))} of {len(changed)})",
            "stage",
            "rule",
            "A",
            "B",
            "Δ",
            left=2,
        )
        for r in changed[:max_rules]:
            rules.add_row(r["stage"], r["reason"], _n(r["a"]), _n(r["b"]), _signed(r["delta"]))
        tables.append(rules)
    if cmp["mix"]:
        mix = new(
            "mix: achieved share per phase",
            "phase",
            "domain",
            "target A",
            "achieved A",
            "achieved B",
            "Δ achieved",
            left=2,
        )
        for phase, doms in cmp["mix"].items():
            for d in doms:
                delta = d["achieved"]["delta"]
                mix.add_row(
                    phase,
                    d["domain"],
                    _share(d["target"]["a"]),
                    _share(d["achieved"]["a"]),
                    _share(d["achieved"]["b"]),
                    "–" if delta is None else f"{100 * delta:+.1f} pp",
                )
        tables.append(mix)
    if cmp["config"]:
        cfg = new("config differences", "setting", "A", "B", left=3)
        for c in cmp["config"]:
            cfg.add_row(c["key"], config_value(c, "a"), config_value(c, "b"))
        tables.append(cfg)
    return tables
