"""fastText training/evaluation helpers shared by the quality, edu and domain classifiers.

Plain Python, no Beam. Training is deterministic for a fixed seed because it runs with
``thread=1`` (fastText's SGD is Hogwild! across threads, so more threads => nondeterminism).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

MAX_CHARS = 4000  # bounded input: only the first MAX_CHARS characters of a text are used
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)

# Label sets per task (the fastText label is "__label__<name>").
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "quality": ("low", "high"),
    "edu": ("0", "1", "2", "3", "4", "5"),
    "domain": ("general", "math", "code"),
}

# Hyper-parameters: small dim + hashed n-gram buckets, then product-quantized (dsub 2).
DEFAULT_PARAMS = {"lr": 0.5, "dim": 64, "wordNgrams": 2, "minCount": 2, "bucket": 200_000, "loss": "softmax"}
QUANTIZE_PARAMS = {"qnorm": True, "retrain": True, "dsub": 2}
# Quantization may also keep only the `cutoff` strongest rows (words and n-gram buckets; 0 keeps
# all). Cross-validated on the dev data (benchmarks/judgments_eval.py, 3 repeats), pruning to
# 100,000 cost edu Danish 0.553 -> 0.541, English 0.393 -> 0.376 (0.347 -> 0.314 with the
# signals' weights chosen inside the folds) and quality AUC 0.856 -> 0.850; keeping all rows
# makes the shipped files ~7.4 MB instead of 4.3 (a rows' count grows with a user's
# vocabulary: ~32 bytes a row). The domain model lost nothing by it (held-out accuracy 0.984
# pruned, 0.979 not, 8.5 MB), so it stays pruned.
QUANTIZE_CUTOFF = {"edu": 0, "quality": 0, "domain": 100_000}


def normalize(text: str) -> str:
    """fastText input: lowercased, one line, punctuation split off as tokens, <= MAX_CHARS chars."""
    text = (text or "")[:MAX_CHARS].lower()
    # a literal "__label__" inside a text would be read by fastText as a label
    return " ".join(_TOKEN.findall(text)).replace("__label__", "label")


def is_heldout(key: str, heldout_fraction: float = 0.2) -> bool:
    """Deterministic split: sha1 of the grouping key (the text, or a source document id)."""
    h = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")
    return (h % 10_000) < heldout_fraction * 10_000


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    key: str  # split key: rows with the same key always land on the same side
    source: str = ""
    value: float | None = None  # the unrounded score behind an edu label (the mean of annotators)


def split(rows: Iterable[Example], heldout_fraction: float = 0.2) -> tuple[list[Example], list[Example]]:
    train, held = [], []
    for r in rows:
        (held if is_heldout(r.key, heldout_fraction) else train).append(r)
    return train, held


@dataclass
class Metrics:
    task: str
    n_train: int
    n_heldout: int
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)  # label -> p/r/f1/support
    accuracy: float = 0.0
    macro_f1: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    def table(self) -> str:
        lines = [
            (
                f"[{self.task}] train={self.n_train} held-out={self.n_heldout} "
                f"accuracy={self.accuracy:.3f} macro-F1={self.macro_f1:.3f}"
            ),
            f"  {'class':>8} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}",
        ]
        for lab, m in self.per_class.items():
            lines.append(f"  {lab:>8} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {int(m['support']):5d}")
        for k, v in self.extra.items():
            if k == "confusion":
                labs = list(self.per_class)
                lines.append("  confusion (rows=true, cols=pred): " + " ".join(f"{name:>4}" for name in labs))
                for lab, row in zip(labs, v):
                    lines.append(f"  {'':>34}{lab:>2}: " + " ".join(f"{c:4d}" for c in row))
            else:
                lines.append(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
        return "\n".join(lines)


def prf(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    out = {}
    for lab in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p == lab)
        fp = sum(1 for t, p in zip(y_true, y_pred) if t != lab and p == lab)
        fn = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": float(tp + fn)}
    return out


def binary_f1(y_true: Sequence[bool], y_pred: Sequence[bool]) -> float:
    tp = sum(1 for t, p in zip(y_true, y_pred) if t and p)
    fp = sum(1 for t, p in zip(y_true, y_pred) if not t and p)
    fn = sum(1 for t, p in zip(y_true, y_pred) if t and not p)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def predict_proba(
    model, texts: Sequence[str], labels: Sequence[str], lines: Sequence[str] | None = None
) -> list[dict[str, float]]:
    """Batch prediction: per text, {label: probability} over every label of the model. `lines`:
    the texts already normalized (several models on one batch normalize once)."""
    if not texts:
        return []
    lines = list(lines) if lines is not None else [normalize(t) for t in texts]
    got_labels, got_probs = model.predict(lines, k=-1, threshold=0.0)
    out = []
    for labs, probs in zip(got_labels, got_probs):
        d = {lab: 0.0 for lab in labels}
        for lab, p in zip(labs, probs):
            d[lab.removeprefix("__label__")] = min(1.0, max(0.0, float(p)))
        out.append(d)
    return out


def evaluate(task: str, model, heldout: Sequence[Example], n_train: int = 0) -> Metrics:
    labels = TASK_LABELS[task]
    probs = predict_proba(model, [e.text for e in heldout], labels)
    y_true = [e.label for e in heldout]
    y_pred = [max(labels, key=lambda lab: p[lab]) for p in probs]
    m = Metrics(task=task, n_train=n_train, n_heldout=len(heldout))
    m.per_class = prf(y_true, y_pred, labels)
    m.accuracy = sum(t == p for t, p in zip(y_true, y_pred)) / max(1, len(y_true))
    present = [lab for lab in labels if m.per_class[lab]["support"] > 0]
    m.macro_f1 = sum(m.per_class[lab]["f1"] for lab in present) / max(1, len(present))
    if task == "edu":
        scores = [sum(int(lab) * p[lab] for lab in labels) for p in probs]
        m.extra["F1(score>=3 vs label>=3)"] = binary_f1([int(t) >= 3 for t in y_true], [s >= 3 for s in scores])
        m.extra["confusion"] = [
            [sum(1 for t, p in zip(y_true, y_pred) if t == a and p == b) for b in labels] for a in labels
        ]
    if task == "quality":
        p_high = [p["high"] for p in probs]
        m.extra["F1(low) at P(high)<0.5"] = binary_f1([t == "low" for t in y_true], [p < 0.5 for p in p_high])
    return m


def _train_to_file(
    task: str, rows: Sequence[Example], seed: int, epochs: int, quantize: bool, params, out: str
) -> None:
    import fasttext

    hp = {**DEFAULT_PARAMS, **params}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(f"__label__{r.label} {normalize(r.text)}\n" for r in rows)
        fasttext.FastText.eprint = lambda *a, **k: None  # silence the load warning
        model = fasttext.train_supervised(input=str(path), epoch=epochs, seed=seed, thread=1, verbose=0, **hp)
        if quantize:
            cutoff = QUANTIZE_CUTOFF.get(task, 0)
            model.quantize(
                input=str(path), thread=1, verbose=0, epoch=epochs, lr=hp["lr"], cutoff=cutoff, **QUANTIZE_PARAMS
            )
    model.save_model(out)


def _check_labels(task: str, rows: Sequence[Example]) -> None:
    if task not in TASK_LABELS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(TASK_LABELS)}")
    bad = {r.label for r in rows} - set(TASK_LABELS[task])
    if bad:
        raise ValueError(f"labels {sorted(bad)} not valid for task {task!r}")


def _load(path: str | os.PathLike):
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence fastText's load warning
    return fasttext.load_model(str(path))


def save_trained(
    task: str,
    rows: Sequence[Example],
    out: str | os.PathLike,
    seed: int = 0,
    epochs: int = 25,
    quantize: bool = True,
    in_process: bool = False,
    **params,
) -> None:
    """Train a fastText model on every row and save it to `out`. One thread: the same rows and
    seed give the same file, byte for byte.

    Training runs in a fresh (spawned) process unless `in_process`: in a long-lived process that
    had imported numpy and then run trafilatura's extraction, fastText's training diverged to
    "Encountered NaN" on rows it trains on cleanly anywhere else (seen in the test suite); a
    fresh process gives the same model every time."""
    _check_labels(task, rows)
    args = (task, list(rows), seed, epochs, quantize, params, str(out))
    if in_process:
        _train_to_file(*args)
        return
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_train_to_file, *args).result()


def fit(task: str, rows: Sequence[Example], seed: int = 0, epochs: int = 25, quantize: bool = True, **kwargs):
    """The model `save_trained` writes, loaded (for cross-validation folds and tests)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.bin"
        save_trained(task, rows, out, seed=seed, epochs=epochs, quantize=quantize, **kwargs)
        return _load(out)


def train(
    task: str,
    rows: Sequence[Example],
    out_path: str | os.PathLike,
    seed: int = 0,
    epochs: int = 25,
    heldout_fraction: float = 0.2,
    quantize: bool = True,
    **params,
) -> Metrics:
    """Train one fastText model on the train split of ``rows`` (all of them when
    `heldout_fraction` is 0), save it, return held-out metrics (none without a held-out part)."""
    train_rows, held = split(rows, heldout_fraction) if heldout_fraction > 0 else (list(rows), [])
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_trained(task, train_rows, out_path, seed=seed, epochs=epochs, quantize=quantize, **params)
    metrics = evaluate(task, _load(out_path), held, n_train=len(train_rows))
    metrics.extra["model_bytes"] = out_path.stat().st_size
    return metrics
