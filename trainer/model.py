"""A compact Llama-style decoder: RMSNorm, SwiGLU, RoPE, grouped-query attention.

Read top to bottom: config, the three building blocks, one transformer block, the model.
Packed batches: `positions` (B, T) is each token's position inside ITS document (0 at every
document start); attention never crosses a document boundary (trainer/attention.py) and RoPE
restarts per document, so a document sees the same thing packed or alone.

Two fused projections (q|k|v in `wqkv`, gate|up in `w_gate_up`) give fewer, larger matmuls;
trainer/export_hf.py splits them back into Llama's q/k/v and gate/up. RoPE uses HF Llama's
"rotate_half" layout (pairs (i, i + hd/2)), so the export copies weights unpermuted.

Two memory options for long rows, set by the trainer (not architecture, not saved):
`activation_checkpointing` keeps only each block's input and recomputes the block in the
backward pass; `loss_chunk` runs the head + loss over that many tokens at a time so the
(B, T, V) logits never exist (trainer/loss.py; forward then returns logits=None).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from edumix.trainer.attention import ATTN_IMPLS, KVCache, build_mask
from edumix.trainer.blocksparse import BlocksparseConfig, BlocksparseKVCache, build_blocksparse_mask
from edumix.trainer.flops import palm_flops_per_token
from edumix.trainer.loss import chunked_linear_cross_entropy
from edumix.trainer.rope import RopeConfig, inv_freq_and_scale

FFN_MULTIPLE_OF = 256  # Llama's rule: ffn_hidden = 8/3 * dim rounded up to a multiple of this


@dataclass
class ModelConfig:
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    ffn_hidden: int | None = None  # None -> FFN_MULTIPLE_OF rule above
    max_seq_len: int = 2048
    rope_base: float = 500_000.0
    rope_scaling: float = 1.0  # legacy linear position interpolation: = rope {type: linear, factor: rope_scaling}
    rope: RopeConfig = field(default_factory=RopeConfig)  # the frequency variant (trainer/rope.py)
    norm_eps: float = 1e-5
    tie_embeddings: bool = False
    attn_impl: str = "auto"  # "auto" | "docs" (CPU) | "flex" (GPU) | "dense" (reference)
    blocksparse: BlocksparseConfig | None = None  # phi-3-small local + vertical blocks (trainer/blocksparse.py)

    def __post_init__(self) -> None:
        if self.dim % self.n_heads or self.n_heads % self.n_kv_heads or (self.dim // self.n_heads) % 2:
            raise ValueError("need dim % n_heads == 0, n_heads % n_kv_heads == 0 and an even head_dim")
        if self.attn_impl not in ATTN_IMPLS:
            raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got {self.attn_impl!r}")
        if isinstance(self.rope, dict):  # from YAML / meta.json
            self.rope = RopeConfig.from_dict(self.rope)
        if isinstance(self.blocksparse, dict):
            self.blocksparse = BlocksparseConfig(**self.blocksparse)
        if self.rope_scaling != 1.0 and self.rope.type != "default":
            raise ValueError(
                f"rope_scaling={self.rope_scaling} (legacy linear) and rope.type={self.rope.type!r} are both set; "
                "use rope: {type: linear, factor: ...} or rope_scaling alone"
            )

    @property
    def rope_spec(self) -> RopeConfig:
        """The RoPE variant in effect: `rope`, or linear(rope_scaling) for the legacy field."""
        if self.rope_scaling != 1.0:
            return RopeConfig(type="linear", factor=self.rope_scaling)
        return self.rope

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def hidden(self) -> int:
        if self.ffn_hidden is not None:
            return self.ffn_hidden
        return -(-int(8 * self.dim / 3) // FFN_MULTIPLE_OF) * FFN_MULTIPLE_OF

    def to_dict(self) -> dict:
        """A plain-RoPE model writes no `rope` key, and a dense one no `blocksparse` key, so its
        meta.json reads as before those options."""
        d = asdict(self)
        d.pop("rope")
        if self.rope != RopeConfig():
            d["rope"] = self.rope.to_dict()
        if self.blocksparse is None:
            d.pop("blocksparse")
        else:
            d["blocksparse"] = self.blocksparse.to_dict()  # head_sliding only when on
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """meta.json / YAML dicts; `rope` a dict or absent (checkpoints from before the variants)."""
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {sorted(unknown)}")
        d = dict(d)
        if isinstance(d.get("rope"), dict):
            d["rope"] = RopeConfig.from_dict(d["rope"])
        elif d.get("rope", ...) is None:
            d.pop("rope")
        return cls(**d)

    def is_sparse(self, layer_idx: int) -> bool:
        """Whether layer `layer_idx` runs blocksparse attention."""
        return self.blocksparse is not None and self.blocksparse.is_sparse(layer_idx)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class Rotary(nn.Module):
    """cos/sin tables (max_seq_len, hd) computed like HF Llama (float32 inverse frequencies,
    rotate_half layout, cos/sin times the variant's attention factor); the frequencies come
    from trainer/rope.py. Not saved in checkpoints, so max_seq_len and the variant can change
    in phase 2."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        inv_freq, scale = inv_freq_and_scale(cfg.rope_spec, cfg.rope_base, cfg.head_dim, cfg.max_seq_len)  # (hd/2,)
        t = torch.arange(cfg.max_seq_len, dtype=torch.float32)  # (S,)
        freqs = torch.outer(t, inv_freq)  # (S, hd/2)
        emb = torch.cat([freqs, freqs], dim=-1)  # (S, hd)
        self.register_buffer("cos", emb.cos() * scale, persistent=False)  # (S, hd)
        self.register_buffer("sin", emb.sin() * scale, persistent=False)  # (S, hd)

    def forward(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        # positions (T,) or (B, T) -> cos, sin (1 or B, T, 1, hd), broadcast over heads
        cos, sin = self.cos[positions], self.sin[positions]
        if positions.dim() == 1:
            cos, sin = cos[None], sin[None]
        return cos[:, :, None], sin[:, :, None]


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    # x (B, T, h, hd); rotate_half(x) = (-x2, x1) with x1, x2 the two halves of hd
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.sparse = cfg.is_sparse(layer_idx)
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.wqkv = nn.Linear(cfg.dim, (cfg.n_heads + 2 * cfg.n_kv_heads) * cfg.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.dim, bias=False)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask, cache: KVCache | None) -> Tensor:
        B, T, _ = x.shape
        H, KV = self.n_heads, self.n_kv_heads
        qkv = self.wqkv(x).view(B, T, H + 2 * KV, self.head_dim)  # (B, T, H+2KV, hd)
        qk = apply_rope(qkv[:, :, : H + KV], cos, sin)  # (B, T, H+KV, hd): RoPE on q and k at once
        q, k = qk.split([H, KV], dim=2)  # (B, T, H, hd), (B, T, KV, hd)
        v = qkv[:, :, H + KV :]  # (B, T, KV, hd)
        if cache is not None and self.sparse and not getattr(cache, "supports_blocksparse", False):
            raise NotImplementedError(
                f"layer {self.layer_idx} is blocksparse and {type(cache).__name__} attends densely; "
                "use model.new_cache (BlocksparseKVCache) or trainer.generate's Decoder"
            )
        y = cache.attend(self.layer_idx, q, k, v) if cache is not None else mask.attend(q, k, v)  # (B, T, H, hd)
        return self.wo(y.reshape(B, T, H * self.head_dim))  # (B, T, C)


class SwiGLU(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.hidden = cfg.hidden
        self.w_gate_up = nn.Linear(cfg.dim, 2 * self.hidden, bias=False)
        self.w_down = nn.Linear(self.hidden, cfg.dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.w_gate_up(x).split(self.hidden, dim=-1)  # (B, T, F) each
        return self.w_down(F.silu(gate) * up)  # (B, T, C)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer_idx: int):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attn = Attention(cfg, layer_idx)
        self.mlp_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask, cache: KVCache | None) -> Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, mask, cache)  # (B, T, C)
        return x + self.mlp(self.mlp_norm(x))  # (B, T, C)


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight
        self.rope = Rotary(cfg)
        self.activation_checkpointing = False  # recompute each block in backward (training only)
        self.loss_chunk = 0  # > 0: chunked head + cross-entropy when targets are given
        # nanoGPT / GPT-2 init: N(0, 0.02), residual-branch outputs scaled by 1/sqrt(2 * n_layers)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * cfg.n_layers) if name.endswith(("wo.weight", "w_down.weight")) else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(
        self,
        idx: Tensor,
        positions: Tensor | None = None,
        targets: Tensor | None = None,
        *,
        cache: KVCache | None = None,
    ) -> tuple[Tensor | None, Tensor | None]:
        """idx (B, T); positions (B, T) per-document positions or None (one document per row);
        targets (B, T) with -100 = ignore. With `cache` (decoding), positions continue it.
        With targets and `loss_chunk` the logits are not computed: (None, loss)."""
        B, T = idx.shape
        mask = sparse_mask = None
        if cache is not None:
            if positions is not None:
                raise ValueError("with a KV cache, positions continue the cache; pass positions=None")
            pos = torch.arange(cache.length, cache.length + T, device=idx.device)  # (T,)
        else:
            pos = torch.arange(T, device=idx.device) if positions is None else positions  # (T,) or (B, T)
            mask = build_mask(positions, self.cfg.attn_impl, T, idx.device)
            if self.cfg.blocksparse is not None:  # a second mask, shared by the blocksparse layers
                c = self.cfg
                sparse_mask = build_blocksparse_mask(
                    positions, c.attn_impl, T, idx.device, c.blocksparse, c.n_heads, c.n_kv_heads
                )
        too_long = T > self.cfg.max_seq_len or (  # a data-dependent check: skipped under torch.compile
            positions is not None and not torch.compiler.is_compiling() and int(positions.max()) >= self.cfg.max_seq_len
        )
        if too_long:
            raise ValueError(f"positions must stay below max_seq_len={self.cfg.max_seq_len}")
        cos, sin = self.rope(pos)  # (1 or B, T, 1, hd)
        x = self.tok_emb(idx)  # (B, T, C)
        recompute = self.activation_checkpointing and cache is None and torch.is_grad_enabled()
        for layer in self.layers:
            m = sparse_mask if layer.attn.sparse else mask
            if recompute:  # saves x (B, T, C) per block instead of every intermediate
                x = checkpoint(layer, x, cos, sin, m, None, use_reentrant=False)
            else:
                x = layer(x, cos, sin, m, cache)
        if cache is not None:
            cache.advance(T)
        if targets is not None and self.loss_chunk > 0:
            h = self.norm(x).view(B * T, -1)  # (B*T, C)
            return None, chunked_linear_cross_entropy(h, self.lm_head.weight, targets.reshape(B * T), self.loss_chunk)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        if logits.element_size() < 4:  # bf16 / fp16 weights: loss and sampling in float32
            logits = logits.float()
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T), ignore_index=-100)
        return logits, loss

    def num_params(self, non_embedding: bool = True) -> int:
        """All parameters (a tied matrix once); non_embedding drops the token embedding and
        the output head, as in Kaplan et al.'s N."""
        n = sum(p.numel() for p in self.parameters())  # parameters() yields a tied weight once
        if non_embedding:
            n -= self.cfg.vocab_size * self.cfg.dim * (1 if self.cfg.tie_embeddings else 2)
        return n

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token, PaLM appendix B: 6 * (matmul weights) + 12 * L * H * hd * T.
        Matmul weights = non-embedding N plus the output head (the embedding lookup is free);
        the attention term counts the full T x T as PaLM does (no discount for causality)."""
        c = self.cfg
        n_matmul = self.num_params(non_embedding=True) + c.vocab_size * c.dim
        return palm_flops_per_token(n_matmul, c.n_layers, c.n_heads, c.head_dim, seq_len)

    def new_cache(self, batch: int, max_len: int) -> KVCache:
        """A static KV cache for `batch` rows of up to `max_len` tokens, in the model's dtype;
        blocksparse layers keep only the blocks they can still read."""
        w = self.tok_emb.weight  # never quantized, unlike lm_head
        c = self.cfg
        if c.blocksparse is not None:
            return BlocksparseKVCache(
                c.n_layers, batch, c.n_kv_heads, max_len, c.head_dim, c.blocksparse, dtype=w.dtype, device=w.device
            )
        return KVCache(c.n_layers, batch, c.n_kv_heads, max_len, c.head_dim, dtype=w.dtype, device=w.device)
