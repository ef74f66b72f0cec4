"""Crash-safe checkpoints: a directory per step, made whole in a temp directory, fsynced,
then renamed into place; the `latest` pointer is replaced (rename) only after that. A
process killed at any instant leaves `latest` naming a complete checkpoint.

OUT/step-00000100/  model.safetensors   weights (safetensors: no pickle, tied weights ok)
                    trainer_state.pt    optimizer, scheduler, loader position, RNG states,
                                        step (tensors and plain values only: loads with
                                        torch.load(weights_only=True))
                    meta.json           model + train config, lineage, tokenizer sha256
                    tokenizer.json, tokenizer_config.json  (so a checkpoint runs alone)
OUT/latest          "step-00000100"
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

LATEST = "latest"
MODEL, STATE, META = "model.safetensors", "trainer_state.pt", "meta.json"
_STEP_DIR = re.compile(r"^step-(\d{8})$")


class CheckpointError(ValueError):
    pass


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
            "has_gauss": np_state["has_gauss"],
            "gauss": np_state["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _write_model(model: torch.nn.Module, path: Path) -> None:
    save_model(model, str(path))


def _write_state(state: dict[str, Any], path: Path) -> None:
    torch.save(state, path)


def _write_meta(meta: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")


def save_checkpoint(
    out_dir: str | Path,
    step: int,
    model: torch.nn.Module,
    state: dict[str, Any],
    meta: dict[str, Any],
    files: list[Path] | None = None,
    keep_last: int | None = None,
) -> Path:
    """Write OUT/step-N atomically and point `latest` at it; `model` is the bare module
    (not DDP- or compile-wrapped). `files` are copied in (the tokenizer)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".tmp-step-*"):  # left by a killed writer: never pointed to
        shutil.rmtree(stale, ignore_errors=True)
    final = out / step_dir_name(step)
    tmp = out / f".tmp-{final.name}-{os.getpid()}"
    tmp.mkdir()
    _write_model(model, tmp / MODEL)
    _write_state(state, tmp / STATE)
    _write_meta({**meta, "step": step}, tmp / META)
    for f in files or []:
        shutil.copyfile(f, tmp / Path(f).name)
    for f in tmp.iterdir():
        _fsync_file(f)
    _fsync_dir(tmp)
    if final.exists():  # a previous attempt at this step that `latest` never named
        trash = out / f".tmp-step-replaced-{os.getpid()}"
        final.rename(trash)
        shutil.rmtree(trash)
    tmp.rename(final)
    _fsync_dir(out)
    pointer = out / f".{LATEST}.tmp"
    with open(pointer, "w") as fh:
        fh.write(final.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer, out / LATEST)
    _fsync_dir(out)
    if keep_last:
        for old in list_checkpoints(out)[:-keep_last]:
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    return sorted(p for p in out.iterdir() if p.is_dir() and _STEP_DIR.match(p.name)) if out.is_dir() else []


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory itself, or a training output directory (its `latest`)."""
    p = Path(path)
    if (p / MODEL).is_file() and (p / META).is_file():
        return p
    pointer = p / LATEST
    if pointer.is_file():
        target = p / pointer.read_text().strip()
        if (target / MODEL).is_file() and (target / META).is_file():
            return target
        raise CheckpointError(f"{pointer} names {target.name}, which is not a complete checkpoint")
    if not p.exists():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    raise CheckpointError(f"no checkpoint in {p} (expected {MODEL} + {META}, or a `{LATEST}` pointer)")


def read_meta(ckpt: str | Path) -> dict[str, Any]:
    return json.loads((resolve_checkpoint(ckpt) / META).read_text())


def load_weights(model: torch.nn.Module, ckpt: str | Path) -> None:
    missing, unexpected = load_model(model, str(resolve_checkpoint(ckpt) / MODEL), strict=False)
    if missing or unexpected:
        raise CheckpointError(f"checkpoint does not fit the model: missing {missing}, unexpected {unexpected}")


def load_state(ckpt: str | Path) -> dict[str, Any]:
    return torch.load(resolve_checkpoint(ckpt) / STATE, map_location="cpu", weights_only=True)


def load_model_from_checkpoint(ckpt: str | Path, **config_overrides: Any):
    """Build the model a checkpoint describes (meta.json) and load its weights; overrides
    change non-weight fields (e.g. max_seq_len, rope_scaling, attn_impl)."""
    from edumix.trainer.model import ModelConfig, Transformer

    meta = read_meta(ckpt)
    cfg = ModelConfig.from_dict({**meta["model_config"], **config_overrides})
    model = Transformer(cfg)
    load_weights(model, ckpt)
    return model, meta
