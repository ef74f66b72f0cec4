"""Training FLOP accounting for MFU: PaLM's formula and the attention a packed batch really runs.

PaLM (Chowdhery et al. 2022, appendix B) counts 6N + 12·L·H·hd·T FLOPs per token: the
attention term assumes every token attends to all T positions of its row. With document
masking a token attends only to the earlier tokens of ITS document, so at T=8192 on short
documents PaLM's count can be several times what runs (an H200 run printed 82.5% MFU). Here:

- `attn_pairs(positions)`: the (query, key) pairs causal document-masked attention needs,
  sum over documents of n(n+1)/2 (a document cut by a row boundary counts per row, as the
  model sees it: positions restart there);
- `attn_block_pairs(positions, block)`: the pairs a block-sparse kernel (FlexAttention's
  BlockMask, 128 x 128 tiles) visits: every tile holding at least one allowed pair, whole;
- `blocksparse_pairs(positions, ...)`: for a blocksparse layer (trainer/blocksparse.py), the
  pairs its mask allows and the pairs its CPU path computes (active blocks x block^2);
  `model_attn_pairs` averages dense and blocksparse layers into one per-layer count;
- `attn_flops(pairs, ...)`: 12·L·H·hd FLOPs per pair (QK^T and AV, 2·hd each, forward;
  backward twice that), the unit PaLM's term uses, so full T x T pairs give PaLM's number back.

`positions` (B, T) restart at 0 at each document start (trainer/data.py); None = one
document per row. Everything runs on the host (NumPy) from the batch the loader made.
"""

from __future__ import annotations

import numpy as np

FLEX_BLOCK = 128  # FlexAttention's default BLOCK_SIZE (create_block_mask)


def palm_flops_per_token(n_matmul: int, n_layers: int, n_heads: int, head_dim: int, seq_len: int) -> float:
    """PaLM's training FLOPs per token: 6 * matmul weights + 12 * L * H * hd * T (full T x T)."""
    return 6.0 * n_matmul + 12.0 * n_layers * n_heads * head_dim * seq_len


def attn_flops(pairs: float, n_layers: int, n_heads: int, head_dim: int) -> float:
    """Training FLOPs (forward + backward) of attention over `pairs` (query, key) pairs."""
    return 12.0 * n_layers * n_heads * head_dim * pairs


def doc_lengths(positions: np.ndarray) -> np.ndarray:
    """(B, T) positions -> the lengths of the row segments attention treats as documents,
    row by row (a row always starts one)."""
    positions = np.asarray(positions)
    starts = positions == 0
    starts[:, 0] = True
    B, T = positions.shape
    first = np.flatnonzero(starts.ravel())  # (D,) flat index of each document start
    return np.diff(first, append=B * T)  # (D,)


def attn_pairs(positions: np.ndarray | None, shape: tuple[int, int] | None = None) -> int:
    """Causal pairs within documents: sum of n(n+1)/2. positions None: `shape` (B, T) rows of
    one document each."""
    if positions is None:
        B, T = shape
        return B * T * (T + 1) // 2
    n = doc_lengths(positions).astype(np.int64)
    return int((n * (n + 1) // 2).sum())


def full_pairs(batch: int, seq_len: int) -> int:
    """The pairs PaLM's term counts: T x T per row."""
    return batch * seq_len * seq_len


def attn_block_pairs(
    positions: np.ndarray | None, shape: tuple[int, int] | None = None, block: int = FLEX_BLOCK
) -> int:
    """Pairs in the (block x block) tiles a block-sparse causal document mask keeps: a tile is
    computed whole when any of its pairs is allowed. T is padded up to a whole block, as
    FlexAttention does. Documents are contiguous, so a tile (i, j < i) is active iff the first
    query of block i and the last key of block j share a document."""
    if positions is None:
        B, T = shape
        positions = np.broadcast_to(np.arange(T), (B, T))
    positions = np.asarray(positions)
    B, T = positions.shape
    starts = positions == 0
    starts[:, 0] = True
    docs = np.cumsum(starts, axis=1)  # (B, T) document index within the row
    nb = -(-T // block)
    first = docs[:, ::block]  # (B, nb) document of each block's first token
    last = docs[:, np.minimum(np.arange(1, nb + 1) * block, T) - 1]  # (B, nb) ... of its last token
    below = np.tril(np.ones((nb, nb), dtype=bool), k=-1)  # (nb, nb) j < i
    active = below[None] & (first[:, :, None] == last[:, None, :])  # (B, nb, nb)
    tiles = int(active.sum()) + B * nb  # + the diagonal tiles, always active
    return tiles * block * block


def _doc_segments(positions: np.ndarray | None, shape: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(first position, length) of each row segment attention treats as a document."""
    if positions is None:
        B, T = shape
        return np.zeros(B, dtype=np.int64), np.full(B, T, dtype=np.int64)
    positions = np.asarray(positions)
    starts = positions == 0
    starts[:, 0] = True
    return positions.ravel()[np.flatnonzero(starts.ravel())].astype(np.int64), doc_lengths(positions).astype(np.int64)


def blocksparse_pairs(
    positions: np.ndarray | None,
    shape: tuple[int, int] | None = None,
    *,
    block_size: int,
    local_blocks: int,
    vert_stride: int,
    shift: int = 0,
) -> tuple[int, int]:
    """(allowed, computed) (query, key) pairs of one blocksparse layer: allowed = causal, same
    document and the block rule; computed = active (query block, key block) pairs x block^2,
    what the CPU path's SDPA calls run (blocks by position in the document, as the model).
    shift: the KV head's vertical-block shift (`BlocksparseConfig.shift`, head_sliding)."""
    allowed = computed = 0
    bs = block_size
    for p0, n in zip(*_doc_segments(positions, shape)):
        ub, cnt = np.unique(np.arange(p0, p0 + n) // bs, return_counts=True)  # (nb,) blocks, tokens in each
        qb, kb = ub[:, None], ub[None, :]
        act = (kb <= qb) & ((qb - kb < local_blocks) | ((kb + 1 + shift) % vert_stride == 0))  # (nb, nb)
        below = act & (kb < qb)
        allowed += int((cnt[:, None] * cnt[None, :] * below).sum() + (cnt * (cnt + 1) // 2).sum())
        computed += int(act.sum()) * bs * bs
    return allowed, computed


def model_attn_pairs(
    positions: np.ndarray | None, shape: tuple[int, int] | None, n_layers: int, blocksparse, n_kv_heads: int = 1
) -> float:
    """Allowed pairs per layer, averaged over the layers (dense ones: attn_pairs), so
    attn_flops(model_attn_pairs(...), n_layers, ...) counts a mixed dense/blocksparse model.
    blocksparse: a trainer.blocksparse.BlocksparseConfig or None; with head_sliding the KV heads'
    patterns differ, and a blocksparse layer counts their mean (every head of a group alike)."""
    dense = attn_pairs(positions, shape)
    if blocksparse is None:
        return float(dense)
    n_sparse = sum(blocksparse.is_sparse(i) for i in range(n_layers))
    heads = range(n_kv_heads if getattr(blocksparse, "head_sliding", False) else 1)
    sparse = sum(
        blocksparse_pairs(
            positions,
            shape,
            block_size=blocksparse.block_size,
            local_blocks=blocksparse.local_blocks,
            vert_stride=blocksparse.vert_stride,
            shift=blocksparse.shift(h),
        )[0]
        for h in heads
    ) / len(heads)
    return ((n_layers - n_sparse) * dense + n_sparse * sparse) / n_layers
