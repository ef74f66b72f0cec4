"""Train the three default fastText classifiers on all of the shared dev data.

    .venv/bin/python scripts/train_default_classifiers.py [--seed 0] [--epochs 25] [--out classifiers/models]

Writes <out>/{quality,edu,domain}.ftz (quantized, each under 10 MB), quality.head.json (the
logistic head on the static embedding and the text statistics that quality blends in),
edu.head.json (the ridge head, on the same features, whose within-language offset edu adds),
edu.signals.json (classifiers/edu_signals.py: course-material and English reading-level
offsets) and edu.crosslingual.json (classifiers/edu_crosslingual.py: the head that scores
languages without judged pages, taught by the edu model); the same data and seed give
byte-identical files (one training thread). edu learns people's and an LLM's judgments of
educational value, quality HPLT's human labels, domain the seed passages' sources (the rows:
classifiers/training_data.py). Every row goes into training: how well the models do on pages
they never saw is measured by cross-validation, `benchmarks/judgments_eval.py`. Reads
$EDUMIX_SHARED_DATA (default <repo>/../shared/data); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edumix.classifiers.edu_crosslingual import crosslingual_path
from edumix.classifiers.edu_signals import signals_path
from edumix.classifiers.fasttext_model import train
from edumix.classifiers.linear_head import train_head
from edumix.classifiers.training_data import build_rows
from edumix.core.hashing import file_sha256
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
        out = args.out / f"{task}.ftz"
        m = train(task, rows[task], out, seed=args.seed, epochs=args.epochs, heldout_fraction=0)
        print(
            f"{task}: {m.n_train:,} rows, wrote {out} ({m.extra['model_bytes']:,} bytes, "
            f"sha256 {file_sha256(out)[:16]}) in {time.time() - t0:.1f}s"
        )
        head = train_head(task, rows[task], out)
        if head:
            print(f"{task}: static-embedding head {head} (sha256 {file_sha256(head)[:16]})")
        for name, extra in (("signals", signals_path(out)), ("cross-lingual head", crosslingual_path(out))):
            if task == "edu" and extra.is_file():
                print(f"{task}: {name} {extra} (sha256 {file_sha256(extra)[:16]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
