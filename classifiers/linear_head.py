"""Linear heads on the static embedding and the text statistics (`text_stats`): ridge
regression for the 0-5 edu score, L2 logistic regression for P(high quality).

A few hundred to a few thousand judged pages and 148 features (128 of the embedding, 20
statistics): closed-form ridge (alpha chosen by generalised cross-validation) and Newton's
method for the logistic fit are exact, deterministic and need nothing beyond numpy. The
standardisation is folded into the weights, so a head is one vector and a bias, saved as JSON
next to the model it belongs to.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RIDGE_ALPHAS = tuple(10.0**k for k in np.arange(-1, 4.01, 0.25))


# What a head reads: the static embedding, or the embedding and the text statistics
# (text_stats.text_stats) side by side, the embedding's columns first.
FEATURES = ("static", "static+stats")


@dataclass(frozen=True)
class LinearHead:
    kind: str  # "ridge" (a score) | "logistic" (a probability)
    weights: np.ndarray  # (d,) on the raw features
    bias: float
    alpha: float  # the ridge penalty chosen, or 1/C for the logistic fit
    features: str = "static"  # one of FEATURES

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, d) features (`self.features`) -> (n,) scores (ridge) or probabilities (logistic)."""
        z = np.asarray(X, np.float64) @ self.weights + self.bias  # (n,)
        return 1.0 / (1.0 + np.exp(-z)) if self.kind == "logistic" else z

    def to_dict(self) -> dict:
        """The head as JSON-ready data (a head file's body, or a part of another model file)."""
        body = {"kind": self.kind, "bias": self.bias, "alpha": self.alpha, "weights": self.weights.tolist()}
        if self.features != "static":  # a head on the embedding keeps the older file format
            body = {"features": self.features, **body}
        return body

    @classmethod
    def from_dict(cls, body: dict, where: str | Path = "head") -> LinearHead:
        """`to_dict`'s data back; `where` names the file in errors."""
        if body.get("kind") not in ("ridge", "logistic"):
            raise ValueError(f"{where}: not a linear head (kind {body.get('kind')!r})")
        features = body.get("features", "static")
        if features not in FEATURES:
            raise ValueError(f"{where}: unknown head features {features!r} (expected one of {', '.join(FEATURES)})")
        w = np.asarray(body["weights"], np.float64)
        return cls(body["kind"], w, float(body["bias"]), float(body["alpha"]), features)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LinearHead:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), path)


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, np.float64)
    mu = X.mean(0)
    sd = X.std(0)
    sd[sd == 0] = 1.0
    return (X - mu) / sd, mu, sd


def _fold(kind: str, w: np.ndarray, b: float, mu: np.ndarray, sd: np.ndarray, alpha: float) -> LinearHead:
    """Weights on standardised features -> weights on raw features."""
    return LinearHead(kind, w / sd, float(b - (mu / sd) @ w), alpha)


def fit_ridge(X: np.ndarray, y: Sequence[float], alphas: Sequence[float] = RIDGE_ALPHAS) -> LinearHead:
    """Ridge on standardised features; alpha minimises the GCV error (one SVD serves every alpha)."""
    Z, mu, sd = _standardise(X)
    y = np.asarray(y, np.float64)
    ym = y.mean()
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)  # Z (n, d) = U (n, k) diag(s) Vt (k, d)
    Uy = U.T @ (y - ym)  # (k,)
    best = None
    for a in alphas:
        f = s**2 / (s**2 + a)  # shrinkage per singular direction
        resid = (y - ym) - U @ (f * Uy)
        gcv = float(resid @ resid) / (len(y) - f.sum()) ** 2
        if best is None or gcv < best[0]:
            best = (gcv, a)
    a = best[1]
    w = Vt.T @ (s / (s**2 + a) * Uy)  # (d,)
    return _fold("ridge", w, ym, mu, sd, a)


def fit_logistic(X: np.ndarray, y: Sequence[int], C: float = 0.05, iters: int = 50) -> LinearHead:
    """L2 logistic regression (penalty ||w||^2 / 2C, intercept free) by Newton's method."""
    Z, mu, sd = _standardise(X)
    Zb = np.hstack([Z, np.ones((len(Z), 1))])  # (n, d+1)
    y = np.asarray(y, np.float64)
    reg = np.full(Zb.shape[1], 1.0 / C)
    reg[-1] = 0.0
    w = np.zeros(Zb.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(Zb @ w)))
        grad = Zb.T @ (p - y) + reg * w
        hess = (Zb * (p * (1 - p))[:, None]).T @ Zb + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return _fold("logistic", w[:-1], w[-1], mu, sd, 1.0 / C)


# Tasks whose score combines the fastText model with a head on the static embedding.
#   quality: the mean of fastText's and the head's P(high) (cross-validated on HPLT's human labels,
#            AUC 0.79 -> 0.84; with the text statistics beside the embedding in the head,
#            0.84 -> 0.85, most in the languages where fastText and the embedding were weakest).
#   edu:     fastText's expected score plus the head's offset. The head is a ridge on targets
#            z-scored within each judged set (Danish people, English LLM, a user's language), put
#            back on the point scale by their pooled within-set sd: it learns which page of a set
#            is more educational than its neighbours, not which language scores high, so
#            fastText keeps the level and the head sharpens the order inside a language (Danish
#            Spearman 0.415 -> 0.46 with the English tier-A share kept; README, Classifiers).
#            The text statistics beside the embedding lift it again (Danish 0.46 -> 0.54,
#            English 0.10 -> 0.15, cross-validated), mostly by page length: people rate long
#            articles above snippets and lists.
# The statistics cost ~10% of the classify stage (benchmarks/judgments_eval.py, speed).
HEAD_TASKS = ("quality", "edu")
HEAD_FEATURES = {"quality": "static+stats", "edu": "static+stats"}  # what each task's head reads
EDU_RANGE = (0.0, 5.0)


def blend(task: str, fast: Sequence[float], static: Sequence[float]) -> np.ndarray:
    """The shipped score of a task with a head, from fastText's score and the head's."""
    fast = np.asarray(fast, np.float64)
    static = np.asarray(static, np.float64)
    if task == "quality":
        return (fast + static) / 2
    if task == "edu":
        return np.clip(fast + static, *EDU_RANGE)
    raise ValueError(f"no static head for task {task!r} (heads: {', '.join(HEAD_TASKS)})")


def head_path(model_path: str | Path) -> Path:
    """The head that belongs to a model file: quality.ftz -> quality.head.json."""
    return Path(model_path).with_suffix(".head.json")


def _within_set(labels: Sequence[str | float], sets: Sequence[str]) -> tuple[np.ndarray, float]:
    """(labels z-scored within each set, NaN for sets whose labels do not vary; the pooled
    within-set sd in points)."""
    y = np.asarray([float(v) for v in labels])
    sets = np.asarray(sets)
    out = np.full(len(y), np.nan)
    sq, n = 0.0, 0
    for s in dict.fromkeys(sets.tolist()):
        m = sets == s
        sd = y[m].std()
        if sd > 0:
            out[m] = (y[m] - y[m].mean()) / sd
            sq += float(((y[m] - y[m].mean()) ** 2).sum())
            n += int(m.sum())
    if not n:
        raise ValueError("edu head: no set of rows has labels that vary")
    return out, float(np.sqrt(sq / n))


def within_set_targets(labels: Sequence[str | float], sets: Sequence[str]) -> np.ndarray:
    """Edu labels as offsets from their set's mean, in points: z-scored within each set, times
    the pooled within-set sd. A set whose labels do not vary (e.g. pages known to be 0) says
    nothing about order inside it: its rows get NaN and are left out of the fit."""
    z, sd = _within_set(labels, sets)
    return z * sd


def pooled_within_set_sd(labels: Sequence[str | float], sets: Sequence[str]) -> float:
    """How far, in points, labels spread around their set's mean (pooled over the sets that vary)."""
    return _within_set(labels, sets)[1]


def head_target(row) -> str | float:
    """What a head learns from a training row (`fasttext_model.Example`): the unrounded edu
    score where there is one (the mean of a page's annotators carries more than its rounding),
    else the label."""
    return row.value if row.value is not None else row.label


def fit_head(
    task: str,
    X: np.ndarray,
    labels: Sequence[str | float],
    sets: Sequence[str] | None = None,
    features: str | None = None,
) -> LinearHead:
    """The head for `task` on features X (n, d) of rows labelled `labels` (`head_features` of
    `features`, default the task's HEAD_FEATURES); `sets` names each row's judged set (edu: the
    rows are ranked within it; one set when omitted)."""
    features = features or HEAD_FEATURES.get(task, "static")
    if task == "quality":
        head = fit_logistic(X, [lab == "high" for lab in labels])
    elif task == "edu":
        y = within_set_targets(labels, sets if sets is not None else [""] * len(labels))
        keep = ~np.isnan(y)
        head = fit_ridge(np.asarray(X)[keep], y[keep])
    else:
        raise ValueError(f"no static head for task {task!r} (heads: {', '.join(HEAD_TASKS)})")
    return dataclasses.replace(head, features=features)


def head_features(features: str, embedding, stats=None) -> np.ndarray:
    """The matrix a head with `features` reads, from the texts' embedding and statistics."""
    if features == "static":
        return np.asarray(embedding)
    return np.hstack([np.asarray(embedding, np.float64), np.asarray(stats, np.float64)])


def train_head(task: str, rows, model_path: str | Path) -> Path | None:
    """Fit and save the head next to `model_path` when the task has one; the rows are the
    fastText model's own (`fasttext_model.Example`, their `source` is the judged set)."""
    if task not in HEAD_TASKS:
        return None
    from edumix.classifiers.static_embed import shipped_embedder
    from edumix.classifiers.text_stats import text_stats

    texts = [r.text for r in rows]
    X = head_features(HEAD_FEATURES[task], shipped_embedder().embed(texts), text_stats(texts))
    out = head_path(model_path)
    fit_head(task, X, [head_target(r) for r in rows], [r.source for r in rows]).save(out)
    if task == "edu":  # the two offsets the judged rows are too few to learn (edu_signals)
        from edumix.classifiers.edu_crosslingual import train_crosslingual
        from edumix.classifiers.edu_signals import train_signals

        train_signals(rows, model_path)
        train_crosslingual(rows, model_path)  # the judged model saved above is its teacher
    return out
