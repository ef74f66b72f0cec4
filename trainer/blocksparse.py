"""Block-sparse attention, phi-3-small style: a local window of blocks plus vertical-stride blocks.

Positions are cut into blocks of `block_size` by their position INSIDE the document
(position // block_size), so a document sees the same pattern packed or alone, and decoding
with a cache sees what training saw. Query block i reads key block j <= i when

    i - j < local_blocks          (the local window, the diagonal block included)
    or (j + 1) % vert_stride == 0 (every vert_stride-th block, phi-3-small's "vertical" blocks)

always intersected with causal + same-document. `every: n` keeps every n-th layer (n, 2n, ...)
dense, as phi-3-small's dense_attention_every_n_layers; 0 = every layer blocksparse.

`head_sliding` (phi-3-small's non-homogeneous heads, blocksparse_homo_head_pattern = False):
KV head h takes the vertical blocks shifted by h, `(j + 1 + h) % vert_stride == 0`, so the
heads jointly read every earlier block once n_kv_heads >= vert_stride (each residue mod
vert_stride is some head's); off (the default), all heads share one pattern. The shift is per
KV head, not per query head as in phi-3-small: the query heads of one GQA group then share
their KV head's pattern, so that KV head's cache keeps only ITS vertical blocks (per query
head, a KV head would have to keep the union of its group's, up to every block) and the CPU
path runs one SDPA per group, GQA intact. With n_kv_heads >= vert_stride the union over heads
covers every block; with fewer KV heads it covers n_kv_heads of the vert_stride residues
(phi-3-small, shifting per query head by max(1, vert_stride // n_heads), covers min(n_heads,
vert_stride) of them).

Three ways to run it, like trainer/attention.py's masks (built once per batch, shared by the
blocksparse layers; `attend(q, k, v)`, q (B, T, H, hd), k/v (B, T, KV, hd) -> (B, T, H, hd)):
- `BlocksparseMask` (CPU): tokens regrouped into blocks; each query block gathers only its
  active key blocks and runs one SDPA on them, query blocks with the same number of active
  key blocks batched together, so the cost is (active blocks) x block_size^2, not T^2.
- `SlidingBlocksparseMask` (CPU, head_sliding): one BlocksparseMask layout per distinct shift
  (KV head h mod vert_stride), each run on its KV heads and their query heads.
- `flex_mask`: FlexAttention with a mask_mod = document-causal AND blocksparse (GPU path); its
  `h` argument picks the (query head's KV head's) shift; tiles of block_size when torch allows.
- `dense_mask`: SDPA with the full boolean mask (one per KV head with head_sliding); the reference.
`BlocksparseKVCache` keeps, for a blocksparse layer, only the key blocks it can still read
(with head_sliding, each KV head its own).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from edumix.trainer.attention import (
    DenseMask,
    FlexMask,
    KVCache,
    _flex,
    _Regroup,
    _sdpa,
    doc_causal_mod,
    doc_starts,
)


@dataclass(frozen=True)
class BlocksparseConfig:
    block_size: int = 64
    local_blocks: int = 4
    vert_stride: int = 8
    every: int = 2  # every n-th layer (1-based n, 2n, ...) stays dense; 0 = all blocksparse
    head_sliding: bool = False  # KV head h's vertical blocks shifted by h (phi-3-small's non-homo heads)

    def __post_init__(self) -> None:
        if self.block_size < 1 or self.local_blocks < 1 or self.vert_stride < 1:
            raise ValueError(f"blocksparse needs block_size, local_blocks, vert_stride >= 1, got {self}")
        if self.every < 0 or self.every == 1:
            raise ValueError(
                f"blocksparse.every must be 0 (all layers) or >= 2 (1 would leave none sparse), got {self.every}"
            )

    def is_sparse(self, layer_idx: int) -> bool:
        return self.every == 0 or (layer_idx + 1) % self.every != 0

    def to_dict(self) -> dict:
        """head_sliding is written only when on, so the meta.json (and config hash) of a model
        without it reads as before the option."""
        d = asdict(self)
        if not self.head_sliding:
            d.pop("head_sliding")
        return d

    def shift(self, kv_head: int | Tensor) -> int | Tensor:
        """The vertical-block shift of KV head `kv_head` (0 for every head without head_sliding)."""
        return kv_head % self.vert_stride if self.head_sliding else 0


def block_active(qb: Tensor, kb: Tensor, sp: BlocksparseConfig, kv_head: int | Tensor = 0) -> Tensor:
    """Whether query block qb reads key block kb in KV head kv_head's pattern (broadcasting;
    causal at block level). kv_head only matters with head_sliding."""
    vert = (kb + 1 + sp.shift(kv_head)) % sp.vert_stride == 0
    return (kb <= qb) & ((qb - kb < sp.local_blocks) | vert)


def allowed(q_pos: Tensor, k_pos: Tensor, sp: BlocksparseConfig, kv_head: int | Tensor = 0) -> Tensor:
    """Causal + blocksparse for positions of ONE document (broadcasting), without the
    document test, in KV head kv_head's pattern. What a static-cache decoder
    (trainer/generate.py) ANDs into its mask."""
    bs = sp.block_size
    return (k_pos <= q_pos) & block_active(q_pos // bs, k_pos // bs, sp, kv_head)


def kv_heads_of_query_heads(n_heads: int, n_kv_heads: int, device: torch.device | str = "cpu") -> Tensor:
    """(H,) the KV head each query head reads under GQA (SDPA's enable_gqa: h // (H / KV))."""
    return torch.arange(n_heads, device=device) // (n_heads // n_kv_heads)


def pattern_heads(sp: BlocksparseConfig, n_kv_heads: int) -> int:
    """How many KV-head patterns a layer has: n_kv_heads with head_sliding, else 1 (shared)."""
    return n_kv_heads if sp.head_sliding else 1


def _positions(positions: Tensor | None, T: int, device: torch.device) -> Tensor:
    return torch.arange(T, device=device)[None] if positions is None else positions  # (B or 1, T)


@dataclass
class KVHeadDenseMask(DenseMask):
    """DenseMask with one (T, T) mask per KV head, (B, KV, T, T): repeated over each KV head's
    query heads at attend (SDPA broadcasts a mask over heads, never from KV to query heads)."""

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return _sdpa(q, k, v, attn_mask=self.mask.repeat_interleave(q.shape[2] // self.mask.shape[1], 1))


def dense_mask(
    positions: Tensor | None, T: int, device: torch.device, sp: BlocksparseConfig, n_kv_heads: int = 1
) -> DenseMask:
    """The reference: causal AND same document AND blocksparse as one (B, 1, T, T) mask, or
    with head_sliding one per KV head, (B, KV, T, T)."""
    pos = _positions(positions, T, device)
    m = DenseMask.from_positions(pos).mask  # (B, 1, T, T)
    if not sp.head_sliding:
        return DenseMask(m & allowed(pos[:, :, None], pos[:, None, :], sp)[:, None])
    h = torch.arange(n_kv_heads, device=device)[None, :, None, None]  # (1, KV, 1, 1)
    return KVHeadDenseMask(m & allowed(pos[:, None, :, None], pos[:, None, None, :], sp, h))  # (B, KV, T, T)


def sparse_mod(positions: Tensor | None, sp: BlocksparseConfig, group: int = 1):
    """FlexAttention mask_mod of the blocksparse part alone (and_masks it with the document mask,
    whose causality block_active's block-level test repeats harmlessly). h is the query head;
    with head_sliding its KV head h // group (group = n_heads / n_kv_heads) sets the shift."""
    bs = sp.block_size

    def mod(b, h, q, kv):
        qp, kp = (q, kv) if positions is None else (positions[b, q], positions[b, kv])
        return block_active(qp // bs, kp // bs, sp, h // group)

    return mod


def flex_block_size(sp: BlocksparseConfig) -> dict:
    """create_block_mask's BLOCK_SIZE: the blocksparse block when it is a multiple of 128 (torch's
    flex kernels need it divisible by their tiles, powers of two up to 128); else torch's default."""
    return {"BLOCK_SIZE": sp.block_size} if sp.block_size % 128 == 0 else {}


def flex_mask(
    positions: Tensor | None,
    T: int,
    device: torch.device,
    sp: BlocksparseConfig,
    n_heads: int = 1,
    n_kv_heads: int = 1,
) -> FlexMask:
    """FlexAttention: the document-causal mask_mod and the blocksparse one, composed. With
    head_sliding the block mask has one pattern per query head (H = n_heads), else H broadcasts."""
    from torch.nn.attention.flex_attention import and_masks

    B = None if positions is None else positions.shape[0]
    H = n_heads if sp.head_sliding else None
    mod = and_masks(doc_causal_mod(positions), sparse_mod(positions, sp, n_heads // n_kv_heads))
    create = _flex("create_block_mask", device.type == "cuda")
    return FlexMask(create(mod, B, H, T, T, device=device, **flex_block_size(sp)))


@dataclass
class BlocksparseMask:
    """The CPU path. Each document is laid out in whole blocks (G blocks of bs slots in all):
    left-padded by position % bs when a row starts inside it, right-padded to a whole block.
    Pads are zero vectors, masked as keys; a pad query sees itself (no all-masked NaN row)
    and its output is dropped. Slots are ordered by group: query blocks with the same number c
    of active key blocks are contiguous, so a group is one SDPA of (n, bs) queries against
    (n, c*bs) gathered keys."""

    bs: int
    groups: list[tuple[int, int]]  # (n query blocks, c active key blocks each), in slot order
    keys: list[Tensor]  # per group (n*c,) slot-order block of each active key block
    masks: list[Tensor]  # per group (n, 1, bs, c*bs) bool
    gather: Tensor  # (S,) source token of each slot (pads point anywhere)
    pads: Tensor  # (P,) slots that are padding
    inverse: Tensor  # (B*T,) slot of each token
    none: Tensor  # (0,)
    active_blocks: int  # (query block, key block) pairs computed
    total_blocks: int  # query blocks (G)
    rows: int  # rows the layout was built for; 1 (positions None) serves any batch

    @property
    def pairs(self) -> int:
        """(query, key) pairs SDPA computes: active blocks x bs^2."""
        return self.active_blocks * self.bs * self.bs

    @classmethod
    def from_positions(
        cls, positions: Tensor | None, T: int, device: torch.device, sp: BlocksparseConfig, kv_head: int = 0
    ):
        """The layout of KV head kv_head's pattern (all heads' without head_sliding)."""
        pos = _positions(positions, T, device)
        B = pos.shape[0]
        bs = sp.block_size
        first = doc_starts(pos).flatten().nonzero().squeeze(1)  # (D,) flat index of each document start
        n = torch.diff(first, append=first.new_tensor([B * T]))  # (D,) lengths
        p0 = pos.flatten()[first]  # (D,) position of each document's first token (0 unless cut by a row)
        lp = p0 % bs  # (D,) left pad
        nblk = (lp + n + bs - 1) // bs  # (D,)
        dg = torch.repeat_interleave(torch.arange(len(first), device=device), nblk)  # (G,) document of each block
        G = dg.numel()
        off = torch.cumsum(nblk, 0) - nblk  # (D,) first block of each document
        lb = torch.arange(G, device=device) - off[dg]  # (G,) block within the document
        ab = p0[dg] // bs + lb  # (G,) block index by position (what the pattern uses)
        # the (G, G) block pattern: same document, causal, local window or vertical stride
        act = (dg[:, None] == dg[None, :]) & block_active(ab[:, None], ab[None, :], sp, kv_head)  # (G, G)
        count = act.sum(1)  # (G,) active key blocks per query block
        order = torch.argsort(count, stable=True)  # (G,) slot order: grouped by count
        rank = torch.empty_like(order)
        rank[order] = torch.arange(G, device=device)
        # slots in slot order: block order[g], offset u
        u = lb[order, None] * bs + torch.arange(bs, device=device)  # (G, bs) offset inside the document's layout
        d = dg[order, None]  # (G, 1)
        tok = u - lp[d]  # (G, bs) token offset inside the document
        valid = ((tok >= 0) & (tok < n[d])).flatten()  # (S,)
        gather = (first[d] + tok).flatten().clamp(0, B * T - 1)  # (S,)
        inverse = torch.empty(B * T, dtype=torch.long, device=device)
        inverse[gather[valid]] = valid.nonzero().squeeze(1)
        ar = torch.arange(bs, device=device)
        diag = (ar[None, :] <= ar[:, None]) | torch.eye(bs, dtype=torch.bool, device=device)  # (bs, bs)
        groups, keys, masks = [], [], []
        counts = count[order]
        start = 0
        for c, nq in zip(*torch.unique_consecutive(counts, return_counts=True)):
            c, nq = int(c), int(nq)
            qblk = order[start : start + nq]  # (n,) original block ids of the group's query blocks
            kblk = rank[act[qblk].nonzero()[:, 1]].view(nq, c)  # (n, c) slot-order key blocks, ascending, diagonal last
            kv_valid = valid.view(G, bs)[kblk].view(nq, 1, 1, c * bs)  # (n, 1, 1, c*bs)
            m = kv_valid.expand(nq, 1, bs, c * bs).clone()  # (n, 1, bs, c*bs)
            m[..., (c - 1) * bs :] &= diag
            m[..., (c - 1) * bs :] |= torch.eye(bs, dtype=torch.bool, device=device)
            groups.append((nq, c))
            keys.append(kblk.flatten())
            masks.append(m)
            start += nq
        none = torch.empty(0, dtype=torch.long, device=device)
        pads = (~valid).nonzero().squeeze(1)
        return cls(bs, groups, keys, masks, gather, pads, inverse, none, int(act.sum()), G, B)

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        B, T, H, hd = q.shape
        if self.rows == 1 and B > 1:  # one pattern for all rows: fold the batch into the heads

            def fold(x: Tensor) -> Tensor:  # (B, T, h, hd) -> (1, T, B*h, hd)
                return x.transpose(0, 1).reshape(1, T, B * x.shape[2], hd)

            y = self.attend(fold(q), fold(k), fold(v))  # GQA still pairs query head b*H+h with kv head b*KV+h//(H/KV)
            return y.view(T, B, H, hd).transpose(0, 1)  # (B, T, H, hd)
        KV, bs = k.shape[2], self.bs

        def regroup(x: Tensor) -> Tensor:  # (B, T, h, hd) -> (G, bs, h, hd)
            y = _Regroup.apply(x.reshape(B * T, *x.shape[2:]), self.gather, self.pads, self.inverse, self.none)
            return y.view(-1, bs, *x.shape[2:])

        qs, ks, vs = regroup(q), regroup(k), regroup(v)  # (G, bs, H, hd), (G, bs, KV, hd) x2
        outs, off = [], 0
        for (nq, c), kblk, mask in zip(self.groups, self.keys, self.masks):
            kg = ks.index_select(0, kblk).view(nq, c * bs, KV, hd)  # (n, c*bs, KV, hd): the active key blocks
            vg = vs.index_select(0, kblk).view(nq, c * bs, KV, hd)
            outs.append(_sdpa(qs[off : off + nq], kg, vg, attn_mask=mask))  # (n, bs, H, hd)
            off += nq
        y = (torch.cat(outs) if len(outs) > 1 else outs[0]).view(-1, H, hd)  # (S, H, hd)
        y = _Regroup.apply(y, self.inverse, self.none, self.gather, self.pads)  # (B*T, H, hd)
        return y.view(B, T, H, hd)


@dataclass
class SlidingBlocksparseMask:
    """The CPU path with head_sliding: one BlocksparseMask layout per distinct shift (KV head h
    mod vert_stride), each attending its KV heads and their query heads (GQA groups stay
    whole), the outputs put back in head order. The cost is each KV head's active blocks."""

    layouts: list[BlocksparseMask]  # per distinct shift
    kv_heads: list[Tensor]  # per layout, (n,) the KV heads it serves
    q_heads: list[Tensor]  # per layout, (n * H/KV,) their query heads, grouped as the KV heads
    inverse: Tensor  # (H,) where each query head lands in the layouts' concatenated output
    n_heads: int
    n_kv_heads: int

    @classmethod
    def from_positions(
        cls,
        positions: Tensor | None,
        T: int,
        device: torch.device,
        sp: BlocksparseConfig,
        n_heads: int,
        n_kv_heads: int,
    ) -> SlidingBlocksparseMask:
        group = n_heads // n_kv_heads
        shifts = [int(sp.shift(h)) for h in range(n_kv_heads)]
        layouts, kv_heads, q_heads = [], [], []
        for s in sorted(set(shifts)):
            kvh = torch.tensor([h for h in range(n_kv_heads) if shifts[h] == s], device=device)
            layouts.append(BlocksparseMask.from_positions(positions, T, device, sp, kv_head=s))
            kv_heads.append(kvh)
            q_heads.append((kvh[:, None] * group + torch.arange(group, device=device)).flatten())
        inverse = torch.empty(n_heads, dtype=torch.long, device=device)
        inverse[torch.cat(q_heads)] = torch.arange(n_heads, device=device)
        return cls(layouts, kv_heads, q_heads, inverse, n_heads, n_kv_heads)

    @property
    def bs(self) -> int:
        return self.layouts[0].bs

    @property
    def total_blocks(self) -> int:
        return self.layouts[0].total_blocks

    @property
    def head_active_blocks(self) -> list[int]:
        """(query block, key block) pairs computed for each KV head."""
        per = [0] * self.n_kv_heads
        for layout, kvh in zip(self.layouts, self.kv_heads):
            for h in kvh.tolist():
                per[h] = layout.active_blocks
        return per

    @property
    def active_blocks(self) -> float:
        """Active block pairs per KV head, averaged over them (BlocksparseMask's per-head count)."""
        return sum(self.head_active_blocks) / self.n_kv_heads

    @property
    def pairs(self) -> float:
        """(query, key) pairs SDPA computes per KV head, averaged: active blocks x bs^2."""
        return self.active_blocks * self.bs * self.bs

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        if q.shape[2] != self.n_heads or k.shape[2] != self.n_kv_heads:
            raise ValueError(
                f"mask built for {self.n_heads} query / {self.n_kv_heads} KV heads, got {q.shape[2]} / {k.shape[2]}"
            )
        if len(self.layouts) == 1:
            return self.layouts[0].attend(q, k, v)
        outs = [
            layout.attend(q.index_select(2, qh), k.index_select(2, kvh), v.index_select(2, kvh))
            for layout, kvh, qh in zip(self.layouts, self.kv_heads, self.q_heads)
        ]  # each (B, T, n * H/KV, hd)
        return torch.cat(outs, 2).index_select(2, self.inverse)  # (B, T, H, hd)


def cpu_mask(
    positions: Tensor | None, T: int, device: torch.device, sp: BlocksparseConfig, n_heads: int, n_kv_heads: int
) -> BlocksparseMask | SlidingBlocksparseMask:
    """The CPU path's mask: one shared layout, or with head_sliding one per KV-head shift."""
    if sp.head_sliding:
        return SlidingBlocksparseMask.from_positions(positions, T, device, sp, n_heads, n_kv_heads)
    return BlocksparseMask.from_positions(positions, T, device, sp)


def build_blocksparse_mask(
    positions: Tensor | None,
    impl: str,
    T: int,
    device: torch.device,
    sp: BlocksparseConfig,
    n_heads: int | None = None,
    n_kv_heads: int | None = None,
):
    """The blocksparse layers' mask for one batch (impl as trainer.attention.build_mask).
    n_heads / n_kv_heads: the layer's heads, needed with head_sliding (the pattern is per KV head)."""
    if sp.head_sliding and (n_heads is None or n_kv_heads is None):
        raise ValueError("blocksparse head_sliding needs n_heads and n_kv_heads to build its mask")
    n_heads, n_kv_heads = n_heads or 1, n_kv_heads or 1
    if impl == "auto":
        impl = "flex" if device.type == "cuda" else "docs"
    if impl == "flex":
        return flex_mask(positions, T, device, sp, n_heads, n_kv_heads)
    if impl == "dense":
        return dense_mask(positions, T, device, sp, n_kv_heads)
    return cpu_mask(positions, T, device, sp, n_heads, n_kv_heads)


# --------------------------------------------------------------------------- KV cache


def cache_slots(max_len: int, sp: BlocksparseConfig, n_kv_heads: int = 1) -> int:
    """Token slots a blocksparse layer's static cache needs (per KV head) for sequences up to
    max_len: a ring of local_blocks blocks plus one block per vertical block (never evicted);
    max_len if that is not smaller. With head_sliding, the KV head with the most vertical blocks
    sets it (shift s has (blocks + s) // vert_stride of them)."""
    nb = -(-max_len // sp.block_size)
    vert = max((nb + int(sp.shift(h))) // sp.vert_stride for h in range(pattern_heads(sp, n_kv_heads)))
    return min(max_len, (sp.local_blocks + vert) * sp.block_size)


def kv_tokens_needed(length: int, sp: BlocksparseConfig, kv_head: int = 0) -> int:
    """Cached tokens the next query (at position `length`) and all later ones can still read,
    of the `length` a dense layer keeps: the local window's blocks and earlier vertical blocks
    (KV head kv_head's with head_sliding)."""
    if length == 0:
        return 0
    bs, i = sp.block_size, length // sp.block_size  # i: the next query's block
    j = torch.arange(-(-length // bs))
    keep = (i - j < sp.local_blocks) | ((j + 1 + sp.shift(kv_head)) % sp.vert_stride == 0)
    return int((torch.clamp(length - j * bs, max=bs) * keep).sum())


def kv_bytes(cfg, batch: int, length: int, dtype_bytes: int = 2) -> tuple[int, int]:
    """(dense, this model's) K+V cache bytes at `length` tokens, from a ModelConfig; with
    head_sliding each KV head counts the tokens of its own pattern."""
    per_tok = 2 * batch * cfg.head_dim * dtype_bytes  # K and V of one token in one KV head
    sp = cfg.blocksparse
    dense_layer = length * cfg.n_kv_heads * per_tok
    if sp is None:
        return cfg.n_layers * dense_layer, cfg.n_layers * dense_layer
    n_sparse = sum(sp.is_sparse(i) for i in range(cfg.n_layers))
    sparse_layer = sum(kv_tokens_needed(length, sp, h) for h in range(cfg.n_kv_heads)) * per_tok  # over KV heads
    return cfg.n_layers * dense_layer, (cfg.n_layers - n_sparse) * dense_layer + n_sparse * sparse_layer


class BlocksparseKVCache(KVCache):
    """KVCache whose blocksparse layers hold cache_slots(max_len) tokens instead of max_len:
    non-vertical blocks live in a ring of local_blocks blocks (block j in ring block
    j % local_blocks, overwritten once j leaves the window), vertical blocks in their own slots.
    With head_sliding each KV head places its own vertical blocks (its own slot map), so a KV
    head keeps its pattern's blocks only. `slot_pos` (per layer, (patterns, slots): the position
    each slot holds, -1 empty; one row, or one per KV head with head_sliding) turns the rule
    into a mask per step. A prefill from empty runs the CPU blocksparse path on the prompt and
    keeps only the blocks still needed; later tokens go one at a time (a decode step reads
    cache_slots keys)."""

    supports_blocksparse = True

    def __init__(self, n_layers, batch, n_kv_heads, max_len, head_dim, sp, dtype=torch.float32, device="cpu"):
        self.sp, self.max_len, self.length, self.n_kv_heads = sp, max_len, 0, n_kv_heads
        self.slots = cache_slots(max_len, sp, n_kv_heads)
        self.ring = self.slots < max_len  # False: short max_len, position p stays in slot p
        self.sparse = [sp.is_sparse(i) for i in range(n_layers)]
        self.heads = torch.arange(pattern_heads(sp, n_kv_heads), device=device)[:, None]  # (P, 1) pattern heads
        shapes = [(batch, n_kv_heads, self.slots if s else max_len, head_dim) for s in self.sparse]
        self.k = [torch.zeros(sh, dtype=dtype, device=device) for sh in shapes]
        self.v = [torch.zeros(sh, dtype=dtype, device=device) for sh in shapes]
        # per layer: a chunk runs layer by layer, so layers hold different positions mid-chunk
        self.slot_pos = [
            torch.full((len(self.heads), self.slots), -1, dtype=torch.long, device=device) for _ in shapes
        ]  # (P, slots)
        self._prefill: tuple[int, BlocksparseMask | SlidingBlocksparseMask] | None = None

    def slot_of(self, p: Tensor, kv_head: int | Tensor = 0) -> Tensor:
        """Cache slot of positions p in KV head kv_head's slot map (broadcasting)."""
        if not self.ring:
            return p
        bs, sp = self.sp.block_size, self.sp
        j, r, s = p // bs, p % bs, sp.shift(kv_head)
        vert = (j + 1 + s) % sp.vert_stride == 0
        vslot = sp.local_blocks + (j + 1 + s) // sp.vert_stride - 1  # 0-based among this head's vertical blocks
        return torch.where(vert, vslot * bs, (j % sp.local_blocks) * bs) + r

    def _write(self, layer: int, p: Tensor, k: Tensor, v: Tensor, head: int | None = None) -> None:
        # p (n,) positions, k/v (B, n, KV, hd); head: write pattern head `head` only (with
        # head_sliding: KV head `head`), else every pattern head
        if not self.sp.head_sliding:  # one slot map for all KV heads
            slots = self.slot_of(p)
            self.k[layer].index_copy_(2, slots, k.transpose(1, 2))
            self.v[layer].index_copy_(2, slots, v.transpose(1, 2))
            self.slot_pos[layer][0, slots] = p
            return
        for h in range(len(self.heads)) if head is None else (head,):
            slots = self.slot_of(p, h)
            self.k[layer][:, h].index_copy_(1, slots, k[:, :, h])  # (B, slots, hd) view of KV head h
            self.v[layer][:, h].index_copy_(1, slots, v[:, :, h])
            self.slot_pos[layer][h, slots] = p

    def attend(self, layer: int, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        if not self.sparse[layer]:
            return super().attend(layer, q, k, v)
        s, t = self.length, q.shape[1]
        if s + t > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} tokens, asked for {s + t}")
        dev = q.device
        if s == 0 and t > 1:  # prefill: the CPU blocksparse path on the prompt, then keep what is still read
            if self._prefill is None or self._prefill[0] != t:
                self._prefill = (t, cpu_mask(None, t, dev, self.sp, q.shape[2], self.n_kv_heads))
            y = self._prefill[1].attend(q, k, v)  # (B, t, H, hd)
            p = torch.arange(t, device=dev)
            j, i = p // self.sp.block_size, t // self.sp.block_size  # i: the next token's block
            keep = block_active(torch.tensor(i, device=dev), j, self.sp, self.heads) | (not self.ring)
            keep = keep.expand(len(self.heads), t)  # (P, t)
            for h in range(len(self.heads)):  # each pattern head keeps its own blocks
                self._write(layer, p[keep[h]], k[:, keep[h]], v[:, keep[h]], head=h if self.sp.head_sliding else None)
            return y
        return torch.cat(
            [self._step(layer, q[:, i : i + 1], k[:, i : i + 1], v[:, i : i + 1], s + i) for i in range(t)], 1
        )

    def readable(self, layer: int) -> Tensor:
        """(P, slots) which slots the next token (at `length`) and later ones may still read."""
        sp_pos = self.slot_pos[layer]
        i = torch.tensor(self.length // self.sp.block_size, device=sp_pos.device)  # the next token's block
        return (sp_pos >= 0) & block_active(i, sp_pos // self.sp.block_size, self.sp, self.heads)

    def _step(self, layer: int, q: Tensor, k: Tensor, v: Tensor, p: int) -> Tensor:
        """One token at position p: q (B, 1, H, hd) -> (B, 1, H, hd) over the slots it reads."""
        self._write(layer, torch.tensor([p], device=q.device), k, v)
        sp_pos = self.slot_pos[layer]  # (P, slots)
        mask = (sp_pos >= 0) & allowed(torch.tensor(p, device=q.device), sp_pos, self.sp, self.heads)  # (P, slots)
        mask = mask.repeat_interleave(q.shape[2] // len(self.heads), 0) if len(self.heads) > 1 else mask  # (H or 1, S)
        y = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), self.k[layer], self.v[layer], attn_mask=mask[None, :, None], enable_gqa=True
        )
        return y.transpose(1, 2)  # (B, 1, H, hd)
