"""Pretraining loop for one phase: data from a run's token store, AdamW with a cosine or
WSD schedule, gradient accumulation, DDP, per-domain eval, atomic checkpoints, exact resume.

Loss normalisation: each micro-batch's mean loss is weighted by its share of the GLOBAL
step's target tokens (count known up front from the loader, no collective needed), so
the gradient is the token-mean over the whole global batch however it is split into
micro-steps and processes: 1 process and N processes train the same model.

Nothing non-finite is ever saved: a step whose loss or gradient norm is NaN/inf is not
applied and stops the run (or is skipped, up to optim.max_nonfinite_skips), and the weights
and optimizer state are checked before every checkpoint. --resume and --init read only
verified checkpoints, and --resume refuses a changed config unless allow_config_change.

The long-context phase (`phase="long"`, from --init) trains on `long.data_phase`'s data with
`long.curriculum`'s sequence lengths (trainer/config.py); MFU is reported twice: PaLM's
formula (`mfu`) and with the attention the document mask really computes (trainer/flops.py).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from torch.nn.parallel import DistributedDataParallel as DDP

from edumix import __version__
from edumix.core.progress import progress_bar, progress_enabled
from edumix.trainer import checkpoint as ckpt_io
from edumix.trainer import flops as flop_count
from edumix.trainer.config import LONG_PHASE, TrainConfig
from edumix.trainer.data import PackedLoader, TokenStore, ensure_tokenized, eval_rows, heldout_masks
from edumix.trainer.distributed import Dist, all_reduce_sum, barrier, init_distributed
from edumix.trainer.model import ModelConfig, Transformer
from edumix.trainer.tokenizer import TextTokenizer, sidecar_path

METRICS = "metrics.jsonl"
TB_TRAIN_KEYS = ("loss", "lr", "tokens_per_s", "grad_norm", "mfu", "mfu_attn_actual")  # TensorBoard scalars
# Dense bf16 tensor-core peak, FLOP/s per GPU (vendor datasheets, no sparsity).
PEAK_BF16_FLOPS = {
    "H200": 989e12,
    "H100 PCIe": 756e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "L4": 121e12,
    "A10G": 70e12,
    "RTX 4090": 165e12,
}
ARCH_FIELDS = ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "ffn_hidden", "tie_embeddings")
# Train-config fields a --resume may change without --allow-config-change: they set how long
# the run goes and what it logs or keeps, not what a step computes (`steps` moves the end of
# the lr schedule: from the resumed step on it is the new config's). Everything else that
# differs from the checkpoint's config is refused, with the diff.
RESUME_MAY_CHANGE = frozenset(
    {
        "steps",
        "eval_every",
        "eval_batches",
        "ckpt_every",
        "keep_last",
        "log_every",
        "compile",
        "optim.max_nonfinite_skips",
        "activation_checkpointing",  # memory options: the same step, to float rounding
        "tensorboard",  # logging only
        "loss_chunk",
    }
)


class TrainError(ValueError):
    pass


class NonFiniteError(TrainError):
    """A NaN/inf loss, gradient norm or weight: training stopped before it could be saved."""


@dataclass
class PretrainResult:
    step: int
    losses: list[float] = field(default_factory=list)  # per optimizer step run in this call
    tokens_per_s: float = 0.0
    eval: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step `step` (0-based)."""
    o, total = cfg.optim, cfg.steps
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    if o.schedule == "cosine":
        progress = min(1.0, (step - o.warmup_steps) / max(1, total - 1 - o.warmup_steps))  # min_lr at the last step
        return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + math.cos(math.pi * progress))
    decay_start = max(o.warmup_steps, total - round(o.decay_frac * total))
    if step < decay_start:
        return o.lr
    return o.min_lr + (o.lr - o.min_lr) * max(0.0, 1.0 - (step - decay_start + 1) / max(1, total - decay_start))


def peak_flops(device: torch.device, given_tflops: float | None) -> float | None:
    if given_tflops:
        return given_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, flops in PEAK_BF16_FLOPS.items():  # ordered: "H100 PCIe" before "H100"
        if key in name:
            return flops
    return None


def model_config_for(cfg: TrainConfig, tokenizer: TextTokenizer, init_meta: dict | None) -> ModelConfig:
    """The yaml's model section, vocab from the tokenizer when null; with --init the
    checkpoint's architecture, which the yaml (when it names one) must match."""
    m = cfg.model.model_dump()
    if m["vocab_size"] is None:
        m["vocab_size"] = -(-tokenizer.vocab_size // 64) * 64
    if init_meta is not None:
        prev = init_meta["model_config"]
        for k in ARCH_FIELDS:
            if k == "vocab_size" and cfg.model.vocab_size is None:
                continue
            if k == "ffn_hidden" and m[k] is None:
                continue
            if m[k] != prev[k]:
                raise TrainError(f"--init checkpoint has model.{k}={prev[k]}, the config says {m[k]}")
        # may change on --init (no weight depends on them)
        keep = ("max_seq_len", "rope_base", "rope_scaling", "rope", "norm_eps", "attn_impl", "blocksparse")
        m = {**prev, **{k: m[k] for k in keep if k in m}}
    if m["vocab_size"] < tokenizer.vocab_size:
        raise TrainError(f"model.vocab_size {m['vocab_size']} is smaller than the tokenizer's {tokenizer.vocab_size}")
    return ModelConfig.from_dict(m)


def _optimizer(model: Transformer, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    # No weight decay on gains (norms): only matrices and embeddings decay.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.optim.weight_decay}, {"params": other, "weight_decay": 0.0}]
    o = cfg.optim
    return torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, eps=o.eps, fused=device.type == "cuda")


def _autocast(device: torch.device, dtype: str):
    if dtype == "bf16" and device.type != "cuda":
        raise TrainError("dtype bf16 needs a CUDA device (CPU trains in fp32); use dtype: auto")
    if device.type == "cuda" and dtype in ("auto", "bf16") and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _to(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def evaluate(model: Transformer, rows: dict[str, dict[str, np.ndarray]], micro: int, dist: Dist, autocast) -> dict:
    """Token-mean loss per held-out domain (rows split over ranks, sums all-reduced)."""
    model.eval()
    sums = torch.zeros(len(rows), 2, dtype=torch.float64, device=dist.device)  # (domains, [loss sum, tokens])
    for d, domain in enumerate(rows):
        mine = {k: v[dist.rank :: dist.world_size] for k, v in rows[domain].items()}
        for s in range(0, len(mine["idx"]), micro):
            b = _to({k: v[s : s + micro] for k, v in mine.items()}, dist.device)
            n = int((b["targets"] != -100).sum())
            if n:
                with autocast:
                    _, loss = model(b["idx"], b["positions"], b["targets"])
                sums[d, 0] += loss.double() * n
                sums[d, 1] += n
    all_reduce_sum(sums)
    model.train()
    return {domain: float(sums[d, 0] / sums[d, 1]) for d, domain in enumerate(rows) if sums[d, 1] > 0}


def tensorboard_available() -> bool:
    """The tensorboard package (an optional extra) is installed; found, not imported (so the
    declared-imports check of tests/test_doctor.py does not count it as a requirement)."""
    import importlib.util

    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        return False


TENSORBOARD_MISSING = (
    "TensorBoard logging needs the tensorboard package: pip install 'edumix[tensorboard]' "
    "(or pip install tensorboard), or turn it off"
)


class _Metrics:
    """metrics.jsonl on rank 0; on resume, lines past the resumed step (written after the
    last checkpoint by the interrupted run) are dropped so the file reads as one run.

    With `tensorboard`, every record also goes to TensorBoard event files in the same
    directory (torch.utils.tensorboard's SummaryWriter): train/loss, train/lr,
    train/tokens_per_s, train/grad_norm, train/mfu, train/mfu_attn_actual, eval/loss/DOMAIN
    and eval/loss_mean, the same values as the JSON lines (stored as float32). On resume the
    writer purges the events past the resumed step, as the JSON lines are dropped."""

    def __init__(self, path: Path, enabled: bool, resumed_step: int | None, tensorboard: bool = False):
        self.path, self.enabled, self.tb = path, enabled, None
        if not enabled:
            return
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            purge = resumed_step + 1 if resumed_step is not None else None
            self.tb = SummaryWriter(log_dir=str(path.parent), purge_step=purge)
        if resumed_step is None:
            path.write_text("")
        elif path.is_file():
            keep = [
                ln
                for ln in path.read_text().splitlines()
                if ln.strip() and json.loads(ln).get("step", 0) <= resumed_step
            ]
            path.write_text("".join(ln + "\n" for ln in keep))

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(record, sort_keys=True) + "\n")
            if self.tb is not None:
                self._scalars(record)

    def _scalars(self, record: dict) -> None:
        step, kind = record.get("step", 0), record.get("type")
        values: dict[str, Any] = {}
        if kind == "train":
            values = {f"train/{k}": record.get(k) for k in TB_TRAIN_KEYS}
        elif kind == "eval":
            values = {f"eval/loss/{d}": v for d, v in (record.get("eval_loss") or {}).items()}
            values["eval/loss_mean"] = record.get("eval_loss_mean")
        elif kind == "skip":
            values = {"train/nonfinite_skips": record.get("skips")}
        for tag, v in values.items():
            if v is not None:  # mfu without a known peak, a NaN loss: no point
                self.tb.add_scalar(tag, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
            self.tb = None


@dataclass
class _Phase:
    """Everything one phase's loop works with, built by `_setup`."""

    cfg: TrainConfig
    phase: int | str
    dist: Dist
    say: Callable[[str], None]
    out: Path
    store: TokenStore
    loader: PackedLoader
    evals: dict
    model: Transformer
    net: torch.nn.Module  # the model as trained: DDP-wrapped and/or compiled
    ddp: DDP | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    autocast: Any
    meta_base: dict
    tok_files: list[Path]
    start: int = 0
    resumed: int | None = None
    tokens_seen: int = 0
    nonfinite_skips: int = 0  # steps skipped for a NaN/inf loss or gradient, over the whole run
    done: int = 0  # optimizer steps taken (resumes included): picks the curriculum stage
    last: _StepStats | None = None  # what the last step ran, for throughput and MFU

    @property
    def seq_len(self) -> int:
        return self.cfg.data.seq_len

    @property
    def micro(self) -> int:
        return self.cfg.micro_batch(self.dist.world_size)

    @property
    def step_tokens(self) -> int:
        return self.cfg.data.batch_size * self.seq_len


@dataclass
class _StepStats:
    seq_len: int
    rows: int  # over all processes
    attn_pairs: float  # (query, key) pairs computed per layer, over all processes (trainer/flops.py)

    @property
    def tokens(self) -> int:
        return self.rows * self.seq_len


def _load_store(cfg, run_dir, phase, tokenizer, tokens_dir, progress, dist, say) -> TokenStore:
    """Rank 0 tokenizes (once per tokenizer + data), the others wait and reuse it."""
    if dist.is_main:
        ensure_tokenized(run_dir, phase, tokenizer, tokens_dir, progress=progress is not False)
    barrier()
    store = TokenStore(ensure_tokenized(run_dir, phase, tokenizer, tokens_dir, progress=False))
    counted = store.index["lineage"].get("token_count") or ""
    if counted == "estimate":
        say("note: the mix's token budgets are byte estimates (set mix.tokenizer to this tokenizer for exact ones)")
    elif counted.startswith("tokenizer:") and not tokenizer.sha256.startswith(counted.split(":", 1)[1]):
        say(f"note: the mix's token budgets were counted with another tokenizer ({counted})")
    return store


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) and v else {f"{prefix}{k}": v})
    return out


_ABSENT = "(absent)"


def _train_config_of(meta: dict) -> dict:
    """The checkpoint's train config with today's defaults filled in (a field added since
    it was saved is not a change), without `phases` (already merged into each section)."""
    raw = meta.get("train_config") or {}
    try:
        raw = TrainConfig.model_validate(raw).model_dump(mode="json")
    except ValidationError:
        raw = dict(raw)
    raw.pop("phases", None)
    return raw


def config_changes(
    meta: dict, cfg: TrainConfig, mcfg: ModelConfig, tokenizer_sha256: str
) -> list[tuple[str, Any, Any]]:
    """(field, checkpoint's value, this run's value) for every field in which this run's
    train config, built model config or tokenizer differ from a checkpoint's meta.json."""
    now = cfg.model_dump(mode="json")
    now.pop("phases", None)
    before_t, now_t = _flatten(_train_config_of(meta)), _flatten(now)
    changes = [
        (k, before_t.get(k, _ABSENT), now_t.get(k, _ABSENT))
        for k in sorted(before_t.keys() | now_t.keys())
        if before_t.get(k, _ABSENT) != now_t.get(k, _ABSENT)
    ]
    named = {k for k, _, _ in changes}
    before_m, now_m = meta.get("model_config") or {}, mcfg.to_dict()
    for k in sorted(before_m.keys() | now_m.keys()):  # e.g. a vocab_size that follows the tokenizer
        if before_m.get(k, _ABSENT) != now_m.get(k, _ABSENT) and f"model.{k}" not in named:
            changes.append((f"model_config.{k}", before_m.get(k, _ABSENT), now_m.get(k, _ABSENT)))
    if meta.get("tokenizer_sha256") != tokenizer_sha256:
        changes.append(("tokenizer_sha256", meta.get("tokenizer_sha256"), tokenizer_sha256))
    return changes


def _shown_changes(changes: list[tuple[str, Any, Any]]) -> str:
    return "\n".join(f"  {k}: {json.dumps(a)} (checkpoint) -> {json.dumps(b)} (now)" for k, a, b in changes)


def _apply_optim_config(ph: _Phase) -> None:
    """After loading an optimizer saved under another config: this config's AdamW
    hyperparameters, and the lr this config's schedule gives at the resumed step (the
    loaded one came from the old schedule; the loaded base lr would scale every later one)."""
    o = ph.cfg.optim
    sched = ph.scheduler
    sched.base_lrs = [o.lr for _ in ph.optimizer.param_groups]
    lrs = [base * fn(sched.last_epoch) for base, fn in zip(sched.base_lrs, sched.lr_lambdas)]
    for group, decay, lr in zip(ph.optimizer.param_groups, (o.weight_decay, 0.0), lrs):
        group.update(lr=lr, betas=tuple(o.betas), eps=o.eps, weight_decay=decay)
        if "initial_lr" in group:
            group["initial_lr"] = o.lr
    sched._last_lr = lrs


def _resume(
    ph: _Phase, mcfg: ModelConfig, ck: ckpt_io.Checkpoint | None, resume: bool, tokenizer_sha256: str, allow: bool
) -> list[dict]:
    """Restore weights, optimizer, schedule, loader and RNG from `ck` (`out`'s latest
    checkpoint, already verified); refuse a config that differs from the checkpoint's
    unless `allow`. Returns the changes accepted (recorded in the checkpoints' meta)."""
    out = ph.out
    existing = ckpt_io.list_checkpoints(out) if out.is_dir() else []
    if ck is not None:
        meta = ck.meta
        if meta.get("phase") != ph.phase:
            raise TrainError(f"--resume: {ck.path} is phase {meta.get('phase')}, this run is phase {ph.phase}")
        changes = config_changes(meta, ph.cfg, mcfg, tokenizer_sha256)
        arch = [c for c in changes if c[0] in {f"{p}.{k}" for p in ("model", "model_config") for k in ARCH_FIELDS}]
        if arch:
            raise TrainError(
                f"--resume: {ck.path} has another model architecture (its weights cannot be loaded):\n"
                + _shown_changes(arch)
            )
        refused = [c for c in changes if c[0] not in RESUME_MAY_CHANGE]
        if refused and not allow:
            raise TrainError(
                f"--resume: this run's config differs from the one {ck.path} was trained with:\n"
                + _shown_changes(refused)
                + "\nresume with the same config, or pass --allow-config-change to continue with the new values"
            )
        ck.load_weights(ph.model)
        state = ck.load_state()
        ph.optimizer.load_state_dict(state["optimizer"])
        ph.scheduler.load_state_dict(state["scheduler"])
        bad = ckpt_io.nonfinite_names(
            (f"optimizer.state[{i}].{k}", v)
            for i, st in enumerate(ph.optimizer.state.values())
            for k, v in st.items()
            if isinstance(v, torch.Tensor)
        )
        if bad:
            raise NonFiniteError(f"--resume: {ck.path / ckpt_io.STATE} holds NaN or infinite values in {bad[:5]}")
        ph.loader.seq_len = ph.cfg.stage_at(state["step"] - 1)[0]  # the length the saved stream last had
        ph.loader.load_state_dict(state["loader"])
        ckpt_io.set_rng_state(state["rng"])
        ph.start, ph.resumed, ph.tokens_seen = state["step"], state["step"], state["tokens"]
        ph.done = ph.start
        ph.nonfinite_skips = int(state.get("nonfinite_skips", 0))
        if changes:
            _apply_optim_config(ph)
            ph.say(f"--resume: continuing {ck.path.name} with a changed config:\n" + _shown_changes(changes))
        ph.say(f"resumed from {ck.path} at step {ph.start}")
        history = list(meta.get("config_changes") or [])
        return history + [{"step": ph.start, "field": k, "checkpoint": a, "now": b} for k, a, b in changes]
    if resume:
        ph.say(f"--resume: no checkpoint in {out} yet, starting at step 0")
    elif existing:
        raise TrainError(f"{out} already holds checkpoints ({existing[-1].name}): pass --resume or another --out")
    return []


def _setup(
    cfg: TrainConfig,
    run_dir,
    out_dir,
    tokenizer_path,
    phase,
    init,
    resume,
    tokens_dir,
    device,
    progress,
    log,
    allow_config_change=False,
) -> _Phase:
    """Data, model (fresh, or phase 2's --init weights; fresh optimizer and schedule either
    way), optimizer, resume state and the metadata every checkpoint carries. The --init and
    --resume checkpoints are verified (every file's sha256) before anything is read from them.
    The long phase reads `long.data_phase`'s data and starts at the curriculum's first length."""
    dist = init_distributed(device)
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    say = log if dist.is_main else (lambda msg: None)

    def warn(msg: str) -> None:
        say(f"warning: {msg}")

    init_ck = ckpt_io.open_checkpoint(init, warn=warn) if init is not None else None
    out = Path(out_dir)
    resume_ck = ckpt_io.open_checkpoint(out, warn=warn) if resume and (out / ckpt_io.LATEST).is_file() else None
    tokenizer = TextTokenizer(tokenizer_path)
    if dist.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if phase == LONG_PHASE and init is None and resume_ck is None:
        raise TrainError("the long phase continues a checkpoint: give --init (the phase-2 --out)")
    data_phase = (cfg.long.data_phase if cfg.long else 1) if phase == LONG_PHASE else phase
    store = _load_store(cfg, run_dir, data_phase, tokenizer, tokens_dir, progress, dist, say)
    held = heldout_masks(store, cfg.data.eval_fraction)
    T, micro = cfg.data.seq_len, cfg.micro_batch(dist.world_size)
    for st in cfg.long.curriculum if cfg.long else []:  # every stage's rows split over the processes
        cfg.micro_batch(dist.world_size, st.batch_size)
    first_len = cfg.stage_at(0)[0]  # = T without a curriculum
    loader = PackedLoader(store, first_len, seed=cfg.seed, heldout=held, rank=dist.rank, world_size=dist.world_size)
    evals = eval_rows(store, held, T, max_rows=cfg.eval_batches * micro * dist.world_size)

    init_meta = init_ck.meta if init_ck is not None else None
    if init_meta is not None and init_meta.get("tokenizer_sha256") != tokenizer.sha256:
        raise TrainError(
            f"--init {init} was trained with another tokenizer (sha256 {init_meta.get('tokenizer_sha256')})"
        )
    mcfg = model_config_for(cfg, tokenizer, init_meta)
    torch.manual_seed(cfg.seed)
    model = Transformer(mcfg)
    if init_ck is not None:
        init_ck.load_weights(model)
    model.activation_checkpointing, model.loss_chunk = cfg.activation_checkpointing, cfg.loss_chunk
    model.to(dist.device)
    optimizer = _optimizer(model, cfg, dist.device)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, cfg) / cfg.optim.lr)
    ph = _Phase(
        cfg,
        phase,
        dist,
        say,
        out,
        store,
        loader,
        evals,
        model,
        model,
        None,
        optimizer,
        scheduler,
        _autocast(dist.device, cfg.dtype),
        {},
        [],
    )
    changes = _resume(ph, mcfg, resume_ck, resume, tokenizer.sha256, allow_config_change)

    lineage = {
        **store.index["lineage"],
        "run_dir": str(Path(run_dir).resolve()),
        "phase": phase,
        "store_key": store.key,
        "tokenizer_sha256": tokenizer.sha256,
    }
    if data_phase != phase:
        lineage["data_phase"] = data_phase
    if init_meta is not None:
        lineage["init_from"] = {
            "path": str(init_ck.path.resolve()),
            "step": init_meta["step"],
            "lineage": init_meta.get("lineage"),
        }
    ph.meta_base = {
        "model_config": mcfg.to_dict(),
        "train_config": cfg.model_dump(mode="json"),
        "train_config_hash": cfg.config_hash(),
        "lineage": lineage,
        "phase": phase,
        "tokenizer_sha256": tokenizer.sha256,
        "world_size": dist.world_size,
        "edumix_version": __version__,
        "torch_version": torch.__version__,
    }
    if changes:  # every config change accepted on a --resume, oldest first
        ph.meta_base["config_changes"] = changes
    sidecar = sidecar_path(tokenizer.path)
    ph.tok_files = [tokenizer.path] + ([sidecar] if sidecar.is_file() else [])
    if dist.enabled:
        ph.net = ph.ddp = DDP(model, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)
    if cfg.compile:
        ph.net = torch.compile(ph.net)
    return ph


def _train_step(ph: _Phase) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """One optimizer step over `grad_accum` micro-batches: (mean loss, grad norm, finite),
    the first two on device. When the loss or the gradient norm is NaN/inf the optimizer
    does not step (the weights stay as they were) and `finite` is False. Both values are the
    same on every rank (all-reduced), so every rank takes the same branch."""
    cfg, dist, accum = ph.cfg, ph.dist, ph.cfg.data.grad_accum
    seq_len, rows = cfg.stage_at(ph.done)  # the curriculum's stage (data.* without one)
    ph.loader.seq_len = seq_len  # the stream carries on at the new length
    batches = [ph.loader.next_batch(cfg.micro_batch(dist.world_size, rows)) for _ in range(accum)]
    n_global = sum(int(b.pop("group_valid")) for b in batches)
    mc = ph.model.cfg  # pairs per layer, averaged over dense and blocksparse layers; this rank's, on the host
    pairs = sum(
        flop_count.model_attn_pairs(b["positions"], None, mc.n_layers, mc.blocksparse, mc.n_kv_heads) for b in batches
    )
    sums = torch.tensor([0.0, pairs], dtype=torch.float64, device=dist.device)  # [loss sum, attention pairs]
    loss_sum = sums[0]
    for m, b in enumerate(batches):
        n = int((b["targets"] != -100).sum())  # counted on the host: no device sync
        b = _to(b, dist.device)
        last = m == accum - 1  # DDP all-reduces gradients on the last micro-step only
        with ph.ddp.no_sync() if ph.ddp is not None and not last else contextlib.nullcontext():
            with ph.autocast:
                _, loss = ph.net(b["idx"], b["positions"], b["targets"])  # (B, T) -> scalar
            (loss * (n * dist.world_size / n_global)).backward()
        loss_sum += loss.detach().double() * n
    all_reduce_sum(sums)  # one collective for both
    loss = sums[0] / n_global
    clip = cfg.optim.grad_clip if cfg.optim.grad_clip is not None else float("inf")
    grad_norm = torch.nn.utils.clip_grad_norm_(ph.model.parameters(), clip)
    finite = bool(torch.isfinite(loss) & torch.isfinite(grad_norm))  # one host sync per step
    if finite:
        ph.optimizer.step()
        ph.scheduler.step()
    else:  # the schedule still moves on with the step count; the weights and AdamW moments do not
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")
            ph.scheduler.step()
    ph.optimizer.zero_grad(set_to_none=True)
    ph.last = _StepStats(seq_len, rows, int(sums[1]))  # int(): a host sync, as `finite` already made
    ph.tokens_seen += ph.last.tokens
    ph.done += 1
    return loss, grad_norm, finite


def _stop_message(ph: _Phase, what: str) -> str:
    latest = ckpt_io.latest_name(ph.out)
    where = f"`latest` still names {latest}" if latest else "no checkpoint was written"
    return f"{what}; training stopped, nothing of this step was saved ({ph.out}: {where})"


def _nonfinite_step(ph: _Phase, done: int, loss: torch.Tensor, grad_norm: torch.Tensor, metrics) -> None:
    """A step whose loss or gradient norm is NaN/inf (not applied): skip it while the
    config's budget lasts, else stop with NonFiniteError."""
    lv, gv = float(loss), float(grad_norm)
    o = ph.cfg.optim
    what = f"step {done}: non-finite loss {lv} / gradient norm {gv}"
    if ph.nonfinite_skips >= o.max_nonfinite_skips:
        budget = f"{ph.nonfinite_skips} of optim.max_nonfinite_skips={o.max_nonfinite_skips} skips used"
        raise NonFiniteError(_stop_message(ph, f"{what} ({budget})"))
    ph.nonfinite_skips += 1
    metrics.write(
        {
            "type": "skip",
            "step": done,
            "loss": _finite_or_none(lv),
            "grad_norm": _finite_or_none(gv),
            "skips": ph.nonfinite_skips,
        }
    )
    ph.say(f"warning: {what}: step skipped ({ph.nonfinite_skips} of {o.max_nonfinite_skips} allowed)")


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _check_finite_before_save(ph: _Phase, done: int) -> None:
    """Weights and optimizer state are finite before a checkpoint is written (on every
    rank, so all stop together); one host sync per checkpoint."""
    named = [(f"weight {n}", p) for n, p in ph.model.named_parameters()]
    named += [
        (f"optimizer state {k} of {n}", v)
        for n, p in ph.model.named_parameters()
        for k, v in ph.optimizer.state.get(p, {}).items()
        if isinstance(v, torch.Tensor) and v.is_floating_point()
    ]
    if bool(torch.stack([torch.isfinite(t).all() for _, t in named]).all()):
        return
    bad = [n for n, t in named if not bool(torch.isfinite(t).all())]
    raise NonFiniteError(_stop_message(ph, f"step {done}: NaN or infinite values in {', '.join(bad[:5])}"))


@dataclass
class _Window:
    rate: float  # tokens/s over all processes
    mfu: float | None  # PaLM: 6N + 12 L H hd T per token (full T x T attention)
    mfu_attn_actual: float | None  # 6N per token + the causal in-document attention pairs run
    attn_pairs_frac: float  # those pairs / PaLM's T x T per row


class _Throughput:
    """tokens/s per log window and its mean over the windows after the first (warm-up,
    compile), plus MFU against the device's peak, counted two ways (trainer/flops.py)."""

    def __init__(self, ph: _Phase, peak_tflops: float | None):
        self.peak = peak_flops(ph.dist.device, peak_tflops)
        self.model, self.world = ph.model, ph.dist.world_size
        self.t, self.rate_sum, self.rate_n = time.perf_counter(), 0.0, 0
        self._clear()

    def _clear(self) -> None:
        self.tokens, self.flops_palm, self.pairs, self.pairs_full = 0, 0.0, 0, 0

    def add(self, st: _StepStats) -> None:
        self.tokens += st.tokens
        self.flops_palm += st.tokens * self.model.flops_per_token(st.seq_len)
        self.pairs += st.attn_pairs
        self.pairs_full += flop_count.full_pairs(st.rows, st.seq_len)

    def restart(self) -> None:  # eval and checkpoint time is not training throughput
        self.t = time.perf_counter()

    def window(self, counted: bool) -> _Window:
        elapsed = time.perf_counter() - self.t
        rate = self.tokens / elapsed if elapsed > 0 else 0.0
        if counted:
            self.rate_sum, self.rate_n = self.rate_sum + rate, self.rate_n + 1
        c = self.model.cfg
        actual = self.tokens * self.model.flops_per_token(0) + flop_count.attn_flops(
            self.pairs, c.n_layers, c.n_heads, c.head_dim
        )
        per_s = self.peak * self.world * elapsed if self.peak and elapsed > 0 else None
        w = _Window(
            rate,
            self.flops_palm / per_s if per_s else None,
            actual / per_s if per_s else None,
            self.pairs / self.pairs_full if self.pairs_full else 0.0,
        )
        self.t = time.perf_counter()
        self._clear()
        return w

    @property
    def mean(self) -> float:
        return self.rate_sum / self.rate_n if self.rate_n else 0.0


def _log_window(ph, done, is_last, losses, grad_norm, speed, metrics, bar, show) -> None:
    w = speed.window(done > ph.start + ph.cfg.log_every or is_last)
    rate, mfu = w.rate, w.mfu
    lr = ph.scheduler.get_last_lr()[0]
    metrics.write(
        {
            "type": "train",
            "step": done,
            "loss": _finite_or_none(losses[-1]),  # null for a skipped NaN/inf step: metrics.jsonl stays JSON
            "lr": lr,
            "tokens": ph.tokens_seen,
            "tokens_per_s": round(rate, 1),
            "grad_norm": _finite_or_none(float(grad_norm)),
            "mfu": mfu,
            "mfu_attn_actual": w.mfu_attn_actual,
            "attn_pairs_frac": round(w.attn_pairs_frac, 6),
            "seq_len": ph.last.seq_len if ph.last else ph.seq_len,
        }
    )
    shown = _shown_mfu(w, "n/a")
    bar.set_postfix_str(f"loss {losses[-1]:.4f} lr {lr:.2e} {rate:,.0f} tok/s MFU {shown}")
    if not show:
        shown = _shown_mfu(w, "n/a (give --peak-tflops)")
        ph.say(f"step {done}/{ph.cfg.steps} loss {losses[-1]:.4f} lr {lr:.2e} {rate:,.0f} tok/s MFU {shown}")


def _shown_mfu(w: _Window, missing: str) -> str:
    """'41.2% (attn actual 30.5%, 12% of T^2 attended)': PaLM's count, then what ran."""
    frac = f"{w.attn_pairs_frac:.0%} of T^2 attended"
    if w.mfu is None:
        return f"{missing} ({frac})"
    return f"{w.mfu:.1%} (attn actual {w.mfu_attn_actual:.1%}, {frac})"


def _eval_and_log(ph: _Phase, done: int, metrics: _Metrics) -> dict[str, float]:
    result = evaluate(ph.model, ph.evals, ph.micro, ph.dist, ph.autocast)
    mean = float(np.mean(list(result.values()))) if result else None
    metrics.write({"type": "eval", "step": done, "eval_loss": result, "eval_loss_mean": mean})
    ph.say(f"step {done} eval loss: " + ", ".join(f"{d} {v:.4f}" for d, v in result.items()))
    return result


def _save(ph: _Phase, step: int) -> Path | None:
    if not ph.dist.is_main:
        return None
    state = {
        "format": 1,
        "step": step,
        "tokens": ph.tokens_seen,
        "optimizer": ph.optimizer.state_dict(),
        "scheduler": ph.scheduler.state_dict(),
        "loader": ph.loader.state_dict(),
        "rng": ckpt_io.rng_state(),
        "nonfinite_skips": ph.nonfinite_skips,
    }
    return ckpt_io.save_checkpoint(
        ph.out,
        step,
        ph.model,
        state,
        {**ph.meta_base, "tokens": ph.tokens_seen},
        files=ph.tok_files,
        keep_last=ph.cfg.keep_last,
    )


def release_compile_workers() -> None:
    """torch.compile keeps a pool of compile worker processes (inductor's SubprocPool: one per
    core, 15 on a 16-core GPU host) alive for the rest of the process; shutting it down when the
    training loop ends lets the process exit with its work (benchmarks/exit_probe.py measures it)."""
    try:
        from torch._inductor.async_compile import shutdown_compile_workers
    except ImportError:  # a torch without inductor's pool
        return
    shutdown_compile_workers()


def pretrain(
    cfg: TrainConfig,
    run_dir: str | Path,
    out_dir: str | Path,
    tokenizer_path: str | Path,
    phase: int | str = 1,
    init: str | Path | None = None,
    resume: bool = False,
    tokens_dir: str | Path | None = None,
    peak_tflops: float | None = None,
    device: str | None = None,
    stop_after: int | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    allow_config_change: bool = False,
    tensorboard: bool | None = None,
) -> PretrainResult:
    """Train one phase; returns the losses of the steps run. `stop_after` ends the run after
    that step (as a preempted job would; used by the resume tests). `resume` refuses a config
    that differs from the checkpoint's (beyond RESUME_MAY_CHANGE) unless `allow_config_change`.
    A NaN/inf loss or gradient raises NonFiniteError before anything of that step is saved
    (or is skipped, up to optim.max_nonfinite_skips). `tensorboard` (default: the config's
    `tensorboard`, when it has one) also writes TensorBoard event files beside metrics.jsonl
    (rank 0); without the tensorboard package it stops with TrainError before anything runs."""
    if tensorboard is None:
        tensorboard = bool(getattr(cfg, "tensorboard", False))
    if tensorboard and not tensorboard_available():  # every rank checks: none waits on one that quit
        raise TrainError(TENSORBOARD_MISSING)
    ph = _setup(
        cfg,
        run_dir,
        out_dir,
        tokenizer_path,
        phase,
        init,
        resume,
        tokens_dir,
        device,
        progress,
        log,
        allow_config_change,
    )
    dist, model, start = ph.dist, ph.model, ph.start
    if dist.is_main:
        ph.out.mkdir(parents=True, exist_ok=True)
    metrics = _Metrics(ph.out / METRICS, dist.is_main, ph.resumed, tensorboard)
    metrics.write(
        {
            "type": "start",
            "step": start,
            "lineage": ph.meta_base["lineage"],
            "train_config_hash": cfg.config_hash(),
            "params": model.num_params(non_embedding=False),
            "world_size": dist.world_size,
            "device": str(dist.device),
            "tokens_per_step": ph.step_tokens,
        }
    )
    ph.say(
        f"phase {phase}: {model.num_params(non_embedding=False):,} parameters, {ph.store.index['documents']:,} "
        f"documents / {ph.store.index['tokens']:,} tokens in {len(ph.store.cells)} cells, {ph.step_tokens:,} tokens "
        f"per step, {dist.world_size} process(es) on {dist.device}, steps {start}->{cfg.steps}"
    )
    if cfg.long and cfg.long.curriculum:
        stages = [
            f"<{st.until_step}: T={st.seq_len} x {st.batch_size or cfg.data.batch_size}" for st in cfg.long.curriculum
        ]
        ph.say(f"curriculum: {', '.join(stages)}, then T={cfg.data.seq_len} x {cfg.data.batch_size} rows")

    show = progress_enabled(progress)
    bar = progress_bar(
        cfg.steps, "step", f"phase {phase}", enabled=show and dist.is_main, initial=start, dynamic_ncols=True
    )
    speed = _Throughput(ph, peak_tflops)
    result = PretrainResult(step=start)
    pending: list[torch.Tensor] = []  # per-step losses not yet copied to the host
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    model.train()
    try:
        for step in range(start, end):
            loss, grad_norm, finite = _train_step(ph)
            if not finite:  # skipped (counted) or NonFiniteError: before any save of this step
                _nonfinite_step(ph, step + 1, loss, grad_norm, metrics)
            pending.append(loss)
            speed.add(ph.last)
            done = step + 1
            is_last = done == end
            if done % cfg.log_every == 0 or is_last:
                losses = torch.stack(pending).tolist()  # one host sync per log interval
                pending.clear()
                result.losses += losses
                _log_window(ph, done, is_last, losses, grad_norm, speed, metrics, bar, show)
            bar.update(1)
            final = done == cfg.steps
            if ph.evals and ((cfg.eval_every and done % cfg.eval_every == 0) or final):
                result.eval = _eval_and_log(ph, done, metrics)
                speed.restart()
            if (cfg.ckpt_every and done % cfg.ckpt_every == 0) or final:
                _check_finite_before_save(ph, done)
                result.checkpoint = _save(ph, done) or result.checkpoint
                speed.restart()
            result.step = done
    finally:
        bar.close()
        metrics.close()
        if cfg.compile:
            release_compile_workers()
    barrier()
    result.tokens_per_s = speed.mean
    if result.losses:
        ckpt = f", checkpoint {result.checkpoint}" if result.checkpoint else ""
        ph.say(
            f"phase {phase}: steps {start}->{result.step}, loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}, "
            f"{result.tokens_per_s:,.0f} tokens/s{ckpt}"
        )
    return result
