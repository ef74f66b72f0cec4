"""Train the three default fastText classifiers from the shared seed data.

    .venv/bin/python scripts/train_default_classifiers.py [--seed 0] [--epochs 25] [--out classifiers/models]

Writes <out>/{quality,edu,domain}.ftz (quantized, each <= ~2 MB) and prints held-out metrics
(deterministic 80/20 split by hash of the text / HPLT document id). Reads $EDUMIX_SHARED_DATA
(default <repo>/../shared/data); nothing is downloaded. Label mapping: classifiers/training_data.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edumix.classifiers.fasttext_model import train
from edumix.classifiers.training_data import build_rows
from edumix.core.shared_data import shared_data_dir

REPO = Path(__file__).resolve().parents[1]

SEED = 0
EPOCHS = 25


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--out", type=Path, default=REPO / "classifiers" / "models")
    ap.add_argument("--tasks", nargs="+", default=["quality", "edu", "domain"])
    args = ap.parse_args(argv)
    print(f"shared data: {shared_data_dir()}")
    rows = build_rows()
    for task in args.tasks:
        t0 = time.time()
        m = train(task, rows[task], args.out / f"{task}.ftz", seed=args.seed, epochs=args.epochs)
        print(m.table())
        print(f"  wrote {args.out / (task + '.ftz')} ({m.extra['model_bytes']:,} bytes) in {time.time() - t0:.1f}s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
