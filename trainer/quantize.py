"""Weight-only int8 and int4 for inference (`edumix generate --int8 / --int4`): every nn.Linear keeps int8
weights and one float scale per output channel (symmetric, absmax / 127), ~4x fewer weight
bytes than float32. On CPU the matmul runs in torch's int8-weight kernel
(`aten._weight_int8pack_mm`, the one gpt-fast uses) without materialising float weights, with
bf16 activations: its float32 variant is 3-8x slower than the bf16 one (1 thread, 256-wide
layers), slower than a plain float32 matmul, which made int8 decoding slower than float.
int4 (`Int4Linear`): group-wise asymmetric codes, torch's tinygemm int4 kernels where present."""

from __future__ import annotations

import copy
import json
from pathlib import Path

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
        self.register_buffer("scale_bf16", scale.to(torch.bfloat16), persistent=False)  # the CPU kernel's
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16, torch.float16):
            x2 = x.reshape(-1, self.in_features).to(torch.bfloat16)  # (M, in): the fast bf16 kernel
            y = torch.ops.aten._weight_int8pack_mm(x2, self.weight_int8, self.scale_bf16.to(torch.bfloat16)).to(x.dtype)
            y = y.view(*x.shape[:-1], self.out_features)  # (..., out)
        else:  # per-output-channel scales commute with the matmul: (x @ Wq^T) * s
            y = F.linear(x, self.weight_int8.to(x.dtype)) * self.scale.to(x.dtype)
        return y if self.bias is None else y + self.bias.to(y.dtype)

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


# --------------------------------------------------------------------------- int4

INT4_GROUP_SIZES = (32, 64, 128, 256)


def _int4_groups(w: Tensor, group_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """Asymmetric 4-bit codes per group of `group_size` input columns, in the layout of
    torch's tinygemm kernels: w ~ (q - 8) * scale + zero, q in [0, 15].
    w (N, K) -> q (N, K) int32, scale (N, K/g), zero (N, K/g)."""
    N, K = w.shape
    wg = w.float().reshape(N, K // group_size, group_size)  # (N, K/g, g)
    lo, hi = wg.amin(dim=-1), wg.amax(dim=-1)  # (N, K/g)
    scale = ((hi - lo) / 15).clamp(min=1e-6)
    q = ((wg - lo[..., None]) / scale[..., None]).round().clamp(0, 15).to(torch.int32)
    return q.reshape(N, K), scale, lo + 8 * scale


def _inner_k_tiles(K: int) -> int | None:
    """The CUDA packer wants K % (inner_k_tiles * 16) == 0 with inner_k_tiles in {2, 4, 8}."""
    return next((t for t in (8, 4, 2) if K % (t * 16) == 0), None)


def int4_kernel_layout(device: torch.device, N: int, K: int) -> str:
    """ "cpu" / "cuda" where torch's int4 matmul kernel takes this shape, else "dequant"."""
    tiles = _inner_k_tiles(K)
    if device.type == "cpu" and hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu") and tiles:
        return "cpu"
    if device.type == "cuda" and hasattr(torch.ops.aten, "_weight_int4pack_mm") and tiles and N % 8 == 0:
        return "cuda"
    return "dequant"


class Int4Linear(nn.Module):
    """Weight-only int4, groups of `group_size` input columns with a bf16 scale and zero each
    (4 + 32/g bits a weight: ~0.28 of bf16 at g=64). Where torch has an int4 kernel for the
    device (CPU: `_weight_int4pack_mm_for_cpu`, CUDA: `_weight_int4pack_mm`, gpt-fast's
    tinygemm) the weights stay packed in its layout and activations run in bf16 (on CPU the
    bf16 kernel is several times faster than its float32 one); otherwise two codes per byte
    are unpacked and dequantized before a plain matmul. Packed for one device: quantize after
    `model.to(device)`."""

    def __init__(self, linear: nn.Linear, group_size: int = 64, layout: str | None = None):
        super().__init__()
        K = linear.in_features
        if group_size not in INT4_GROUP_SIZES or K % group_size:
            raise ValueError(f"int4 group_size must be one of {INT4_GROUP_SIZES} and divide in_features={K}")
        w = linear.weight.detach()
        q, scale, zero = _int4_groups(w, group_size)  # (N, K), (N, K/g), (N, K/g)
        sz = torch.stack([scale, zero], dim=-1).transpose(0, 1).contiguous()  # (K/g, N, 2)
        self._init(q, sz, linear.bias, group_size, layout)

    def _init(self, q: Tensor, sz: Tensor, bias: Tensor | None, group_size: int, layout: str | None) -> None:
        N, K = q.shape  # q (N, K) int32 codes, sz (K/g, N, 2) scales and zeros
        self.layout = layout or int4_kernel_layout(q.device, N, K)
        self.register_buffer("scales_and_zeros", sz.to(torch.bfloat16))
        self.register_buffer("weight_int4", self._pack(q))
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.in_features, self.out_features, self.group_size = K, N, group_size

    @classmethod
    def from_nibbles(
        cls, nibbles: Tensor, scales_and_zeros: Tensor, group_size: int, bias: Tensor | None = None, layout=None
    ) -> Int4Linear:
        """From the device-independent form an int4 artifact stores (the "dequant" layout's
        buffers: nibbles (N, K/2) uint8, scales_and_zeros (K/g, N, 2)), packed for the device
        the tensors are on: the same buffers as quantizing the float weights there."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        N = nibbles.shape[0]
        q = torch.stack([nibbles >> 4, nibbles & 15], dim=-1).view(N, -1).to(torch.int32)  # (N, K)
        self._init(q, scales_and_zeros, bias, group_size, layout)
        return self

    def _pack(self, q: Tensor) -> Tensor:
        if self.layout == "cpu":
            return torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, _inner_k_tiles(q.shape[1]))
        nibbles = (q[:, ::2] << 4 | q[:, 1::2]).to(torch.uint8)  # (N, K/2): two codes a byte
        if self.layout == "cuda":
            return torch.ops.aten._convert_weight_to_int4pack(nibbles, _inner_k_tiles(q.shape[1]))
        return nibbles

    def dequantize(self) -> Tensor:
        """The float weight (N, K) the codes stand for (fallback path and tests)."""
        if self.layout != "dequant":
            eye = torch.eye(self.in_features, dtype=torch.bfloat16, device=self.weight_int4.device)  # (K, K)
            return self._kernel(eye).float().T  # W^T = I @ W^T, exactly what the kernel computes
        n = self.weight_int4
        q = torch.stack([n >> 4, n & 15], dim=-1).view(self.out_features, -1, self.group_size)  # (N, K/g, g)
        scale, zero = self.scales_and_zeros.float().transpose(0, 1).unbind(-1)  # (N, K/g) each
        return ((q.float() - 8) * scale[..., None] + zero[..., None]).view(self.out_features, self.in_features)

    def _kernel(self, x2: Tensor) -> Tensor:  # x2 (M, K) bf16 -> (M, N) bf16
        if self.layout == "cpu":
            return torch.ops.aten._weight_int4pack_mm_for_cpu(
                x2, self.weight_int4, self.group_size, self.scales_and_zeros
            )
        return torch.ops.aten._weight_int4pack_mm(x2, self.weight_int4, self.group_size, self.scales_and_zeros)

    def forward(self, x: Tensor) -> Tensor:
        if self.layout == "dequant":
            y = F.linear(x, self.dequantize().to(x.dtype))
        else:
            y = self._kernel(x.reshape(-1, self.in_features).to(torch.bfloat16)).to(x.dtype)
            y = y.view(*x.shape[:-1], self.out_features)  # (..., N)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        shape = f"in_features={self.in_features}, out_features={self.out_features}"
        return f"{shape}, int4 group {self.group_size} ({self.layout})"


def quantize_int4(model: nn.Module, group_size: int = 64, layout: str | None = None) -> nn.Module:
    """Replace nn.Linear layers in place with Int4Linear (and return the model); a head tied
    to the embedding stays float, as with int8. `layout` forces "dequant" (tests, benchmarks)."""
    tied = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and id(child.weight) not in tied:
                setattr(parent, name, Int4Linear(child, group_size, layout))
    return model.eval()


def linear_weight_bytes(model: nn.Module) -> int:
    """Bytes of the matmul weights (float Linear weights, or int8/int4 codes + scales/zeros)."""
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            total += m.weight.numel() * m.weight.element_size()
        elif isinstance(m, Int8Linear):
            total += m.weight_int8.numel() + m.scale.numel() * m.scale.element_size()
        elif isinstance(m, Int4Linear):
            total += sum(b.numel() * b.element_size() for b in (m.weight_int4, m.scales_and_zeros))
    return total


# --------------------------------------------------------------------------- int4 artifacts

INT4_CONFIG, INT4_WEIGHTS = "int4.json", "model.safetensors"
INT4_FORMAT = "edumix-int4/1"


def _tied(model: nn.Module) -> set[int]:
    return {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}


def save_int4(model: nn.Module, out: str | Path, group_size: int = 64, extra: dict | None = None) -> Path:
    """Write `model` (a float Transformer) quantized to int4 as OUT/model.safetensors + OUT/int4.json.
    The codes are stored device-independent (two per byte, the "dequant" layout) and repacked
    for the kernel of the device they load on, so one artifact serves CPU and CUDA. int4.json
    holds the model config, group size, `extra` (lineage) and the sha256 of every file then in
    OUT (copy the tokenizer in first). Returns OUT."""
    from safetensors.torch import save_file

    from edumix.core.hashing import file_sha256

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    q = quantize_int4(copy.deepcopy(model).float().cpu(), group_size, layout="dequant")
    tensors = {k: v.contiguous() for k, v in q.state_dict().items()}
    if model.cfg.tie_embeddings:  # one matrix: the embedding's; the head re-ties on load
        tensors.pop("lm_head.weight")
    save_file(tensors, str(out / INT4_WEIGHTS), metadata={"format": INT4_FORMAT})
    files = {f.name: file_sha256(f) for f in sorted(out.iterdir()) if f.is_file() and f.name != INT4_CONFIG}
    cfg = dict(format=INT4_FORMAT, group_size=group_size, model_config=model.cfg.to_dict(), **(extra or {}))
    cfg["sha256"] = files
    (out / INT4_CONFIG).write_text(json.dumps(cfg, indent=2, default=str) + "\n")
    return out


def is_int4_artifact(path: str | Path) -> bool:
    return (Path(path) / INT4_CONFIG).is_file()


def load_int4(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(model, int4.json) of an artifact `save_int4` wrote, every file checked against its
    sha256 first; the Int4Linear layers are packed for `device` (same buffers, and so the same
    outputs, as `quantize_int4` on the float model there)."""
    from safetensors.torch import load_file

    from edumix.core.hashing import file_sha256
    from edumix.trainer.model import ModelConfig, Transformer

    path = Path(path)
    cfg = json.loads((path / INT4_CONFIG).read_text())
    if cfg.get("format") != INT4_FORMAT:
        raise ValueError(f"{path / INT4_CONFIG}: format {cfg.get('format')!r}, expected {INT4_FORMAT!r}")
    for name, digest in cfg["sha256"].items():
        if not (path / name).is_file() or file_sha256(path / name) != digest:
            raise ValueError(f"{path / name} is missing or corrupt (sha256 differs from {INT4_CONFIG})")
    tensors = load_file(str(path / INT4_WEIGHTS), device=str(device))
    with torch.device("meta"):  # no float weights allocated for layers that become int4
        model = Transformer(ModelConfig.from_dict(cfg["model_config"]))
    model.rope = type(model.rope)(model.cfg)  # the non-persistent RoPE tables, for real
    tied, g = _tied(model), cfg["group_size"]
    for parent_name, parent in list(model.named_modules()):
        for name, child in list(parent.named_children()):
            key = f"{parent_name}.{name}" if parent_name else name
            if isinstance(child, nn.Linear) and id(child.weight) not in tied:
                bias = tensors.pop(f"{key}.bias", None)
                nib, sz = tensors.pop(f"{key}.weight_int4"), tensors.pop(f"{key}.scales_and_zeros")
                setattr(parent, name, Int4Linear.from_nibbles(nib, sz, g, bias))
    model.load_state_dict(tensors, strict=False, assign=True)  # embedding, norms (the tied head with them)
    if model.cfg.tie_embeddings:
        model.lm_head.weight = model.tok_emb.weight
    left = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if left or tensors.keys() - model.state_dict().keys():
        raise ValueError(f"{path / INT4_WEIGHTS} does not fit its config: missing {left[:5]}")
    return model.to(device).eval(), cfg
