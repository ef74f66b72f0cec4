"""Long-context evaluation of a checkpoint (`edumix eval long`): passkey retrieval over a grid
of context lengths x needle depths, and held-out loss as a function of position.

Passkey (Mohtashami & Jaggi 2023, "Landmark Attention", the format later long-context papers
reuse): an instruction, filler, "The pass key is NNNNN. Remember it. NNNNN is the pass key."
at a depth (0 = right after the instruction, 1 = right before the question), more filler, then
"What is the pass key? The pass key is"; the model decodes a few tokens greedily and a trial is
right when the first run of digits it writes is the key. Every prompt of a length is exactly
`length - new_tokens` tokens long (the filler is cut to fit), so prompt + answer fill the
context and one batch needs no padding. The filler is the paper's repeated sentences
(`fixed`) or the run's held-out documents (`heldout`). Keys are seeded per (length, depth,
trial): the same grid gives the same prompts on any machine.

Position loss: mean next-token loss per context-length bucket (4 per octave) over rows of
`loss_len` tokens, each row one causal sequence from position 0. The rows are held-out
documents at least that long (`documents`) when there are `min_docs` of them, else the held-out
documents concatenated and cut into rows (`packed`: attention then crosses document boundaries,
so a late position's context holds earlier documents too). A power law
loss(pos) = a + b * pos^(-c) is fitted to the bucket means (scipy's curve_fit, weighted by
tokens per bucket): `a` the loss the model tends to with unlimited context, `c` how fast
context helps.

The decoding helpers run the model's blocks over its own KV cache (causal SDPA, no mask
tensor) and build logits only where they are needed (the last column when decoding, chunks
of tokens for the loss), so a 32K-token row never materialises (T, V) logits at once.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from edumix.trainer.model import Transformer

INTRO = (
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
    "I will quiz you about the important information there."
)
FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
NEEDLE = " The pass key is {key}. Remember it. {key} is the pass key."
QUESTION = " What is the pass key? The pass key is"
DEFAULT_DEPTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
FILLERS = ("fixed", "heldout")
BUCKETS_PER_OCTAVE = 4

# answer_fn: prompts (each a list of token ids, all the same length) -> the new tokens of each.
AnswerFn = Callable[[list[list[int]], int], list[list[int]]]


class EvalLongError(ValueError):
    pass


# --------------------------------------------------------------------------- scoring


def parse_digits(text: str) -> str | None:
    """The first run of ASCII digits in a decoded answer, or None."""
    m = re.search(r"[0-9]+", text)
    return m.group(0) if m else None


def score_answer(text: str, key: str) -> bool:
    """Right iff the first number the model writes is the key (" 12345." yes, " 1234" no,
    " 123456" no, "the 12345" yes, "" no)."""
    return parse_digits(text) == key


def passkey_key(seed: int, length: int, depth_index: int, trial: int, digits: int = 5) -> str:
    """The key of one trial: `digits` decimal digits, no leading zero, from the grid cell's seed."""
    rng = np.random.default_rng([seed, length, depth_index, trial])
    return str(int(rng.integers(10 ** (digits - 1), 10**digits)))


# --------------------------------------------------------------------------- prompts


@dataclass
class PasskeyPrompt:
    ids: list[int]
    key: str
    needle_at: int  # token index where the needle starts


class PromptBuilder:
    """Passkey prompts of an exact token length from a tokenizer (anything with encode() and
    bos_id) and a filler token stream. `boundaries`: the filler indices the needle may go at
    (sentence ends for the fixed filler); None = any token."""

    def __init__(self, tokenizer, filler: Sequence[int] | None = None, boundaries: Sequence[int] | None = None):
        self.tok = tokenizer
        self.prefix = [tokenizer.bos_id] + tokenizer.encode(INTRO)
        self.question = tokenizer.encode(QUESTION)
        if filler is None:
            unit = tokenizer.encode(FILLER)
            filler, boundaries = unit, list(range(0, len(unit) + 1, len(unit)))
        if not len(filler):
            raise EvalLongError("the filler is empty")
        self.filler = np.asarray(filler, dtype=np.int64)
        self.unit_bounds = np.asarray(sorted(set(boundaries)) if boundaries is not None else [], dtype=np.int64)

    def needle(self, key: str) -> list[int]:
        return self.tok.encode(NEEDLE.format(key=key))

    def overhead(self, key: str) -> int:
        return len(self.prefix) + len(self.needle(key)) + len(self.question)

    def _filler(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n filler tokens (the stream repeated as needed) and where the needle may go in them."""
        reps = -(-n // len(self.filler))
        tokens = np.tile(self.filler, max(1, reps))[:n]
        if len(self.unit_bounds):
            starts = np.arange(max(1, reps)) * len(self.filler)
            bounds = (starts[:, None] + self.unit_bounds[None]).ravel()
            bounds = np.unique(np.append(bounds[bounds <= n], n))
        else:
            bounds = np.arange(n + 1)
        return tokens, bounds

    def build(self, length: int, depth: float, key: str) -> PasskeyPrompt:
        """A prompt of exactly `length` tokens with the needle after `depth` of the filler."""
        needle = self.needle(key)
        n = length - len(self.prefix) - len(needle) - len(self.question)
        if n < 0:
            raise EvalLongError(f"a passkey prompt needs at least {length - n} tokens, asked for {length}")
        tokens, bounds = self._filler(n)
        at = int(bounds[np.argmin(np.abs(bounds - depth * n))])  # the allowed cut nearest the depth
        ids = self.prefix + tokens[:at].tolist() + needle + tokens[at:].tolist() + self.question
        return PasskeyPrompt(ids, key, len(self.prefix) + at)


# --------------------------------------------------------------------------- running the model


def _blocks(model: Transformer, idx: Tensor, cache) -> Tensor:
    """The model's blocks over `idx` (B, t), continuing `cache` -> normed hidden states (B, t, C).
    The cache's attention is causal SDPA over the prefix: no mask tensor, any length."""
    T = idx.shape[1]
    pos = torch.arange(cache.length, cache.length + T, device=idx.device)  # (t,)
    cos, sin = model.rope(pos)  # (1, t, 1, hd)
    x = model.tok_emb(idx)  # (B, t, C)
    for layer in model.layers:
        x = layer(x, cos, sin, None, cache)
    cache.advance(T)
    return model.norm(x)


@torch.inference_mode()
def greedy_answers(model: Transformer, prompts: list[list[int]], new_tokens: int) -> list[list[int]]:
    """Greedy continuation of equal-length prompts, logits for the last column only."""
    if len({len(p) for p in prompts}) != 1:
        raise EvalLongError("greedy_answers needs prompts of one length")
    dev = model.tok_emb.weight.device
    idx = torch.tensor(prompts, device=dev)  # (B, P)
    cache = model.new_cache(len(prompts), idx.shape[1] + new_tokens)
    h = _blocks(model, idx, cache)[:, -1]  # (B, C)
    out = []
    for step in range(new_tokens):
        tok = model.lm_head(h).float().argmax(dim=-1)  # (B,)
        out.append(tok)
        if step + 1 < new_tokens:
            h = _blocks(model, tok[:, None], cache)[:, -1]
    return torch.stack(out, dim=1).tolist()  # (B, new)


def model_answer_fn(model: Transformer, batch_size: int, autocast=None) -> AnswerFn:
    """An AnswerFn that decodes with `model`, `batch_size` prompts at a time."""

    def answer(prompts: list[list[int]], new_tokens: int) -> list[list[int]]:
        out = []
        for s in range(0, len(prompts), batch_size):
            with autocast if autocast is not None else torch.autocast("cpu", enabled=False):
                out += greedy_answers(model, prompts[s : s + batch_size], new_tokens)
        return out

    return answer


# --------------------------------------------------------------------------- passkey grid


@dataclass
class PasskeyResult:
    lengths: list[int]
    depths: list[float]
    trials: int
    new_tokens: int
    filler: str
    accuracy: list[list[float]]  # [length][depth]
    samples: list[dict] = field(default_factory=list)  # one per trial: where, key, answer, right

    def mean_by_length(self) -> list[float]:
        return [float(np.mean(row)) for row in self.accuracy]


def run_passkey(
    answer: AnswerFn,
    tokenizer,
    builder: PromptBuilder,
    lengths: Sequence[int],
    depths: Sequence[float] = DEFAULT_DEPTHS,
    trials: int = 5,
    new_tokens: int = 8,
    seed: int = 0,
    filler_name: str = "fixed",
    progress: Callable[[str], None] | None = None,
) -> PasskeyResult:
    """Accuracy per (length, depth) over `trials` seeded keys; all prompts of a length are
    `length - new_tokens` tokens, so prompt + answer fit a context of `length`."""
    acc, samples = [], []
    for length in lengths:
        prompts = [
            builder.build(length - new_tokens, depth, passkey_key(seed, length, d, t))
            for d, depth in enumerate(depths)
            for t in range(trials)
        ]
        answers = answer([p.ids for p in prompts], new_tokens)
        right = []
        for i, (p, a) in enumerate(zip(prompts, answers)):
            text = tokenizer.decode(a)
            ok = score_answer(text, p.key)
            right.append(ok)
            samples.append(
                {
                    "length": length,
                    "depth": depths[i // trials],
                    "trial": i % trials,
                    "key": p.key,
                    "needle_at": p.needle_at,
                    "answer": text,
                    "right": ok,
                }
            )
        row = np.asarray(right, dtype=np.float64).reshape(len(depths), trials).mean(axis=1)
        acc.append([float(x) for x in row])
        if progress is not None:
            progress(f"passkey length {length}: {float(row.mean()):.0%}")
    return PasskeyResult(list(lengths), [float(d) for d in depths], trials, new_tokens, filler_name, acc, samples)


def format_passkey_table(res: PasskeyResult, trained_len: int | None = None) -> str:
    """Accuracy (%) per length (rows) x depth (columns), plus the row mean; a length beyond
    the checkpoint's trained max_seq_len is marked with *."""
    head = f"{'length':>8} | " + " ".join(f"{d:>6.2f}" for d in res.depths) + " |   mean"
    lines = [f"passkey accuracy (%), {res.trials} trials per cell, depth across", head, "-" * len(head)]
    for length, row in zip(res.lengths, res.accuracy):
        mark = "*" if trained_len is not None and length > trained_len else " "
        cells = " ".join(f"{100 * a:>6.0f}" for a in row)
        lines.append(f"{length:>7}{mark} | {cells} | {100 * float(np.mean(row)):>6.1f}")
    if trained_len is not None and any(n > trained_len for n in res.lengths):
        lines.append(f"* beyond the checkpoint's max_seq_len {trained_len} (RoPE table extended)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- position loss


def bucket_edges(max_pos: int, per_octave: int = BUCKETS_PER_OCTAVE) -> np.ndarray:
    """Bucket edges over context lengths 1..max_pos: [e_i, e_{i+1}), log-spaced, integer, unique."""
    n = max(1, math.ceil(per_octave * math.log2(max(max_pos, 1))))
    edges = np.unique(np.round(2.0 ** (np.arange(n + 1) / per_octave)).astype(np.int64))
    edges = edges[edges <= max_pos]
    return np.append(edges, max_pos + 1)


@torch.inference_mode()
def token_losses(model: Transformer, rows: np.ndarray, batch_size: int = 4, chunk: int = 2048, autocast=None):
    """rows (N, T+1) int -> per-token loss (N, T) float64: the loss of row[i+1] given row[:i+1]."""
    dev = model.tok_emb.weight.device
    N, T1 = rows.shape
    out = np.empty((N, T1 - 1), dtype=np.float64)
    for s in range(0, N, batch_size):
        b = torch.from_numpy(np.ascontiguousarray(rows[s : s + batch_size])).to(dev)
        cache = model.new_cache(b.shape[0], T1 - 1)
        with autocast if autocast is not None else torch.autocast("cpu", enabled=False):
            h = _blocks(model, b[:, :-1], cache)  # (b, T, C)
            for c in range(0, T1 - 1, chunk):
                logits = model.lm_head(h[:, c : c + chunk]).float()  # (b, t, V)
                tgt = b[:, 1 + c : 1 + c + chunk]
                loss = F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")  # (b, t)
                out[s : s + b.shape[0], c : c + chunk] = loss.double().cpu().numpy()
    return out


def power_law(pos, a, b, c):
    return a + b * np.power(pos, -c)


@dataclass
class PositionLoss:
    mode: str  # "documents" | "packed"
    source: str  # "heldout" | "all documents" (the held-out ones were too few tokens)
    rows: int
    seq_len: int
    documents: int  # documents contributing
    bucket_lo: list[int]
    bucket_hi: list[int]  # inclusive
    bucket_pos: list[float]  # mean context length in the bucket
    bucket_loss: list[float]
    bucket_tokens: list[int]
    fit: dict | None  # {a, b, c, rmse, max_pos[, note]} or {error, max_pos}

    def table(self) -> str:
        how = {
            "documents": f"{self.documents} held-out documents of >= {self.seq_len + 1} tokens, each from its start",
            "packed": f"{self.documents} documents concatenated into {self.rows} rows (attention crosses documents)",
        }[self.mode]
        lines = [
            f"loss by context length, {self.rows} rows x {self.seq_len} tokens: {how}; source {self.source}",
            f"{'context':>15} | {'loss':>7} | {'tokens':>8}",
        ]
        fit_max = (self.fit or {}).get("max_pos")
        for lo, hi, loss, n in zip(self.bucket_lo, self.bucket_hi, self.bucket_loss, self.bucket_tokens):
            span = f"{lo}" if lo == hi else f"{lo}-{hi}"
            mark = "*" if fit_max is not None and hi > fit_max else " "
            lines.append(f"{span:>14}{mark} | {loss:>7.4f} | {n:>8,}")
        if fit_max is not None and self.bucket_hi and self.bucket_hi[-1] > fit_max:
            lines.append(f"* beyond the checkpoint's max_seq_len {fit_max}: not fitted")
        if self.fit and "a" in self.fit:
            f = self.fit
            lines.append(
                f"fit (context <= {f['max_pos']}): loss(pos) = {f['a']:.4f} + {f['b']:.4f} * pos^-{f['c']:.4f}"
                f"  (rmse {f['rmse']:.4f})" + (f"; {f['note']}" if f.get("note") else "")
            )
        elif self.fit:
            lines.append(f"fit: none ({self.fit['error']})")
        return "\n".join(lines)


def fit_power_law(pos: np.ndarray, loss: np.ndarray, weight: np.ndarray | None = None) -> dict:
    """loss(pos) = a + b * pos^(-c), c in [0, 4], least squares weighted by `weight` (tokens)."""
    from scipy.optimize import curve_fit

    pos, loss = np.asarray(pos, np.float64), np.asarray(loss, np.float64)
    if len(pos) < 4:
        return {"error": f"{len(pos)} buckets, need 4"}
    sigma = None if weight is None else 1.0 / np.sqrt(np.maximum(np.asarray(weight, np.float64), 1.0))
    p0 = (float(loss[-1]), float(max(loss[0] - loss[-1], 1e-3)), 0.5)
    try:
        (a, b, c), _ = curve_fit(
            power_law, pos, loss, p0=p0, sigma=sigma, bounds=([-np.inf, -np.inf, 0.0], [np.inf, np.inf, 4.0]),
            maxfev=20000,
        )  # fmt: skip
    except (RuntimeError, ValueError) as e:
        return {"error": str(e).splitlines()[0]}
    rmse = float(np.sqrt(np.mean((power_law(pos, a, b, c) - loss) ** 2)))
    out = {"a": float(a), "b": float(b), "c": float(c), "rmse": rmse}
    if b <= 0 or c < 1e-3:  # a flat or rising curve: the parameters mean nothing
        out["note"] = "the loss does not fall as a power of the position here: no power law"
    return out


def position_rows(
    docs: Sequence[np.ndarray], seq_len: int, max_rows: int, min_docs: int
) -> tuple[np.ndarray, str, int]:
    """(rows (N, seq_len+1), mode, documents used): each long-enough document's start when there
    are `min_docs` of them, else the documents concatenated and cut into rows."""
    long = [d for d in docs if len(d) >= seq_len + 1]
    if len(long) >= min_docs:
        use = long[:max_rows]
        return np.stack([d[: seq_len + 1] for d in use]).astype(np.int64), "documents", len(use)
    stream = np.concatenate(list(docs)) if docs else np.empty(0, np.int64)
    n = min(max_rows, (len(stream) - 1) // seq_len) if len(stream) > seq_len else 0
    if n == 0:
        return np.empty((0, seq_len + 1), np.int64), "packed", 0
    rows = np.stack([stream[r * seq_len : r * seq_len + seq_len + 1] for r in range(n)]).astype(np.int64)
    used = int(np.searchsorted(np.cumsum([len(d) for d in docs]), n * seq_len + 1) + 1)
    return rows, "packed", min(used, len(docs))


def position_loss(
    losses: np.ndarray,
    mode: str,
    source: str,
    documents: int,
    per_octave: int = BUCKETS_PER_OCTAVE,
    fit_max_pos: int | None = None,
) -> PositionLoss:
    """Bucket per-token losses (N, T) by context length (column i has i + 1 tokens of context);
    the power law is fitted to the buckets within `fit_max_pos` (the trained length: beyond it
    the model extrapolates, which no power law of in-context learning describes)."""
    N, T = losses.shape
    edges = bucket_edges(T, per_octave)
    ctx = np.arange(1, T + 1)
    col_mean = losses.mean(axis=0)
    lo, hi, mpos, mloss, ntok = [], [], [], [], []
    for e0, e1 in zip(edges[:-1], edges[1:]):
        sel = (ctx >= e0) & (ctx < e1)
        if not sel.any():
            continue
        lo.append(int(e0))
        hi.append(int(e1 - 1))
        mpos.append(float(ctx[sel].mean()))
        mloss.append(float(col_mean[sel].mean()))
        ntok.append(int(sel.sum() * N))
    fit_max = T if fit_max_pos is None else min(T, fit_max_pos)
    inside = np.asarray(hi) <= fit_max
    fit = fit_power_law(np.asarray(mpos)[inside], np.asarray(mloss)[inside], np.asarray(ntok)[inside])
    fit["max_pos"] = fit_max
    return PositionLoss(mode, source, N, T, documents, lo, hi, mpos, mloss, ntok, fit)


# --------------------------------------------------------------------------- heat map PNG


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """A truecolor PNG from an (H, W, 3) uint8 array: zlib + struct, no imaging library."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 per scanline

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path = Path(path)
    path.write_bytes(png)
    return path


def read_png(path: str | Path) -> np.ndarray:
    """write_png's PNGs back (8-bit truecolor, filter 0): (H, W, 3) uint8. For the tests."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 3 * w)
    if rows[:, 0].any():
        raise ValueError("only filter type 0 is read")
    return rows[:, 1:].reshape(h, w, 3).copy()


# 3x5 glyphs for the labels: digits, '.', '%', '*'.
_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "%": "101001010100101",
    "*": "000101010101000", " ": "000000000000000",
}  # fmt: skip


def _text(img: np.ndarray, x: int, y: int, s: str, scale: int, color) -> None:
    for i, ch in enumerate(s):
        g = np.array([int(b) for b in _GLYPHS.get(ch, _GLYPHS[" "])], dtype=bool).reshape(5, 3)
        block = np.kron(g, np.ones((scale, scale), dtype=bool))
        x0 = x + i * 4 * scale
        region = img[y : y + 5 * scale, x0 : x0 + 3 * scale]
        region[block[: region.shape[0], : region.shape[1]]] = color


def _color(a: float) -> np.ndarray:
    """0 -> red, 0.5 -> yellow, 1 -> green."""
    a = min(max(a, 0.0), 1.0)
    red = np.array([200, 40, 40]), np.array([235, 200, 50]), np.array([40, 160, 70])
    lo, hi, t = (red[0], red[1], a * 2) if a < 0.5 else (red[1], red[2], a * 2 - 1)
    return (lo + (hi - lo) * t).astype(np.uint8)


def heatmap_png(res: PasskeyResult, path: str | Path, cell: tuple[int, int] = (56, 28), scale: int = 2) -> Path:
    """Accuracy heat map: context length across (x), needle depth down (y), the accuracy (%) in
    each cell, lengths under the columns and depths left of the rows."""
    cw, ch = cell
    left, bottom, pad = 4 * scale * 5 + 8, 5 * scale + 10, 4
    W, H = pad + left + cw * len(res.lengths) + pad, pad + ch * len(res.depths) + bottom
    img = np.full((H, W, 3), 255, dtype=np.uint8)
    for j, length in enumerate(res.lengths):
        for i in range(len(res.depths)):
            a = res.accuracy[j][i]
            x0, y0 = pad + left + j * cw, pad + i * ch
            img[y0 : y0 + ch - 1, x0 : x0 + cw - 1] = _color(a)
            label = f"{100 * a:.0f}"
            _text(img, x0 + (cw - len(label) * 4 * scale) // 2, y0 + (ch - 5 * scale) // 2, label, scale, 0)
        lab = str(length)
        small = 1 if len(lab) * 4 * scale > cw - 2 else scale
        _text(
            img, pad + left + j * cw + (cw - len(lab) * 4 * small) // 2, pad + ch * len(res.depths) + 5, lab, small, 0
        )
    for i, d in enumerate(res.depths):
        _text(img, pad, pad + i * ch + (ch - 5 * scale) // 2, f"{d:.2f}", scale, 0)
    return write_png(path, img)


# --------------------------------------------------------------------------- results on disk


def write_results(out_dir: str | Path, meta: dict, passkey: PasskeyResult | None, pos: PositionLoss | None) -> dict:
    """eval_long.json (and passkey_heatmap.png) in out_dir; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format": 1, **meta}
    paths = {}
    if passkey is not None:
        doc["passkey"] = {**asdict(passkey), "mean_by_length": passkey.mean_by_length()}
        paths["heatmap"] = heatmap_png(passkey, out / "passkey_heatmap.png")
    if pos is not None:
        doc["position_loss"] = asdict(pos)
    paths["json"] = out / "eval_long.json"
    paths["json"].write_text(json.dumps(doc, indent=1) + "\n")
    return paths


# --------------------------------------------------------------------------- the whole evaluation


def default_lengths(max_len: int, start: int = 256) -> list[int]:
    """Powers of two from `start` up to max_len, and max_len itself."""
    out, n = [], min(start, max_len)
    while n < max_len:
        out.append(n)
        n *= 2
    return out + [max_len]


def data_phase_of(meta: dict) -> int:
    """The data phase a checkpoint trained on (the long phase reads another phase's data)."""
    lineage = meta.get("lineage") or {}
    phase = lineage.get("data_phase", lineage.get("phase", meta.get("phase", 1)))
    return phase if isinstance(phase, int) else 1


def run_documents(run_dir, tokenizer, phase: int, eval_fraction: float, tokens_dir=None):
    """(held-out documents, all documents) of a run's phase, each <|bos|> ... <|eos|> int64,
    held out as in training (the same hash of the document id in every phase)."""
    from edumix.trainer.data import TokenStore, ensure_tokenized, heldout_masks

    store = TokenStore(ensure_tokenized(run_dir, phase, tokenizer, tokens_dir, progress=False))
    held = heldout_masks(store, eval_fraction)
    heldout, every = [], []
    for i, c in enumerate(store.cells):
        for d in range(c.documents):
            doc = store.document(i, d)
            every.append(doc)
            if held[i][d]:
                heldout.append(doc)
    return heldout, every


@dataclass
class LongEvalOptions:
    lengths: list[int] | None = None  # default: powers of two from 256 to the model's max_seq_len
    depths: list[float] = field(default_factory=lambda: list(DEFAULT_DEPTHS))
    trials: int = 5
    new_tokens: int = 8
    filler: str = "fixed"
    seed: int = 0
    loss_len: int | None = None  # default: the longest length
    max_rows: int = 32
    min_docs: int = 4
    batch_size: int = 4
    passkey: bool = True
    loss: bool = True
    phase: int | None = None  # default: the checkpoint's data phase
    tokens_dir: str | None = None


def evaluate_long(
    ckpt,
    tokenizer,
    run_dir,
    out_dir,
    opts: LongEvalOptions,
    device: torch.device,
    say: Callable[[str], None] = print,
) -> dict:
    """Both evaluations of an opened checkpoint (trainer/checkpoint.py's Checkpoint) on a run;
    prints the tables through `say`, writes eval_long.json and the heat map to out_dir, returns
    the JSON document. Lengths beyond the checkpoint's max_seq_len rebuild the RoPE table for
    the longest (extrapolation: the cells are marked)."""
    meta = ckpt.meta
    trained = int(meta["model_config"]["max_seq_len"])
    lengths = sorted(set(opts.lengths or default_lengths(trained)))
    if opts.filler not in FILLERS:
        raise EvalLongError(f"filler must be one of {FILLERS}, got {opts.filler!r}")
    if any(not 0.0 <= d <= 1.0 for d in opts.depths):
        raise EvalLongError(f"depths must lie in [0, 1], got {opts.depths}")
    loss_len = opts.loss_len or max(lengths)
    longest = max(lengths + [loss_len])
    model = ckpt.build_model(**({"max_seq_len": longest} if longest > trained else {}))
    model.to(device).eval()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
    eval_fraction = float(((meta.get("train_config") or {}).get("data") or {}).get("eval_fraction", 0.02))
    phase = opts.phase or data_phase_of(meta)
    docs = None
    if opts.loss or opts.filler == "heldout":
        docs = run_documents(run_dir, tokenizer, phase, eval_fraction, opts.tokens_dir)
    info = {
        "checkpoint": str(ckpt.path),
        "step": meta.get("step"),
        "run_dir": str(Path(run_dir).resolve()),
        "data_phase": phase,
        "trained_max_seq_len": trained,
        "eval_fraction": eval_fraction,
        "device": str(device),
    }
    passkey = pos = None
    if opts.passkey:
        if opts.filler == "heldout":
            stream = [t for d in (docs[0] or docs[1]) for t in d[1:-1].tolist()]
            builder = PromptBuilder(tokenizer, stream, None)
        else:
            builder = PromptBuilder(tokenizer)
        short = [n for n in lengths if n - opts.new_tokens < builder.overhead("99999") + 1]
        if short:
            raise EvalLongError(
                f"length(s) {short} leave no room for filler: a passkey prompt needs "
                f"{builder.overhead('99999') + 1 + opts.new_tokens} tokens"
            )
        answer = model_answer_fn(model, opts.batch_size, autocast)
        passkey = run_passkey(
            answer, tokenizer, builder, lengths, opts.depths, opts.trials, opts.new_tokens, opts.seed, opts.filler, say
        )
        say(format_passkey_table(passkey, trained))
    if opts.loss:
        heldout, every = docs
        rows, mode, used = position_rows(heldout, loss_len, opts.max_rows, opts.min_docs)
        source = "heldout"
        if len(rows) == 0:  # fewer held-out tokens than one row: say so, use every document
            rows, mode, used = position_rows(every, loss_len, opts.max_rows, opts.min_docs)
            source = "all documents (held-out ones too short for one row)"
        if len(rows) == 0:
            say(f"position loss: skipped, the run's phase {phase} holds fewer than {loss_len + 1} tokens")
        else:
            losses = token_losses(model, rows, opts.batch_size, autocast=autocast)
            pos = position_loss(losses, mode, source, used, fit_max_pos=trained)
            say(pos.table())
    paths = write_results(out_dir, info, passkey, pos)
    say("wrote " + ", ".join(str(p) for p in paths.values()))
    return json.loads(paths["json"].read_text())
