"""Sampling from a Transformer: prefill the prompt into a static KV cache, then one token a
step. use_cache=False re-runs the whole sequence every step: the slow reference the cached
path must match token for token under greedy decoding.

`generate_batch` / `Decoder`: several prompts at once (left padding, per-row EOS) over a static
cache with fixed-shape decode steps, optionally torch.compile'd (`edumix generate --compile`,
`--prompts-file`). Blocksparse models run there too: their sparse layers AND the block rule
into the slot mask (the cache keeps every key; BlocksparseKVCache is the memory-saving one)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from edumix.trainer import blocksparse
from edumix.trainer.model import Transformer


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """logits (B, V) -> next token ids (B,). temperature 0 = greedy (argmax)."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
        probs = sorted_logits.softmax(dim=-1)
        drop = probs.cumsum(dim=-1) - probs > top_p  # mass before this token already reaches top_p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    probs = logits.softmax(dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.inference_mode()
def generate(
    model: Transformer,
    prompt: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
    eos_id: int | None = None,
    generator: torch.Generator | None = None,
    on_token: Callable[[Tensor], None] | None = None,
) -> Tensor:
    """prompt (B, T0) -> (B, T0 + n), n <= max_new_tokens (fewer once every row has emitted
    eos_id; a finished row is padded with eos_id). on_token gets each new (B,) step."""
    B, T0 = prompt.shape
    total = T0 + max_new_tokens
    if total > model.cfg.max_seq_len:
        raise ValueError(f"prompt + max_new_tokens = {total} exceeds max_seq_len {model.cfg.max_seq_len}")
    was_training = model.training
    model.eval()
    out = torch.empty(B, total, dtype=torch.long, device=prompt.device)  # (B, T0 + new)
    out[:, :T0] = prompt
    cache = model.new_cache(B, total) if use_cache else None
    finished = torch.zeros(B, dtype=torch.bool, device=prompt.device)
    n = T0
    try:
        for step in range(max_new_tokens):
            if cache is None:
                logits, _ = model(out[:, :n])  # (B, n, V): the whole sequence again
            else:
                logits, _ = model(out[:, :n] if step == 0 else out[:, n - 1 : n], cache=cache)  # (B, t, V)
            tok = sample_next(logits[:, -1], temperature, top_k, top_p, generator)  # (B,)
            if eos_id is not None:
                tok = tok.masked_fill(finished, eos_id)
                finished |= tok == eos_id
            out[:, n] = tok
            n += 1
            if on_token is not None:
                on_token(tok)
            if eos_id is not None and bool(finished.all()):
                break
    finally:
        model.train(was_training)
    return out[:, :n]


# --------------------------------------------------------------------------- batches, static decode
#
# A batch of prompts is LEFT-padded to one length P so every row's next token lands in the same
# cache slot. Slot j of row b holds position j - pad[b]: each prompt's first real token is at
# position 0, as when it runs alone. Keys before pad[b] are never attended (a padded query sees
# only itself, so no row is all-masked and nothing turns NaN). All shapes are fixed for a
# decode step -- tok (B, 1), slot (1,), mask (B, 1, 1, S) -- so it can be compiled once, and
# with mode="reduce-overhead" on CUDA replayed as one CUDA graph per token.


class StaticKV:
    """K/V buffers (B, KV, S, hd) per layer, written in place at the step's slots."""

    def __init__(self, model: Transformer, batch: int, max_len: int):
        c, w = model.cfg, model.tok_emb.weight  # the embedding is never quantized
        shape = (batch, c.n_kv_heads, max_len, c.head_dim)
        self.k = [torch.zeros(shape, dtype=w.dtype, device=w.device) for _ in range(c.n_layers)]
        self.v = [torch.zeros(shape, dtype=w.dtype, device=w.device) for _ in range(c.n_layers)]
        for t in self.k + self.v:  # CUDA graphs may keep these addresses baked in
            torch._dynamo.mark_static_address(t)
        self.batch, self.max_len = batch, max_len


class _SlotAttend:
    """What Attention.forward calls as `cache.attend`: write k/v at `slots`, attend under the
    layer's mask. Blocksparse layers get `sparse_mask` (the dense one AND the block rule): the
    full-length cache holds every key, so the rule is only a mask here, never an eviction."""

    supports_blocksparse = True  # Attention.forward refuses dense-only caches for sparse layers

    def __init__(self, kv: StaticKV, slots: Tensor, mask: Tensor, sparse_mask: Tensor | None, sparse: list[bool]):
        self.kv, self.slots, self.mask = kv, slots, mask  # slots (T,), mask (B, 1, T, S)
        self.sparse_mask, self.sparse = sparse_mask, sparse  # (B, 1 or H, T, S) or None; per layer

    def attend(self, layer: int, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        keys, values = self.kv.k[layer], self.kv.v[layer]  # (B, KV, S, hd)
        keys.index_copy_(2, self.slots, k.transpose(1, 2))
        values.index_copy_(2, self.slots, v.transpose(1, 2))
        mask = self.sparse_mask if self.sparse[layer] else self.mask
        y = F.scaled_dot_product_attention(q.transpose(1, 2), keys, values, attn_mask=mask, enable_gqa=True)
        return y.transpose(1, 2)  # (B, T, H, hd)


def forward_slots(
    model: Transformer, kv: StaticKV, idx: Tensor, pos: Tensor, slots: Tensor, mask: Tensor, sparse_mask: Tensor | None
) -> Tensor:
    """The model's blocks over the static cache with per-row positions; idx, pos (B, T) ->
    logits of the last column (B, V), float32 (the lm_head runs on that column only)."""
    cos, sin = model.rope(pos)  # (B, T, 1, hd)
    x = model.tok_emb(idx)  # (B, T, C)
    att = _SlotAttend(kv, slots, mask, sparse_mask, [layer.attn.sparse for layer in model.layers])
    for layer in model.layers:
        x = layer(x, cos, sin, None, att)
    return model.lm_head(model.norm(x[:, -1])).float()  # (B, V)


def _with_blocksparse(model: Transformer, allowed: Tensor, q_pos: Tensor, k_pos: Tensor, is_self: Tensor):
    """The blocksparse layers' mask: `allowed` AND the block rule by position inside the prompt's
    document (slot - pad, as training's per-document positions), the self-key kept so a padded
    query (negative position) is never all-masked. None for a dense model. The arguments carry
    a head axis of size 1 at dim 1; with head_sliding it becomes the n_heads query heads (each
    with its KV head's pattern), else it stays 1."""
    c = model.cfg
    sp = c.blocksparse
    if sp is None:
        return None
    head = 0
    if sp.head_sliding:  # (H, 1, ...) the KV head of each query head, against the trailing dims
        kvh = blocksparse.kv_heads_of_query_heads(c.n_heads, c.n_kv_heads, allowed.device)
        head = kvh.view(-1, *[1] * (allowed.dim() - 2))
    return (allowed & blocksparse.allowed(q_pos, k_pos, sp, head)) | is_self


def prefill(model: Transformer, kv: StaticKV, idx: Tensor, pad: Tensor) -> Tensor:
    """idx (B, P) left-padded prompts, pad (B,) -> logits (B, V) for each row's next token."""
    B, P = idx.shape
    ar = torch.arange(kv.max_len, device=idx.device)  # (S,)
    q = ar[:P, None]  # (P, 1) query slots
    is_self = ar == q  # (P, S)
    allowed = (ar <= q) & (ar >= pad[:, None, None])  # (B, P, S): causal, never a pad key
    k_pos = (ar - pad[:, None])[:, None]  # (B, 1, S) each key slot's position in its row's document
    q_pos = (q - pad[:, None, None])[:, None]  # (B, 1, P, 1)
    sparse = _with_blocksparse(model, allowed[:, None], q_pos, k_pos[:, None], is_self)  # (B, 1 or H, P, S)
    allowed |= is_self  # a padded query sees itself: no all-masked (NaN) rows
    pos = (ar[:P] - pad[:, None]).clamp(min=0)  # (B, P)
    return forward_slots(model, kv, idx, pos, ar[:P], allowed[:, None], sparse)


def decode_step(model: Transformer, kv: StaticKV, tok: Tensor, slot: Tensor, pad: Tensor) -> Tensor:
    """One token for every row: tok (B,), slot (1,) the cache slot it goes to, pad (B,) ->
    logits (B, V). Fixed shapes and no host syncs: the function that gets compiled."""
    ar = torch.arange(kv.max_len, device=tok.device)  # (S,)
    allowed = (ar <= slot) & (ar >= pad[:, None])  # (B, S)
    pos = (slot - pad)[:, None]  # (B, 1)
    k_pos = (ar - pad[:, None])[:, None]  # (B, 1, S)
    sparse = _with_blocksparse(model, allowed[:, None], pos[:, None], k_pos, ar == slot)  # (B, 1 or H, S) or None
    sparse = None if sparse is None else sparse[:, :, None]  # (B, 1 or H, 1, S)
    return forward_slots(model, kv, tok[:, None], pos, slot, allowed[:, None, None], sparse)


class Decoder:
    """Batch generation for one model; holds the (optionally compiled) decode step and reuses
    its static cache across calls of the same batch size and length bucket, so a compiled step
    is not recompiled. compile: torch.compile the step ("reduce-overhead" = CUDA graphs on CUDA)."""

    BUCKET = 64  # cache lengths round up to this: fewer distinct shapes to compile

    def __init__(self, model: Transformer, compile: bool = False):
        self.model = model.eval()
        self.kv: StaticKV | None = None
        self.cuda = model.tok_emb.weight.is_cuda
        self.step = decode_step
        if compile:
            mode = "reduce-overhead" if self.cuda else None
            self.step = torch.compile(decode_step, mode=mode, fullgraph=True, dynamic=False)

    def _cache(self, batch: int, total: int) -> StaticKV:
        S = min(-(-total // self.BUCKET) * self.BUCKET, self.model.cfg.max_seq_len)
        if self.kv is None or (self.kv.batch, self.kv.max_len) != (batch, S):
            self.kv = StaticKV(self.model, batch, S)
        return self.kv

    @torch.inference_mode()
    def generate(
        self,
        prompts: list[list[int]],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        eos_id: int | None = None,
        generator: torch.Generator | None = None,
        on_token: Callable[[Tensor], None] | None = None,
    ) -> list[list[int]]:
        """Each prompt followed by its new tokens, up to and including its first eos_id."""
        if not prompts or any(len(p) == 0 for p in prompts):
            raise ValueError("need at least one prompt, none of them empty")
        B, P = len(prompts), max(len(p) for p in prompts)
        total = P + max_new_tokens
        if total > self.model.cfg.max_seq_len:
            raise ValueError(f"prompt + max_new_tokens = {total} exceeds max_seq_len {self.model.cfg.max_seq_len}")
        dev = self.model.tok_emb.weight.device
        idx = torch.tensor([[0] * (P - len(p)) + list(p) for p in prompts], device=dev)  # (B, P)
        pad = torch.tensor([P - len(p) for p in prompts], device=dev)  # (B,)
        kv = self._cache(B, total)
        logits = prefill(self.model, kv, idx, pad)  # (B, V)
        new = torch.empty(B, max_new_tokens, dtype=torch.long, device=dev)  # (B, n)
        slots = torch.arange(P, total, device=dev)  # (n,) the cache slot of each new token
        finished = torch.zeros(B, dtype=torch.bool, device=dev)
        n = 0
        for n in range(1, max_new_tokens + 1):
            tok = sample_next(logits, temperature, top_k, top_p, generator)  # (B,)
            if eos_id is not None:
                tok = tok.masked_fill(finished, eos_id)
                finished |= tok == eos_id
            new[:, n - 1] = tok
            if on_token is not None:
                on_token(tok)
            if n == max_new_tokens or (eos_id is not None and bool(finished.all())):
                break
            if self.cuda:
                torch.compiler.cudagraph_mark_step_begin()  # the last step's graph outputs may be reused
            logits = self.step(self.model, kv, tok, slots[n - 1 : n], pad)  # (B, V)
        return [list(p) + _until_eos(row, eos_id) for p, row in zip(prompts, new[:, :n].tolist())]


def _until_eos(tokens: list[int], eos_id: int | None) -> list[int]:
    return tokens[: tokens.index(eos_id) + 1] if eos_id is not None and eos_id in tokens else tokens


def generate_batch(
    model: Transformer,
    prompts: list[list[int]],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_id: int | None = None,
    generator: torch.Generator | None = None,
    compile: bool = False,
) -> list[list[int]]:
    """Prompts of any lengths in one batch (left-padded, static cache); each row stops at its
    own eos_id. Greedy rows equal `generate` on each prompt alone. For repeated calls keep a
    `Decoder` (a compiled step is compiled once per Decoder and shape)."""
    return Decoder(model, compile).generate(prompts, max_new_tokens, temperature, top_k, top_p, eos_id, generator)
