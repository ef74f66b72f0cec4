"""The readers against damaged files: inputs tried, crashes, unattributed bytes.

    .venv/bin/python benchmarks/fuzz_inputs.py                 # 20,000 inputs, ~5 min on one core
    .venv/bin/python benchmarks/fuzz_inputs.py --tries 2000 --runs 0

Seed files: the generated ones of ``edumix.evaluate.fuzz.generated_seeds`` (WARC gzip and
plain, ARC, JSONL plain/gzip/zstd, Parquet) and every crawl file under
``$EDUMIX_SHARED_DATA/warc``. Each input is a seed file with one to three mutations (byte
flips, a truncation, inserted garbage: ``edumix.evaluate.fuzz.mutate``), read with
``check_reader``: a crash is a reader that raised, a byte no reader attributed, an item no
writer takes, or byte ranges out of order. Table 1 is per seed format; "kept" is the records
read whole over the records the same files held undamaged (insertions can copy records, so it
can pass 100%). Table 2 runs whole `curate` runs (Beam's direct runner) over directories of
damaged files and checks the run's own accounting. Every figure comes from this run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/fuzz_inputs.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import print_table
from edumix.core.config import RunConfig
from edumix.evaluate.fuzz import FuzzCounts, fuzz, generated_seeds, mutate, shared_seeds


def _kind(name: str) -> str:
    for suffix in (".jsonl.gz", ".jsonl.zst", ".jsonl", ".parquet", ".arc.gz", ".arc", ".wet.gz", ".wat.gz"):
        if name.endswith(suffix):
            return suffix[1:]
    return "warc.gz" if name.endswith(".gz") else "warc"


def per_kind(seeds: dict[str, bytes], tries: int, seed: int) -> list[tuple[str, FuzzCounts]]:
    by_kind: dict[str, dict[str, bytes]] = defaultdict(dict)
    for name, data in seeds.items():
        by_kind[_kind(name)][name] = data
    share = max(1, tries // len(by_kind))
    return [(kind, fuzz(group, share, seed=seed)) for kind, group in sorted(by_kind.items())]


def runs(seeds: dict[str, bytes], n: int, seed: int) -> tuple[int, int, int, int]:
    """n curate runs, each over one damaged copy of every seed: (runs, failed, files, unattributed bytes)."""
    from edumix.pipelines.curate import run_curate

    cfg = RunConfig.model_validate({"filters": {"enabled": False}})
    rng = random.Random(seed)
    failed = files = unattributed = 0
    for i in range(n):
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in"
            src.mkdir()
            for name, data in sorted(seeds.items()):
                (src / name.replace("/", "_")).write_bytes(mutate(data, rng)[0])
            try:
                report = run_curate([str(src)], str(Path(tmp) / "out"), cfg)
            except Exception as e:  # noqa: BLE001 - counted: the figure this table exists for
                print(f"run {i}: {type(e).__name__}: {e}", file=sys.stderr)
                failed += 1
                continue
            files += report["input_files"]
            unattributed += report["unattributed_bytes"]
            failed += not report["accounting_ok"]
    return n, failed, files, unattributed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=20000, help="damaged inputs read (split over the formats)")
    ap.add_argument("--runs", type=int, default=3, help="whole curate runs over damaged files")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # warcio warns about every damaged header
    seeds = {**generated_seeds(args.seed), **shared_seeds()}
    t0 = time.perf_counter()
    results = per_kind(seeds, args.tries, args.seed)
    seconds = time.perf_counter() - t0
    rows = []
    total = FuzzCounts()
    for kind, c in results:
        kept = f"{c.read / c.seed_records:.1%}" if c.seed_records else "n/a"
        share = c.bytes["read_errors"] / max(1, sum(c.bytes.values()))
        rows.append((kind, c.tried, c.crashes, c.unattributed_bytes, c.read_errors, kept, f"{share:.1%}"))
        total.tried += c.tried
        total.crashes += c.crashes
        total.unattributed_bytes += c.unattributed_bytes
        total.read_errors += c.read_errors
        total.read += c.read
        total.seed_records += c.seed_records
        total.bytes.update(c.bytes)
    share = total.bytes["read_errors"] / max(1, sum(total.bytes.values()))
    kept = f"{total.read / max(1, total.seed_records):.1%}"
    rows.append(("all", total.tried, total.crashes, total.unattributed_bytes, total.read_errors, kept, f"{share:.1%}"))
    print_table(
        f"Damaged inputs, read ({len(seeds)} seed files, {seconds:.0f} s)",
        ["format", "inputs tried", "crashes", "unattributed bytes", "read errors", "kept", "bytes in read errors"],
        rows,
        [f"{c.failures[0]}" for _, c in results if c.failures][:5],
    )
    if args.runs:
        n, failed, files, unattributed = runs(seeds, args.runs, args.seed)
        print_table(
            "Curate runs over damaged files",
            ["runs", "failed or accounting broken", "input files", "unattributed bytes"],
            [(n, failed, files, unattributed)],
        )


if __name__ == "__main__":
    main()
