"""Sampling from a Transformer: prefill the prompt into a static KV cache, then one token a
step. use_cache=False re-runs the whole sequence every step: the slow reference the cached
path must match token for token under greedy decoding."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

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
