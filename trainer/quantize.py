"""Weight-only int8 for inference (`edumix generate --int8`): every nn.Linear keeps int8
weights and one float scale per output channel (symmetric, absmax / 127), ~4x fewer weight
bytes; activations stay in float. On CPU the matmul runs in torch's int8-weight kernel
(`aten._weight_int8pack_mm`, the one gpt-fast uses) without materialising float weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Int8Linear(nn.Module):
    def __init__(self, linear: nn.Linear):
        super().__init__()
        w = linear.weight.detach().float()  # (out, in)
        scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0  # (out,)
        self.register_buffer("weight_int8", torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8))
        self.register_buffer("scale", scale.to(linear.weight.dtype))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16, torch.float16):
            y = torch.ops.aten._weight_int8pack_mm(x.reshape(-1, self.in_features), self.weight_int8, self.scale)
            y = y.view(*x.shape[:-1], self.out_features)  # (..., out)
        else:  # per-output-channel scales commute with the matmul: (x @ Wq^T) * s
            y = F.linear(x, self.weight_int8.to(x.dtype)) * self.scale.to(x.dtype)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-channel"


def quantize_int8(model: nn.Module) -> nn.Module:
    """Replace nn.Linear layers in place (and return the model). A head tied to the embedding
    stays float: quantizing it would add an int8 copy next to the shared float matrix."""
    tied = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and id(child.weight) not in tied:
                setattr(parent, name, Int8Linear(child))
    return model.eval()


def linear_weight_bytes(model: nn.Module) -> int:
    """Bytes of the matmul weights (float Linear weights, or int8 weights + scales)."""
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            total += m.weight.numel() * m.weight.element_size()
        elif isinstance(m, Int8Linear):
            total += m.weight_int8.numel() + m.scale.numel() * m.scale.element_size()
    return total
