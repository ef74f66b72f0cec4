"""Causal attention over packed batches where no token may see another document.

A row of a training batch holds several documents back to back; `positions` restarts at 0
at each one. Every mask below is built ONCE per batch (in `Transformer.forward`) and shared
by all layers; each has `attend(q, k, v)` with q (B, T, H, hd), k/v (B, T, KV, hd) and
returns (B, T, H, hd). KV heads are never copied: SDPA / FlexAttention get `enable_gqa`.

- `DocsMask` ("docs", the CPU path): cuts rows at document starts and runs one causal SDPA
  per group of documents of (nearly) equal length, so the cost is sum(doc_len^2), not T^2,
  and autograd works (FlexAttention has no CPU backward).
- `FlexMask` ("flex", the GPU path): compiled FlexAttention with a block-sparse BlockMask.
- `DenseMask` ("dense"): SDPA with the full (T, T) block-diagonal causal mask; the reference.
- `KVCache`: the static cache used by `trainer.generate` (prefill, then one token a step).

Blocksparse layers (phi-3-small's local + vertical-stride blocks) have their own masks and
cache in trainer/blocksparse.py, built on the pieces here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

ATTN_IMPLS = ("auto", "docs", "flex", "dense")


def _sdpa(q: Tensor, k: Tensor, v: Tensor, **kw) -> Tensor:
    """SDPA in the token-major layout: (N, L, H, hd) in and out."""
    y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), enable_gqa=True, **kw)
    return y.transpose(1, 2)  # (N, L, H, hd)


def doc_starts(positions: Tensor) -> Tensor:
    """(B, T) True where a document starts; a row always starts one."""
    starts = positions == 0
    starts[:, 0] = True
    return starts


def doc_ids(positions: Tensor) -> Tensor:
    """(B, T) index of each token's document within its row."""
    return doc_starts(positions).cumsum(dim=1)  # (B, T)


class CausalMask:
    """One document per row: plain causal SDPA (the flash kernel skips the upper triangle)."""

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return _sdpa(q, k, v, is_causal=True)


@dataclass
class DenseMask:
    mask: Tensor  # (B, 1, T, T) bool, True = may attend

    @classmethod
    def from_positions(cls, positions: Tensor) -> DenseMask:
        docs = doc_ids(positions)  # (B, T)
        T = positions.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=positions.device).tril()  # (T, T)
        return cls(((docs[:, :, None] == docs[:, None, :]) & causal)[:, None])

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return _sdpa(q, k, v, attn_mask=self.mask)


def bucket_length(n: int) -> int:
    """Round a document length up to one of ~8 sizes per octave (at least 16), so a batch
    of ragged documents needs few SDPA calls while padding adds at most ~25% to each."""
    step = max(16, 1 << max(0, n.bit_length() - 3))
    return -(-n // step) * step


class _Regroup(torch.autograd.Function):
    """y = x[idx] with rows `zero` set to 0, where each row of x lands in exactly one other row
    of y. Its gradient is then again such a gather (back_idx, back_zero) instead of
    index_select's scatter-add backward, which is slow on CPU."""

    @staticmethod
    def forward(ctx, x: Tensor, idx: Tensor, zero: Tensor, back_idx: Tensor, back_zero: Tensor) -> Tensor:
        ctx.save_for_backward(back_idx, back_zero)
        return _gather_rows(x, idx, zero)

    @staticmethod
    def backward(ctx, grad: Tensor):
        back_idx, back_zero = ctx.saved_tensors
        return _gather_rows(grad, back_idx, back_zero), None, None, None, None


def _gather_rows(x: Tensor, idx: Tensor, zero: Tensor) -> Tensor:
    y = x.index_select(0, idx)
    return y.index_fill_(0, zero, 0) if zero.numel() else y


@dataclass
class DocsMask:
    """Documents regrouped into (n, L) blocks of equal padded length L. Right padding (zero
    vectors) is exact under a causal mask: real queries never reach the padded keys at the
    end of their block, and the padded queries' outputs are dropped."""

    groups: list[tuple[int, int]]  # (n documents, padded length L), in regrouped order
    gather: Tensor  # (S,) source token (of the B*T) of each regrouped slot; pads point anywhere
    pads: Tensor  # (P,) regrouped slots that are padding
    inverse: Tensor  # (B*T,) regrouped slot of each token
    none: Tensor  # (0,) empty index

    @classmethod
    def from_positions(cls, positions: Tensor) -> DocsMask:
        B, T = positions.shape
        dev = positions.device
        first = doc_starts(positions).flatten().nonzero().squeeze(1)  # (D,) flat index of each document start
        lengths = torch.diff(first, append=first.new_tensor([B * T]))  # (D,)
        padded = torch.tensor([bucket_length(n) for n in lengths.tolist()], device=dev)  # (D,)
        groups, gathers, valids = [], [], []
        for L in sorted(set(padded.tolist())):
            sel = (padded == L).nonzero().squeeze(1)
            ar = torch.arange(L, device=dev)  # (L,)
            valids.append((ar < lengths[sel, None]).flatten())  # (n*L,)
            gathers.append((first[sel, None] + ar).flatten().clamp(max=B * T - 1))  # (n*L,)
            groups.append((len(sel), L))
        gather, valid = torch.cat(gathers), torch.cat(valids)  # (S,)
        inverse = torch.empty(B * T, dtype=torch.long, device=dev)
        inverse[gather[valid]] = valid.nonzero().squeeze(1)
        none = torch.empty(0, dtype=torch.long, device=dev)
        return cls(groups, gather, (~valid).nonzero().squeeze(1), inverse, none)

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        B, T, H, hd = q.shape
        KV = k.shape[2]

        def regroup(x: Tensor) -> Tensor:  # (B, T, h, hd) -> (S, h, hd)
            return _Regroup.apply(x.reshape(B * T, *x.shape[2:]), self.gather, self.pads, self.inverse, self.none)

        qs, ks, vs = regroup(q), regroup(k), regroup(v)  # (S, H, hd), (S, KV, hd), (S, KV, hd)
        outs, off = [], 0
        for n, L in self.groups:
            sl = slice(off, off + n * L)
            y = _sdpa(qs[sl].view(n, L, H, hd), ks[sl].view(n, L, KV, hd), vs[sl].view(n, L, KV, hd), is_causal=True)
            outs.append(y.reshape(n * L, H, hd))  # (n*L, H, hd)
            off += n * L
        y = torch.cat(outs) if len(outs) > 1 else outs[0]  # (S, H, hd)
        y = _Regroup.apply(y, self.inverse, self.none, self.gather, self.pads)  # (B*T, H, hd)
        return y.view(B, T, H, hd)


_COMPILED: dict[str, object] = {}


def _flex(name: str, on_cuda: bool):
    """FlexAttention (and its mask builder) only become fused kernels when compiled: compile
    them once for eager GPU callers; inside a compiled model, or on CPU (forward-only, tests),
    use them as they are."""
    from torch.nn.attention import flex_attention as fa

    fn = getattr(fa, name)
    if not on_cuda or torch.compiler.is_compiling():
        return fn
    if name not in _COMPILED:
        _COMPILED[name] = torch.compile(fn, dynamic=False)
    return _COMPILED[name]


def doc_causal_mod(positions: Tensor | None):
    """FlexAttention mask_mod: causal and same document (positions None: causal only); other
    patterns (trainer/blocksparse.py) compose with it through and_masks."""
    if positions is None:
        return lambda b, h, q, kv: q >= kv
    docs = doc_ids(positions)  # (B, T)

    def mask_mod(b, h, q, kv):
        return (docs[b, q] == docs[b, kv]) & (q >= kv)

    return mask_mod


@dataclass
class FlexMask:
    block_mask: object  # torch.nn.attention.flex_attention.BlockMask

    @classmethod
    def from_positions(cls, positions: Tensor | None, T: int, device: torch.device) -> FlexMask:
        B = None if positions is None else positions.shape[0]
        # compiled, the builder works block by block instead of materialising (B, T, T)
        create_block_mask = _flex("create_block_mask", device.type == "cuda")
        return cls(create_block_mask(doc_causal_mod(positions), B, None, T, T, device=device))

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        flex = _flex("flex_attention", q.is_cuda)
        y = flex(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), block_mask=self.block_mask, enable_gqa=True)
        return y.transpose(1, 2)  # (B, T, H, hd)


def build_mask(positions: Tensor | None, impl: str, T: int, device: torch.device):
    """The attention mask for one batch. positions None = one document per row."""
    if impl not in ATTN_IMPLS:
        raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got {impl!r}")
    if impl == "auto":
        impl = "flex" if device.type == "cuda" else "docs"
    if impl == "flex":
        return FlexMask.from_positions(positions, T, device)
    if impl == "dense":
        if positions is None:
            positions = torch.arange(T, device=device)[None]  # (1, T) -> a plain causal mask
        return DenseMask.from_positions(positions)
    if positions is None or not (positions[:, 1:] == 0).any():
        return CausalMask()
    return DocsMask.from_positions(positions)


class KVCache:
    """Static per-layer K/V buffers (B, KV, max_len, hd): allocated once, so decoding never
    reallocates; with GQA they are n_heads / n_kv_heads times smaller than with MHA. Dense
    attention only: a blocksparse layer refuses it (trainer/blocksparse.BlocksparseKVCache)."""

    supports_blocksparse = False

    def __init__(
        self,
        n_layers: int,
        batch: int,
        n_kv_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        shape = (batch, n_kv_heads, max_len, head_dim)
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layers)]
        self.max_len = max_len
        self.length = 0  # tokens already cached (the position of the next one)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.k + self.v)

    def attend(self, layer: int, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Append k/v (B, t, KV, hd) at `length` and attend q (B, t, H, hd) to the whole prefix."""
        s, t = self.length, q.shape[1]
        if s + t > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} tokens, asked for {s + t}")
        self.k[layer][:, :, s : s + t] = k.transpose(1, 2)
        self.v[layer][:, :, s : s + t] = v.transpose(1, 2)
        keys, values = self.k[layer][:, :, : s + t], self.v[layer][:, :, : s + t]  # (B, KV, s+t, hd)
        kw = {}
        if t > 1 and s == 0:
            kw["is_causal"] = True
        elif t > 1:  # a chunk after a prefix: causal with the diagonal shifted by s
            kw["attn_mask"] = torch.ones(t, s + t, dtype=torch.bool, device=q.device).tril(diagonal=s)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), keys, values, enable_gqa=True, **kw)
        return y.transpose(1, 2)  # (B, t, H, hd)

    def advance(self, t: int) -> None:
        self.length += t
