"""What `curate --cache` saves: wall time of a run from scratch (the baseline, no cache), the
same run filling an empty cache (the cost of writing it), a re-run that finds everything
(a resumed run whose first attempt finished every per-document stage), and a re-run after
a mix-and-tier change (only classify and the global stages compute).

    .venv/bin/python benchmarks/curate_cache.py                   # 200 eval pages, ~3 min on 2 cores
    .venv/bin/python benchmarks/curate_cache.py --eval-pages 400

Workload: the fixed sample of trafilatura's evaluation pages that benchmarks/curate_throughput.py
uses (real pages, several WARC files). Each row's ratio is its wall time over the baseline's,
measured in the same invocation; every run's files are checked byte-identical to the
baseline's (timing.json aside) or to a fresh run of the changed config.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/curate_cache.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import print_table, ratio
from benchmarks.curate_throughput import eval_workload
from edumix.core.config import ClassifyConfig, MixConfig, RunConfig
from edumix.core.run_dir import TIMING
from edumix.core.shared_data import shared_data_dir
from edumix.pipelines.curate import run_curate


def _digests(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.name != TIMING
    }


def _timed(inputs: list[str], out: Path, cfg: RunConfig, cache: Path | None) -> float:
    start = time.perf_counter()
    run_curate(inputs, str(out), cfg, overwrite=True, progress=False, cache=str(cache) if cache else None)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-pages", type=int, default=200)
    args = ap.parse_args(argv)
    changed = RunConfig(
        mix=MixConfig(targets={"general": 0.4, "math": 0.3, "code": 0.2, "multilingual": 0.1}),
        classify=ClassifyConfig(tier_a=2.5),
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        work = eval_workload(shared_data_dir(), args.eval_pages, tmp)
        if work is None:
            return 1
        inputs = [str(p) for p in work.files]
        cache = tmp / "cache"
        run_curate(inputs, str(tmp / "warm"), RunConfig(), progress=False)  # imports, models: off the clock
        base = _timed(inputs, tmp / "base", RunConfig(), None)
        fill = _timed(inputs, tmp / "fill", RunConfig(), cache)
        hit = _timed(inputs, tmp / "hit", RunConfig(), cache)
        incr = _timed(inputs, tmp / "incr", changed, cache)
        fresh = _timed(inputs, tmp / "fresh", changed, None)
        same = _digests(tmp / "base") == _digests(tmp / "fill") == _digests(tmp / "hit")
        same_changed = _digests(tmp / "incr") == _digests(tmp / "fresh")
        rows = [
            ("from scratch, no cache (baseline)", f"{base:.1f}", "1.00x"),
            ("from scratch, filling the cache", f"{fill:.1f}", ratio(fill, base)),
            ("re-run, every stage cached", f"{hit:.1f}", ratio(hit, base)),
            ("mix + tier_a changed, cached", f"{incr:.1f}", ratio(incr, base)),
            ("mix + tier_a changed, no cache", f"{fresh:.1f}", ratio(fresh, base)),
        ]
        print_table(
            f"curate --cache on {work.note} (in-process runner)",
            ("run", "wall s", "time / baseline"),
            rows,
            notes=[
                f"byte-identical to the baseline (timing.json aside): {same}; changed config, cached vs fresh: "
                f"{same_changed}",
                "wall seconds include Beam's start-up (a few seconds per run)",
            ],
        )
    return 0 if same and same_changed else 1


if __name__ == "__main__":
    raise SystemExit(main())
