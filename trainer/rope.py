"""RoPE frequency variants: the inverse frequencies (hd/2,) and the attention factor that
scales cos/sin, computed exactly as transformers' `ROPE_INIT_FUNCTIONS` (same float32 ops),
so trainer/export_hf.py can hand any of them to `LlamaForCausalLM` unchanged.

`model.rope` in a training YAML (or ModelConfig.rope) picks one:

  default   plain RoPE: inv_freq[i] = base^(-2i/hd).
            ABF (Xiong et al. 2023, "adjusted base frequency") is this with a larger
            `model.rope_base` for the continuation phase; there is nothing else to compute.
  linear    position interpolation (Chen et al. 2023): inv_freq / factor. The legacy
            `model.rope_scaling: <factor>` still means exactly this.
  ntk       NTK-aware scaling (bloc97), static: base * factor^(hd/(hd-2)). This is HF's
            "dynamic" formula frozen at one factor; HF's dynamic type re-derives the base from
            each input's length, ours is fixed when the model is built (exported as a plain
            base, see export_hf).
  yarn      YaRN (Peng et al. 2023): interpolate low frequencies, keep high ones, a linear
            ramp between `beta_slow` and `beta_fast` rotations over the original length;
            attention temperature 0.1 ln(factor) + 1 multiplies cos and sin (as HF does).
  longrope  LongRoPE (Ding et al. 2024): per-dimension factors, inv_freq = 1 / (ext * base^(2i/hd)),
            ext = `long_factor` if max_seq_len > original_max_position_embeddings else
            `short_factor`. The choice is made ONCE, from the model's max_seq_len (the length
            it is built, trained and decoded at), not per batch: HF re-chooses per forward call
            from max(position_ids) + 1, so the export writes the chosen set as both (see export_hf).
            Attention factor sqrt(1 + ln(factor) / ln(original)) for factor > 1.
  llama3    Llama 3.1: wavelengths longer than original/low_freq_factor divided by factor,
            shorter than original/high_freq_factor kept, smooth in between.

`original_max_position_embeddings` (the pretraining length) is required by yarn, longrope
and llama3; `attention_factor` overrides the derived one for yarn and longrope.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor

ROPE_TYPES = ("default", "linear", "ntk", "yarn", "longrope", "llama3")
_NEEDS_ORIGINAL = ("yarn", "longrope", "llama3")


@dataclass(frozen=True)
class RopeConfig:
    type: str = "default"
    factor: float = 1.0  # context extension ratio (linear, ntk, yarn, llama3; longrope: attention factor only)
    original_max_position_embeddings: int | None = None  # pretraining length (yarn, longrope, llama3)
    attention_factor: float | None = None  # yarn / longrope: override the derived cos/sin scale
    beta_fast: float = 32.0  # yarn: ramp ends (dims with more rotations keep their frequency)
    beta_slow: float = 1.0  # yarn: ramp starts (dims with fewer rotations are fully interpolated)
    short_factor: tuple[float, ...] | None = None  # longrope: hd/2 factors, max_seq_len <= original
    long_factor: tuple[float, ...] | None = None  # longrope: hd/2 factors, max_seq_len > original
    low_freq_factor: float = 1.0  # llama3
    high_freq_factor: float = 4.0  # llama3

    def __post_init__(self) -> None:
        if self.type not in ROPE_TYPES:
            raise ValueError(f"rope.type must be one of {ROPE_TYPES}, got {self.type!r}")
        if self.factor < 1.0:
            raise ValueError(f"rope.factor must be >= 1, got {self.factor}")
        if self.type in _NEEDS_ORIGINAL and not self.original_max_position_embeddings:
            raise ValueError(f"rope.type={self.type!r} needs rope.original_max_position_embeddings")
        if self.type == "longrope" and (self.short_factor is None or self.long_factor is None):
            raise ValueError("rope.type='longrope' needs rope.short_factor and rope.long_factor")
        if self.type == "llama3" and not self.high_freq_factor > self.low_freq_factor:
            raise ValueError("rope.high_freq_factor must exceed rope.low_freq_factor")
        for name in ("short_factor", "long_factor"):  # lists from YAML / JSON -> hashable tuples
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(float(x) for x in value))

    def to_dict(self) -> dict:
        """Only the fields that differ from the defaults, `type` always (short meta.json)."""
        d = {k: v for k, v in asdict(self).items() if v != getattr(RopeConfig, k, None) or k == "type"}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> RopeConfig:
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown rope keys: {sorted(unknown)}")
        return cls(**d)


def _base_inv_freq(base: float, hd: int) -> Tensor:
    return 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))  # (hd/2,)


def ntk_base(base: float, hd: int, factor: float) -> float:
    """NTK-aware base: base * factor^(hd/(hd-2))."""
    return base * factor ** (hd / (hd - 2))


def longrope_uses_long(rope: RopeConfig, max_seq_len: int) -> bool:
    return max_seq_len > rope.original_max_position_embeddings


def inv_freq_and_scale(rope: RopeConfig, base: float, hd: int, max_seq_len: int) -> tuple[Tensor, float]:
    """(inv_freq (hd/2,) float32, attention factor multiplying cos and sin)."""
    t, factor = rope.type, rope.factor
    if t == "default":
        return _base_inv_freq(base, hd), 1.0
    if t == "linear":
        return _base_inv_freq(base, hd) / factor, 1.0
    if t == "ntk":
        return _base_inv_freq(ntk_base(base, hd, factor), hd), 1.0
    orig = rope.original_max_position_embeddings
    if t == "yarn":
        return _yarn(rope, base, hd, orig)
    if t == "longrope":
        ext = rope.long_factor if longrope_uses_long(rope, max_seq_len) else rope.short_factor
        if len(ext) != hd // 2:
            raise ValueError(f"rope longrope factors need head_dim/2 = {hd // 2} entries, got {len(ext)}")
        attn = rope.attention_factor
        if attn is None:
            attn = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
        shape = torch.arange(0, hd, 2, dtype=torch.int64).float() / hd  # (hd/2,)
        return 1.0 / (torch.tensor(ext, dtype=torch.float32) * base**shape), attn
    # llama3
    inv_freq = _base_inv_freq(base, hd)  # (hd/2,)
    low_wavelen, high_wavelen = orig / rope.low_freq_factor, orig / rope.high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)  # long wavelengths: / factor
    smooth = (orig / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled), 1.0


def _yarn(rope: RopeConfig, base: float, hd: int, orig: int) -> tuple[Tensor, float]:
    factor = rope.factor
    attn = rope.attention_factor
    if attn is None:
        attn = 1.0 if factor <= 1 else 0.1 * math.log(factor) + 1.0

    def correction_dim(rotations: float) -> float:  # the dim index that turns `rotations` times over orig
        return (hd * math.log(orig / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low = max(math.floor(correction_dim(rope.beta_fast)), 0)
    high = min(math.ceil(correction_dim(rope.beta_slow)), hd - 1)
    if low == high:
        high += 0.001  # as HF: no division by zero
    ramp = torch.clamp((torch.arange(hd // 2, dtype=torch.float32) - low) / (high - low), 0, 1)  # (hd/2,)
    pos_freqs = base ** (torch.arange(0, hd, 2).float() / hd)  # (hd/2,)
    extrapolation, interpolation = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    keep = 1 - ramp  # 1: high frequency, extrapolated (kept); 0: low frequency, interpolated
    return interpolation * (1 - keep) + extrapolation * keep, attn
