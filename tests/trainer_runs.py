"""What the trainer's tests share: small curate-style run directories (shards, manifest, mix),
the tiny model they build, and the small training config they train it with."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

WORDS = {
    "general": "the river town market people morning storm road bridge school weather news council park".split(),
    "math": "let x y equals sum prime integer proof therefore 2 3 7 + = ( ) squared root".split(),
    "code": "def return if else for in range print self import class None True ( ) : =".split(),
    "multilingual": "le la der die und el que für año été über niño café straße".split(),
}


def _text(rng: random.Random, domain: str, n_words: int) -> str:
    words = WORDS[domain]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 12))) for _ in range(max(1, n_words // 8))]
    return "\n".join(lines)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_run(root: Path, docs: int = 120, seed: int = 0) -> Path:
    """A curate-style run: manifest.json + one shard with id/text/domain/edu_tier."""
    rng = random.Random(seed)
    run = root / "run"
    (run / "shards").mkdir(parents=True)
    domains = list(WORDS)
    rows = []
    for i in range(docs):
        domain = domains[i % len(domains)]
        tier = "ABC"[(i // len(domains)) % 3]
        rows.append(
            {
                "id": f"doc-{i:04d}",
                "text": _text(rng, domain, rng.randint(20, 90)),
                "domain": domain,
                "edu_tier": tier,
                "lang": "en",
            }
        )
    shard = run / "shards" / "part-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), shard)
    manifest = {
        "schema_version": 2,
        "config_hash": "c0ffee0000000000",
        "input_fingerprint": "f00d000000000000",
        "shards": [
            {
                "path": "shards/part-00000-of-00001.parquet",
                "rows": docs,
                "bytes": shard.stat().st_size,
                "sha256": _sha(shard),
            }
        ],
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def make_mix(run: Path, weights: dict[tuple[str, str], float], repeat: dict[str, int] | None = None) -> None:
    """mix/ for phase 1 from the run's shard (curate's layout: mix/phase=1/DOMAIN.TIER.part-*,
    mix_manifest.json named by manifest.json): one cell per (domain, tier) in `weights`;
    `repeat` maps a document id to its repeat count (default 1)."""
    table = pq.read_table(run / "shards" / "part-00000-of-00001.parquet").to_pylist()
    cells = []
    for (domain, tier), weight in weights.items():
        rows = [r for r in table if r["domain"] == domain and r["edu_tier"] == tier]
        for r in rows:
            r["repeat"] = (repeat or {}).get(r["id"], 1)
            r["n_tokens"] = len(r["text"]) // 4
        rel = f"mix/phase=1/{domain}.{tier}.part-00000-of-00001.parquet"
        path = run / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), path)
        cells.append(
            {
                "domain": domain,
                "tier": tier,
                "documents": len(rows),
                "weight": weight,
                "files": [{"path": rel, "rows": len(rows), "bytes": path.stat().st_size, "sha256": _sha(path)}],
            }
        )
    mix = {
        "schema_version": 2,
        "recipe_hash": "abcdef0123456789",
        "config_hash": "c0ffee0000000000",
        "input_fingerprint": "f00d",
        "token_count": "estimate",
        "phases": {"1": {"budget_tokens": 1000, "tiers": ["A", "B", "C"], "targets": {}, "cells": cells}},
    }
    (run / "mix_manifest.json").write_text(json.dumps(mix))
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 2, "mix": "mix_manifest.json"}))


# The small training config (tests/test_trainer_train.py, test_trainer_ddp.py, test_checkpoint_integrity.py).
SMALL = """\
model: {dim: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 128, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 4, grad_accum: 2}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2}
steps: 6
eval_every: 3
eval_batches: 1
ckpt_every: 3
log_every: 1
phases:
  2: {steps: 4, optim: {lr: 3.0e-3, min_lr: 3.0e-4, warmup_steps: 1}}
"""

# The tiny model the model and decode tests build: 2 layers of 64, GQA (4 query heads, 2 KV heads).
TINY_MODEL = dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=128)


def tiny_config(vocab_size: int, **kw):
    """TINY_MODEL's ModelConfig for `vocab_size`, any field overridden by `kw`."""
    from edumix.trainer.model import ModelConfig

    return ModelConfig(**({"vocab_size": vocab_size, **TINY_MODEL} | kw))


def tiny_model(vocab_size: int, **kw):
    """tiny_config's Transformer, in eval mode, its weights from torch.manual_seed(0): two calls
    with the same arguments give the same weights."""
    import torch

    from edumix.trainer.model import Transformer

    torch.manual_seed(0)
    return Transformer(tiny_config(vocab_size, **kw)).eval()
