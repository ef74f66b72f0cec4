"""The typed training config: one YAML file per model size, validated before any work.

Batch sizes are GLOBAL (rows per optimizer step, whatever the number of processes), so a
config means the same training run on 1 CPU or 8 GPUs; `phases` holds per-phase
overrides (e.g. a shorter, lower-LR phase 2) deep-merged over the base sections.
`phases: {long: ...}` configures the long-context phase (`pretrain --phase long`, LongSection).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from edumix.core.config import read_yaml_mapping
from edumix.core.hashing import config_digest


class TrainConfigError(ValueError):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RopeSection(_Section):
    """Mirrors trainer.rope.RopeConfig (the variants are described there)."""

    type: Literal["default", "linear", "ntk", "yarn", "longrope", "llama3"] = "default"
    factor: float = Field(1.0, ge=1.0)
    original_max_position_embeddings: int | None = Field(None, gt=0)
    attention_factor: float | None = Field(None, gt=0)
    beta_fast: float = Field(32.0, gt=0)
    beta_slow: float = Field(1.0, gt=0)
    short_factor: list[float] | None = None
    long_factor: list[float] | None = None
    low_freq_factor: float = Field(1.0, gt=0)
    high_freq_factor: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _needs(self):
        from edumix.trainer.rope import RopeConfig

        RopeConfig(**self.model_dump())  # the same checks as the model (e.g. yarn needs original_max_...)
        return self


class BlocksparseSection(_Section):
    """Mirrors trainer.blocksparse.BlocksparseConfig (phi-3-small local + vertical-stride blocks)."""

    block_size: int = Field(64, gt=0)
    local_blocks: int = Field(4, gt=0)
    vert_stride: int = Field(8, gt=0)
    every: int = Field(2, ge=0)  # every n-th layer stays dense; 0 = all layers blocksparse
    head_sliding: bool = False  # KV head h's vertical blocks shifted by h (phi-3-small's non-homo heads)

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        d = handler(self)
        if not self.head_sliding:  # added later: left out while off, so meta.json / the hash read as before
            d.pop("head_sliding", None)
        return d

    @model_validator(mode="after")
    def _same_checks(self):
        from edumix.trainer.blocksparse import BlocksparseConfig

        BlocksparseConfig(**self.model_dump())
        return self


class ModelSection(_Section):
    """Mirrors trainer.model.ModelConfig; vocab_size null = the tokenizer's, rounded up to 64."""

    vocab_size: int | None = Field(None, gt=0)
    dim: int = Field(gt=0)
    n_layers: int = Field(gt=0)
    n_heads: int = Field(gt=0)
    n_kv_heads: int = Field(gt=0)
    ffn_hidden: int | None = Field(None, gt=0)
    max_seq_len: int = Field(2048, gt=0)
    rope_base: float = Field(500000.0, gt=0)
    rope_scaling: float = Field(1.0, ge=1.0)  # legacy: linear position interpolation
    rope: RopeSection = RopeSection()
    norm_eps: float = Field(1e-5, gt=0)
    tie_embeddings: bool = False
    attn_impl: str = "auto"
    blocksparse: BlocksparseSection | None = None  # absent = every layer dense

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        d = handler(self)
        if d.get("blocksparse", ...) is None:  # a dense model dumps (meta.json, hash) as before
            d.pop("blocksparse", None)
        return d

    @model_validator(mode="after")
    def _heads(self):
        if self.dim % self.n_heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by n_heads ({self.n_heads})")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads ({self.n_heads}) must be divisible by n_kv_heads ({self.n_kv_heads})")
        if self.rope_scaling != 1.0 and self.rope.type != "default":
            raise ValueError("set rope_scaling (legacy linear) or rope, not both")
        return self


class DataSection(_Section):
    seq_len: int = Field(256, gt=1)
    # Rows per optimizer step over all processes; each process gets
    # batch_size / (grad_accum * world_size) rows per micro-step.
    batch_size: int = Field(8, gt=0)
    grad_accum: int = Field(1, gt=0)
    # Share of documents held out for the per-domain eval loss (hash of the document id).
    eval_fraction: float = Field(0.02, ge=0.0, lt=1.0)


class OptimSection(_Section):
    lr: float = Field(3e-3, gt=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    warmup_steps: int = Field(20, ge=0)
    # cosine: warmup then cosine to min_lr. wsd: warmup, constant, then a linear decay to
    # min_lr over the last decay_frac of the steps (MiniCPM's warmup-stable-decay).
    schedule: Literal["cosine", "wsd"] = "cosine"
    decay_frac: float = Field(0.2, gt=0, le=1)
    min_lr: float = Field(3e-4, ge=0)
    grad_clip: float | None = Field(1.0, gt=0)
    # Steps whose loss or gradient norm is NaN/inf that may be skipped (no update, the batch
    # consumed) over the whole run, resumes included; one more stops training. 0 = the first
    # one stops it. Either way such a step never reaches the weights or a checkpoint.
    max_nonfinite_skips: int = Field(0, ge=0)


LONG_PHASE = "long"


class CurriculumStage(_Section):
    """Steps before `until_step` (0-based, counted from the phase's start) train at this length."""

    until_step: int = Field(gt=0)
    seq_len: int = Field(gt=1)
    batch_size: int | None = Field(None, gt=0)  # rows per step; null = data.batch_size


class LongSection(_Section):
    """A sequence-length curriculum and, for `--phase long`, the data it reads.

    Stages are in order of `until_step`; from the last `until_step` on, `data.seq_len` and
    `data.batch_size` apply (so data.seq_len is the final, longest length, also the eval's).
    The loader's stream carries on across a length change (no token skipped or repeated)."""

    curriculum: list[CurriculumStage] = Field(default_factory=list)
    data_phase: int = Field(1, ge=1)  # --phase long trains on this phase's data (1: the broad mix)

    @model_validator(mode="after")
    def _ordered(self):
        ends = [s.until_step for s in self.curriculum]
        if any(b <= a for a, b in zip(ends, ends[1:])):
            raise ValueError(f"curriculum until_step values must increase, got {ends}")
        return self


# Fields added after checkpoints were written: left out of the dump (meta.json, config hash)
# while at their default, so a run that does not use them writes the same meta as before.
_DUMP_ONLY_IF_SET = {"long": None, "activation_checkpointing": False, "loss_chunk": 0, "tensorboard": False}


class TrainConfig(_Section):
    model: ModelSection
    data: DataSection = DataSection()
    optim: OptimSection = OptimSection()
    steps: int = Field(300, gt=0)
    eval_every: int = Field(100, ge=0)  # 0 = only at the end
    eval_batches: int = Field(4, gt=0)  # per domain
    ckpt_every: int = Field(100, ge=0)  # 0 = only at the end
    keep_last: int | None = Field(3, gt=0)  # older checkpoints are deleted; null keeps all
    log_every: int = Field(10, gt=0)
    seed: int = 0
    compile: bool = False
    # auto = bf16 autocast on CUDA (when supported), fp32 on CPU; bf16 is refused on CPU.
    dtype: Literal["auto", "bf16", "fp32"] = "auto"
    # Memory for long rows (same results to float rounding): recompute each block in backward,
    # and the head + loss over loss_chunk tokens at a time (0 = all at once; trainer/loss.py).
    activation_checkpointing: bool = False
    loss_chunk: int = Field(0, ge=0)
    # TensorBoard event files beside metrics.jsonl (the optional tensorboard package).
    tensorboard: bool = False
    long: LongSection | None = None
    # Per-phase overrides, e.g. {2: {steps: 100, optim: {lr: 1e-3}}, long: {...}}.
    phases: dict[int | Literal["long"], dict[str, Any]] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        d = handler(self)
        for k, default in _DUMP_ONLY_IF_SET.items():
            if k in d and getattr(self, k) == default:
                del d[k]
        return d

    @model_validator(mode="after")
    def _consistent(self):
        if self.optim.min_lr > self.optim.lr:
            raise ValueError(f"optim.min_lr ({self.optim.min_lr}) exceeds optim.lr ({self.optim.lr})")
        if self.data.batch_size % self.data.grad_accum:
            raise ValueError(
                f"data.batch_size ({self.data.batch_size}) must be divisible by "
                f"data.grad_accum ({self.data.grad_accum})"
            )
        if self.data.seq_len > self.model.max_seq_len:
            raise ValueError(f"data.seq_len ({self.data.seq_len}) exceeds model.max_seq_len ({self.model.max_seq_len})")
        for i, st in enumerate(self.long.curriculum if self.long else []):
            if st.seq_len > self.model.max_seq_len:
                raise ValueError(
                    f"long.curriculum[{i}].seq_len ({st.seq_len}) exceeds model.max_seq_len ({self.model.max_seq_len})"
                )
            if (st.batch_size or self.data.batch_size) % self.data.grad_accum:
                raise ValueError(
                    f"long.curriculum[{i}].batch_size ({st.batch_size}) must be divisible by "
                    f"data.grad_accum ({self.data.grad_accum})"
                )
        return self

    def stage_at(self, step: int) -> tuple[int, int]:
        """(seq_len, batch_size) of 0-based optimizer step `step` under the curriculum."""
        for st in self.long.curriculum if self.long else []:
            if step < st.until_step:
                return st.seq_len, st.batch_size or self.data.batch_size
        return self.data.seq_len, self.data.batch_size

    def config_hash(self) -> str:
        return config_digest(self)

    def micro_batch(self, world_size: int, batch_size: int | None = None) -> int:
        """Rows per process per micro-step (of `batch_size` rows per step; default data's)."""
        batch_size = batch_size or self.data.batch_size
        per = self.data.grad_accum * world_size
        if batch_size % per:
            raise TrainConfigError(
                f"data.batch_size ({batch_size}) must be divisible by grad_accum x processes "
                f"({self.data.grad_accum} x {world_size})"
            )
        return batch_size // per


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _problems(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors())


def load_train_config(path: str | Path, phase: int | str = 1, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The config for one phase: YAML, then its `phases[phase]` overrides, then `overrides`
    (CLI flags such as --steps), validated once at the end so errors name the field."""
    path = Path(path)
    data = read_yaml_mapping(path, TrainConfigError)
    try:
        base = TrainConfig.model_validate(data)  # validates the phases' keys too
    except ValidationError as e:
        raise TrainConfigError(f"{path}: invalid config: {_problems(e)}") from e
    merged = _merge(data, base.phases.get(phase, {}))
    merged = _merge(merged, overrides or {})
    try:
        return TrainConfig.model_validate(merged)
    except ValidationError as e:
        raise TrainConfigError(f"{path} (phase {phase}): invalid config: {_problems(e)}") from e
