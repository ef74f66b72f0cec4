"""Chunked output head + cross-entropy: the loss without the (B, T, V) logits.

At T=32K and a 32k vocabulary the logits alone are 4 GiB in float32, and the plain path
keeps three tensors of that size (logits, log-softmax saved for backward, its gradient).
`chunked_linear_cross_entropy` runs the head and the loss over `chunk` tokens at a time and
computes the gradients of h and of the head's weight during the forward pass (as Liger's
fused linear cross-entropy does), so at most one (chunk, V) block of logits exists and the
backward is a multiplication by the incoming scalar: no recomputation, three matmuls per
chunk as in the plain path. Same loss and gradients as `F.cross_entropy(h @ W.T, targets)`
(mean over targets != -100) up to float rounding (tests/test_long_context.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE = -100


class _ChunkedLinearCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: Tensor, weight: Tensor, targets: Tensor, chunk: int, need_grad: bool) -> Tensor:
        # h (N, C), weight (V, C), targets (N,) -> scalar mean loss over valid targets
        acc = torch.promote_types(weight.dtype, torch.float32)  # float32, or float64 for a float64 model
        n_valid = (targets != IGNORE).sum()
        denom = n_valid.clamp(min=1).to(acc)
        total = torch.zeros((), dtype=acc, device=h.device)
        grad_h = torch.empty_like(h) if need_grad else None  # (N, C)
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_grad else None
        for s in range(0, h.shape[0], chunk):
            hc, tc = h[s : s + chunk], targets[s : s + chunk]  # (n, C), (n,)
            logits = F.linear(hc, weight)  # (n, V)
            if logits.element_size() < 4:  # bf16 under autocast: the loss in float32, as the plain path
                logits = logits.float()
            valid = tc != IGNORE  # (n,)
            safe = tc.clamp(min=0)[:, None]  # (n, 1)
            target_logit = logits.gather(1, safe).squeeze(1)  # (n,)
            top = logits.amax(dim=-1, keepdim=True)  # (n, 1)
            e = logits.sub_(top).exp_()  # (n, V) in place: one (n, V) buffer per chunk, no temporaries
            sum_e = e.sum(dim=-1)  # (n,)
            total += ((sum_e.log() + top.squeeze(1) - target_logit) * valid).sum()  # logsumexp - target
            if need_grad:  # d(sum CE)/d logits = softmax - onehot(target), 0 on ignored rows
                g = e.div_(sum_e[:, None])  # (n, V) softmax
                g.scatter_add_(1, safe, -valid[:, None].to(g.dtype))
                g.mul_((valid.to(g.dtype) / denom)[:, None])
                g = g.to(weight.dtype)  # the matmuls run as the head's do (bf16 under autocast)
                grad_h[s : s + chunk] = g @ weight  # (n, C)
                grad_w += (g.t() @ hc.to(weight.dtype)).to(acc)  # (V, C)
                del g
            del logits, e
        ctx.save_for_backward(grad_h, grad_w.to(weight.dtype) if need_grad else None)
        return total / n_valid.to(acc)  # NaN when nothing is valid, as F.cross_entropy

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * grad_out.to(grad_h.dtype), grad_w * grad_out.to(grad_w.dtype), None, None, None


def chunked_linear_cross_entropy(h: Tensor, weight: Tensor, targets: Tensor, chunk: int) -> Tensor:
    """Mean cross-entropy of `h @ weight.T` against `targets` (-100 ignored), `chunk` rows at
    a time. h (N, C), weight (V, C), targets (N,)."""
    if chunk <= 0:
        raise ValueError(f"chunk must be positive, got {chunk}")
    need_grad = torch.is_grad_enabled() and (h.requires_grad or weight.requires_grad)
    return _ChunkedLinearCE.apply(h, weight, targets, chunk, need_grad)
