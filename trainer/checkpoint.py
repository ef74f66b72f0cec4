"""Crash-safe checkpoints: a directory per step, made whole in a temp directory, fsynced,
then renamed into place; the `latest` pointer is replaced (rename) only after that. A
process killed at any instant leaves `latest` naming a complete checkpoint.

OUT/step-00000100/  model.safetensors   weights (safetensors: no pickle, tied weights ok)
                    trainer_state.pt    optimizer, scheduler, loader position, RNG states,
                                        step (tensors and plain values only: loads with
                                        torch.load(weights_only=True))
                    meta.json           model + train config, lineage, tokenizer sha256, and
                                        `checksums`: the sha256 of every other file in the
                                        directory plus a digest of meta.json's own content
                    tokenizer.json, tokenizer_config.json  (so a checkpoint runs alone)
OUT/latest          "step-00000100"

Every loader verifies what it reads against those digests (`open_checkpoint` all files at
once; `load_weights` / `load_state` the file they load): a flipped byte is a
`CheckpointIntegrityError` naming the file and both digests, never a silently different
model. A checkpoint written before digests were recorded loads with a warning.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import shutil
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from edumix.core.hashing import content_digest, file_sha256

LATEST = "latest"
MODEL, STATE, META = "model.safetensors", "trainer_state.pt", "meta.json"
TOKENIZER = "tokenizer.json"
CHECKSUMS = "checksums"
# Every key meta.json had before `checksums` was added: an old checkpoint has only these.
LEGACY_META_KEYS = frozenset(
    {
        "model_config",
        "train_config",
        "train_config_hash",
        "lineage",
        "phase",
        "tokenizer_sha256",
        "world_size",
        "edumix_version",
        "torch_version",
        "tokens",
        "step",
    }
)
_STEP_DIR = re.compile(r"^step-(\d{8})$")


class CheckpointError(ValueError):
    pass


class CheckpointIntegrityError(CheckpointError):
    """A checkpoint file whose bytes are not the ones written at save time."""


class UnverifiedCheckpointWarning(UserWarning):
    """A checkpoint written before digests were recorded: loaded, but not verified."""


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


def _meta_digest(meta: dict[str, Any]) -> str:
    """sha256 of meta.json's content as parsed (canonical JSON), its own digest left out:
    meta.json cannot hold the hash of its own bytes, but it can hold the hash of its values."""
    body = {k: v for k, v in meta.items() if k != CHECKSUMS}
    body[CHECKSUMS] = {k: v for k, v in meta[CHECKSUMS].items() if k != "meta"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return content_digest(canonical.encode())


def _with_checksums(meta: dict[str, Any], folder: Path) -> dict[str, Any]:
    """meta (as meta.json will read back) plus the sha256 of every file already in `folder`."""
    files = {f.name: file_sha256(f) for f in sorted(folder.iterdir()) if f.name != META}
    meta = json.loads(json.dumps({**meta, CHECKSUMS: {"algorithm": "sha256", "files": files}}, default=str))
    meta[CHECKSUMS]["meta"] = _meta_digest(meta)
    return meta


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
    (not DDP- or compile-wrapped). `files` are copied in (the tokenizer). meta.json is
    written last and records the sha256 of every other file (see `open_checkpoint`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".tmp-step-*"):  # left by a killed writer: never pointed to
        shutil.rmtree(stale, ignore_errors=True)
    final = out / step_dir_name(step)
    tmp = out / f".tmp-{final.name}-{os.getpid()}"
    tmp.mkdir()
    _write_model(model, tmp / MODEL)
    _write_state(state, tmp / STATE)
    for f in files or []:
        shutil.copyfile(f, tmp / Path(f).name)
    _write_meta(_with_checksums({**meta, "step": step}, tmp), tmp / META)
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


def latest_name(out_dir: str | Path) -> str | None:
    """The step directory `OUT/latest` names, or None when there is none (for messages)."""
    pointer = Path(out_dir) / LATEST
    return pointer.read_text().strip() if pointer.is_file() else None


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory itself, or a training output directory (its `latest`).
    Only locates it: `open_checkpoint` also verifies it."""
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


def _parse_meta(ck: Path) -> dict[str, Any]:
    """meta.json of checkpoint directory `ck`, its own digest checked (when it has one)."""
    path = ck / META
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointIntegrityError(f"{path} is corrupt: not valid JSON ({e})") from e
    if not isinstance(meta, dict):
        raise CheckpointIntegrityError(f"{path} is corrupt: not a JSON object")
    if CHECKSUMS not in meta:
        if not set(meta) <= LEGACY_META_KEYS:  # a mangled "checksums" key must not pass as an old checkpoint
            unknown = sorted(set(meta) - LEGACY_META_KEYS)
            raise CheckpointIntegrityError(f"{path} is corrupt: no {CHECKSUMS!r} entry, unknown key(s) {unknown}")
        return meta
    sums = meta[CHECKSUMS]
    if not (
        isinstance(sums, dict)
        and isinstance(sums.get("files"), dict)
        and isinstance(sums.get("meta"), str)
        and sums.get("algorithm") == "sha256"
    ):
        raise CheckpointIntegrityError(f"{path} is corrupt: its {CHECKSUMS!r} entry is malformed")
    actual = _meta_digest(meta)
    if actual != sums["meta"]:
        raise CheckpointIntegrityError(
            f"{path} is corrupt: its content hashes to sha256 {actual}, but it recorded {sums['meta']} when saved"
        )
    return meta


def _verify_file(ck: Path, meta: dict[str, Any], name: str) -> bool:
    """Check one file against meta.json's digest; False when the checkpoint has no digests."""
    if CHECKSUMS not in meta:
        return False
    recorded = meta[CHECKSUMS]["files"].get(name)
    path = ck / name
    if recorded is None:
        raise CheckpointIntegrityError(f"{path}: meta.json records no sha256 for it (the checkpoint is incomplete)")
    if not path.is_file():
        raise CheckpointIntegrityError(f"{path} is missing (meta.json records sha256 {recorded})")
    actual = file_sha256(path)
    if actual != recorded:
        raise CheckpointIntegrityError(
            f"{path} is corrupt: its sha256 is {actual}, but meta.json recorded {recorded} when it was saved"
        )
    return True


def _unverified_message(ck: Path) -> str:
    return (
        f"{ck} was written before checkpoints recorded sha256 digests: its files are NOT verified "
        "(save it again with this version to get them)"
    )


def _warn_unverified(ck: Path, warn: Callable[[str], None] | None) -> None:
    if warn is None:
        warnings.warn(_unverified_message(ck), UnverifiedCheckpointWarning, stacklevel=3)
    else:
        warn(_unverified_message(ck))


def nonfinite_names(named: Iterable[tuple[str, torch.Tensor]]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity."""
    return [name for name, t in named if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def _load_weights_file(model: torch.nn.Module, path: Path) -> None:
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except (SafetensorError, RuntimeError, ValueError, OSError) as e:
        raise CheckpointError(f"{path}: cannot load the weights: {e}") from e
    if missing or unexpected:
        raise CheckpointError(f"checkpoint does not fit the model: missing {missing}, unexpected {unexpected}")
    bad = nonfinite_names(model.state_dict().items())
    if bad:
        raise CheckpointError(f"{path}: weight(s) {bad[:5]} hold NaN or infinite values; refusing to use them")


def _load_state_file(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: cannot load the trainer state: {e}") from e


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint directory whose files were all checked against meta.json's digests
    (`verified` False: an old checkpoint without digests, loaded with a warning)."""

    path: Path
    meta: dict[str, Any]
    verified: bool

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER

    def load_weights(self, model: torch.nn.Module) -> None:
        _load_weights_file(model, self.path / MODEL)

    def load_state(self) -> dict[str, Any]:
        return _load_state_file(self.path / STATE)

    def build_model(self, **config_overrides: Any):
        """The model meta.json describes, with these weights; overrides change non-weight
        fields (e.g. max_seq_len, rope_scaling, attn_impl)."""
        from edumix.trainer.model import ModelConfig, Transformer

        cfg = ModelConfig.from_dict({**self.meta["model_config"], **config_overrides})
        model = Transformer(cfg)
        self.load_weights(model)
        return model


def open_checkpoint(path: str | Path, warn: Callable[[str], None] | None = None) -> Checkpoint:
    """Locate a checkpoint (a step directory or a training --out) and verify every file
    meta.json lists, plus meta.json itself, before anything is loaded from it. A mismatch
    raises CheckpointIntegrityError naming the file and both digests. A checkpoint without
    digests (written before they were recorded) is reported through `warn` (default: a
    Python warning, UnverifiedCheckpointWarning) and loads."""
    ck = resolve_checkpoint(path)
    meta = _parse_meta(ck)
    if CHECKSUMS not in meta:
        _warn_unverified(ck, warn)
        return Checkpoint(ck, meta, False)
    for name in (MODEL, STATE):
        if name not in meta[CHECKSUMS]["files"]:
            raise CheckpointIntegrityError(f"{ck / META}: records no sha256 for {name} (the checkpoint is incomplete)")
    for name in sorted(meta[CHECKSUMS]["files"]):
        _verify_file(ck, meta, name)
    return Checkpoint(ck, meta, True)


def verify_checkpoint(path: str | Path, warn: Callable[[str], None] | None = None) -> Path:
    """`open_checkpoint(path).path`: the verified checkpoint directory."""
    return open_checkpoint(path, warn).path


def read_meta(ckpt: str | Path) -> dict[str, Any]:
    """meta.json, its own digest checked (the other files are not read: see open_checkpoint)."""
    return _parse_meta(resolve_checkpoint(ckpt))


def load_weights(model: torch.nn.Module, ckpt: str | Path) -> None:
    """Load model.safetensors into `model` after checking its sha256 against meta.json."""
    ck = resolve_checkpoint(ckpt)
    if not _verify_file(ck, _parse_meta(ck), MODEL):
        _warn_unverified(ck, None)
    _load_weights_file(model, ck / MODEL)


def load_state(ckpt: str | Path) -> dict[str, Any]:
    """trainer_state.pt after checking its sha256 against meta.json."""
    ck = resolve_checkpoint(ckpt)
    if not _verify_file(ck, _parse_meta(ck), STATE):
        _warn_unverified(ck, None)
    return _load_state_file(ck / STATE)


def load_model_from_checkpoint(ckpt: str | Path, **config_overrides: Any):
    """Build the model a checkpoint describes (meta.json) and load its weights, every file
    verified first (`open_checkpoint`); overrides change non-weight fields (e.g.
    max_seq_len, rope_scaling, attn_impl)."""
    ck = open_checkpoint(ckpt)
    return ck.build_model(**config_overrides), ck.meta
