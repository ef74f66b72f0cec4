"""Block-sparse attention, phi-3-small style: a local window of blocks plus vertical-stride blocks.

Positions are cut into blocks of `block_size` by their position INSIDE the document
(position // block_size), so a document sees the same pattern packed or alone, and decoding
with a cache sees what training saw. Query block i reads key block j <= i when

    i - j < local_blocks          (the local window, the diagonal block included)
    or (j + 1) % vert_stride == 0 (every vert_stride-th block, phi-3-small's "vertical" blocks)

always intersected with causal + same-document. `every: n` keeps every n-th layer (n, 2n, ...)
dense, as phi-3-small's dense_attention_every_n_layers; 0 = every layer blocksparse. All
heads share one pattern (phi-3-small can also slide the vertical blocks per head; not here).

Three ways to run it, like trainer/attention.py's masks (built once per batch, shared by the
blocksparse layers; `attend(q, k, v)`, q (B, T, H, hd), k/v (B, T, KV, hd) -> (B, T, H, hd)):
- `BlocksparseMask` (CPU): tokens regrouped into blocks; each query block gathers only its
  active key blocks and runs one SDPA on them, query blocks with the same number of active
  key blocks batched together, so the cost is (active blocks) x block_size^2, not T^2.
- `flex_mask`: FlexAttention with a mask_mod = document-causal AND blocksparse (GPU path).
- `dense_mask`: SDPA with the full boolean mask; the reference.
`BlocksparseKVCache` keeps, for a blocksparse layer, only the key blocks it can still read.
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
        return asdict(self)


def block_active(qb: Tensor, kb: Tensor, sp: BlocksparseConfig) -> Tensor:
    """Whether query block qb reads key block kb (broadcasting; causal at block level)."""
    return (kb <= qb) & ((qb - kb < sp.local_blocks) | ((kb + 1) % sp.vert_stride == 0))


def allowed(q_pos: Tensor, k_pos: Tensor, sp: BlocksparseConfig) -> Tensor:
    """Causal + blocksparse for positions of ONE document (broadcasting), without the
    document test. What a static-cache decoder (trainer/generate.py) ANDs into its mask."""
    bs = sp.block_size
    return (k_pos <= q_pos) & block_active(q_pos // bs, k_pos // bs, sp)


def _positions(positions: Tensor | None, T: int, device: torch.device) -> Tensor:
    return torch.arange(T, device=device)[None] if positions is None else positions  # (B or 1, T)


def dense_mask(positions: Tensor | None, T: int, device: torch.device, sp: BlocksparseConfig) -> DenseMask:
    """The reference: causal AND same document AND blocksparse as one (B, 1, T, T) mask."""
    pos = _positions(positions, T, device)
    m = DenseMask.from_positions(pos).mask  # (B, 1, T, T)
    return DenseMask(m & allowed(pos[:, :, None], pos[:, None, :], sp)[:, None])


def sparse_mod(positions: Tensor | None, sp: BlocksparseConfig):
    """FlexAttention mask_mod of the blocksparse part alone (and_masks it with the document mask)."""
    bs, local, vs = sp.block_size, sp.local_blocks, sp.vert_stride

    def mod(b, h, q, kv):
        qp, kp = (q, kv) if positions is None else (positions[b, q], positions[b, kv])
        qb, kb = qp // bs, kp // bs
        return (qb - kb < local) | ((kb + 1) % vs == 0)

    return mod


def flex_mask(positions: Tensor | None, T: int, device: torch.device, sp: BlocksparseConfig) -> FlexMask:
    """FlexAttention: the document-causal mask_mod and the blocksparse one, composed."""
    from torch.nn.attention.flex_attention import and_masks

    B = None if positions is None else positions.shape[0]
    mod = and_masks(doc_causal_mod(positions), sparse_mod(positions, sp))
    return FlexMask(_flex("create_block_mask", device.type == "cuda")(mod, B, None, T, T, device=device))


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
    def from_positions(cls, positions: Tensor | None, T: int, device: torch.device, sp: BlocksparseConfig):
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
        act = (dg[:, None] == dg[None, :]) & block_active(ab[:, None], ab[None, :], sp)  # (G, G)
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


def build_blocksparse_mask(positions: Tensor | None, impl: str, T: int, device: torch.device, sp: BlocksparseConfig):
    """The blocksparse layers' mask for one batch (impl as trainer.attention.build_mask)."""
    if impl == "auto":
        impl = "flex" if device.type == "cuda" else "docs"
    if impl == "flex":
        return flex_mask(positions, T, device, sp)
    if impl == "dense":
        return dense_mask(positions, T, device, sp)
    return BlocksparseMask.from_positions(positions, T, device, sp)


# --------------------------------------------------------------------------- KV cache


def cache_slots(max_len: int, sp: BlocksparseConfig) -> int:
    """Token slots a blocksparse layer's static cache needs for sequences up to max_len: a ring
    of local_blocks blocks plus one block per vertical block (never evicted); max_len if that
    is not smaller."""
    nb = -(-max_len // sp.block_size)
    return min(max_len, (sp.local_blocks + nb // sp.vert_stride) * sp.block_size)


def kv_tokens_needed(length: int, sp: BlocksparseConfig) -> int:
    """Cached tokens the next query (at position `length`) and all later ones can still read,
    of the `length` a dense layer keeps: the local window's blocks and earlier vertical blocks."""
    if length == 0:
        return 0
    bs, i = sp.block_size, length // sp.block_size  # i: the next query's block
    j = torch.arange(-(-length // bs))
    keep = (i - j < sp.local_blocks) | ((j + 1) % sp.vert_stride == 0)
    return int((torch.clamp(length - j * bs, max=bs) * keep).sum())


def kv_bytes(cfg, batch: int, length: int, dtype_bytes: int = 2) -> tuple[int, int]:
    """(dense, this model's) K+V cache bytes at `length` tokens, from a ModelConfig."""
    per_tok = 2 * batch * cfg.n_kv_heads * cfg.head_dim * dtype_bytes
    sp = cfg.blocksparse
    dense = cfg.n_layers * length * per_tok
    if sp is None:
        return dense, dense
    n_sparse = sum(sp.is_sparse(i) for i in range(cfg.n_layers))
    return dense, (cfg.n_layers - n_sparse) * length * per_tok + n_sparse * kv_tokens_needed(length, sp) * per_tok


class BlocksparseKVCache(KVCache):
    """KVCache whose blocksparse layers hold cache_slots(max_len) tokens instead of max_len:
    non-vertical blocks live in a ring of local_blocks blocks (block j in ring block
    j % local_blocks, overwritten once j leaves the window), vertical blocks in their own slots.
    `slot_pos` (per layer, the position each slot holds, -1 empty) turns the rule into a mask per step.
    A prefill from empty runs the CPU blocksparse path on the prompt and keeps only the blocks
    still needed; later tokens go one at a time (a decode step reads cache_slots keys)."""

    supports_blocksparse = True

    def __init__(self, n_layers, batch, n_kv_heads, max_len, head_dim, sp, dtype=torch.float32, device="cpu"):
        self.sp, self.max_len, self.length = sp, max_len, 0
        self.slots = cache_slots(max_len, sp)
        self.ring = self.slots < max_len  # False: short max_len, position p stays in slot p
        self.sparse = [sp.is_sparse(i) for i in range(n_layers)]
        shapes = [(batch, n_kv_heads, self.slots if s else max_len, head_dim) for s in self.sparse]
        self.k = [torch.zeros(sh, dtype=dtype, device=device) for sh in shapes]
        self.v = [torch.zeros(sh, dtype=dtype, device=device) for sh in shapes]
        # per layer: a chunk runs layer by layer, so layers hold different positions mid-chunk
        self.slot_pos = [torch.full((self.slots,), -1, dtype=torch.long, device=device) for _ in shapes]  # (slots,)
        self._prefill: tuple[int, BlocksparseMask] | None = None

    def slot_of(self, p: Tensor) -> Tensor:
        """Cache slot of positions p."""
        if not self.ring:
            return p
        bs, sp = self.sp.block_size, self.sp
        j, r = p // bs, p % bs
        vert = (j + 1) % sp.vert_stride == 0
        return torch.where(vert, (sp.local_blocks + (j + 1) // sp.vert_stride - 1) * bs, (j % sp.local_blocks) * bs) + r

    def _write(self, layer: int, p: Tensor, k: Tensor, v: Tensor) -> None:
        # p (n,) positions, k/v (B, n, KV, hd)
        slots = self.slot_of(p)
        self.k[layer].index_copy_(2, slots, k.transpose(1, 2))
        self.v[layer].index_copy_(2, slots, v.transpose(1, 2))
        self.slot_pos[layer][slots] = p

    def attend(self, layer: int, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        if not self.sparse[layer]:
            return super().attend(layer, q, k, v)
        s, t = self.length, q.shape[1]
        if s + t > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} tokens, asked for {s + t}")
        dev = q.device
        if s == 0 and t > 1:  # prefill: the CPU blocksparse path on the prompt, then keep what is still read
            if self._prefill is None or self._prefill[0] != t:
                self._prefill = (t, BlocksparseMask.from_positions(None, t, dev, self.sp))
            y = self._prefill[1].attend(q, k, v)  # (B, t, H, hd)
            p = torch.arange(t, device=dev)
            j, i = p // self.sp.block_size, t // self.sp.block_size  # i: the next token's block
            keep = block_active(torch.tensor(i, device=dev), j, self.sp) | ~torch.tensor(self.ring, device=dev)
            self._write(layer, p[keep], k[:, keep], v[:, keep])
            return y
        return torch.cat(
            [self._step(layer, q[:, i : i + 1], k[:, i : i + 1], v[:, i : i + 1], s + i) for i in range(t)], 1
        )

    def _step(self, layer: int, q: Tensor, k: Tensor, v: Tensor, p: int) -> Tensor:
        """One token at position p: q (B, 1, H, hd) -> (B, 1, H, hd) over the slots it reads."""
        self._write(layer, torch.tensor([p], device=q.device), k, v)
        sp_pos = self.slot_pos[layer]
        mask = (sp_pos >= 0) & allowed(torch.tensor(p, device=q.device), sp_pos, self.sp)  # (slots,)
        y = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), self.k[layer], self.v[layer], attn_mask=mask[None, None, None], enable_gqa=True
        )
        return y.transpose(1, 2)  # (B, 1, H, hd)
