"""Checkpoints you can trust (issue 20, item 5): every file's sha256 in meta.json, verified by
every loader; a NaN/inf loss or gradient stops training before anything is saved; --resume
refuses a changed config unless --allow-config-change. Each repro input is made here: a tiny
checkpoint (the trainer tests' SMALL config), then flipped bytes, a poisoned loss, a new lr."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_trainer_train import SMALL
from typer.testing import CliRunner

from edumix.cli import app
from edumix.core.hashing import file_sha256
from edumix.trainer import checkpoint as ckpt_io
from edumix.trainer import train as train_mod
from edumix.trainer.checkpoint import CheckpointIntegrityError, UnverifiedCheckpointWarning
from edumix.trainer.config import load_train_config
from edumix.trainer.model import Transformer
from edumix.trainer.train import RESUME_MAY_CHANGE, NonFiniteError, TrainError, config_changes, lr_at, pretrain

FILES = {"model.safetensors", "trainer_state.pt", "tokenizer.json", "tokenizer_config.json"}
quiet = {"progress": False, "log": lambda m: None}


@pytest.fixture(scope="module")
def small_yaml(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def trained(run_dir, tokenizer_path, small_yaml, tmp_path_factory) -> Path:
    """A phase-1 --out stopped after step 3 (as a preempted job): latest = step-00000003."""
    out = tmp_path_factory.mktemp("trained") / "p1"
    pretrain(load_train_config(small_yaml), run_dir, out, tokenizer_path, stop_after=3, **quiet)
    assert ckpt_io.latest_name(out) == "step-00000003"
    return out


@pytest.fixture
def out(trained, tmp_path) -> Path:
    """A private copy of the trained --out, free to corrupt."""
    return Path(shutil.copytree(trained, tmp_path / "p1"))


def _flip(path: Path, n: int = 64) -> None:
    """Invert n bytes in the middle of the file (inside the tensor data for weights and state)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    for i in range(mid, mid + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _strip_checksums(ck: Path) -> None:
    """Make ck look like a checkpoint written before digests were recorded."""
    meta = json.loads((ck / "meta.json").read_text())
    del meta["checksums"]
    (ck / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))


def _state(out: Path) -> tuple[str | None, list[str]]:
    return ckpt_io.latest_name(out), [p.name for p in ckpt_io.list_checkpoints(out)]


def _cli(args: list[str]):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output + repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], result.output
    return lines[0]


def test_meta_records_the_sha256_of_every_file(trained):
    ck = trained / "step-00000003"
    meta = ckpt_io.read_meta(ck)
    sums = meta["checksums"]
    assert sums["algorithm"] == "sha256" and set(sums["files"]) == FILES
    assert {p.name for p in ck.iterdir()} == FILES | {"meta.json"}  # nothing saved goes unlisted
    for name, digest in sums["files"].items():
        assert digest == file_sha256(ck / name)
    opened = ckpt_io.open_checkpoint(trained)
    assert opened.verified and opened.path == ck and opened.meta == meta


@pytest.mark.parametrize("name", sorted(FILES))
def test_any_flipped_file_is_refused_by_open_checkpoint(out, name):
    path = out / "step-00000003" / name
    recorded = ckpt_io.read_meta(out)["checksums"]["files"][name]
    _flip(path, 16 if path.stat().st_size > 64 else 1)
    with pytest.raises(CheckpointIntegrityError) as e:
        ckpt_io.open_checkpoint(out)
    assert str(path) in str(e.value) and recorded in str(e.value) and file_sha256(path) in str(e.value)


def test_flipped_trainer_state_refuses_resume_and_keeps_latest(out, run_dir, tokenizer_path, small_yaml):
    state = out / "step-00000003" / "trainer_state.pt"
    recorded = file_sha256(state)
    _flip(state)
    torch.load(state, weights_only=True)  # the corruption is the silent kind: it still unpickles
    found = file_sha256(state)
    before = _state(out)
    with pytest.raises(CheckpointIntegrityError, match="trainer_state.pt is corrupt") as e:
        pretrain(load_train_config(small_yaml), run_dir, out, tokenizer_path, resume=True, **quiet)
    assert recorded in str(e.value) and found in str(e.value)
    with pytest.raises(CheckpointIntegrityError):
        ckpt_io.load_state(out)
    args = ["pretrain", "--data", run_dir, "--config", small_yaml, "--out", out, "--resume"]
    _one_line_error(_cli(args), "trainer_state.pt is corrupt", recorded, found)
    assert _state(out) == before and not list(out.glob(".tmp-*"))


def test_flipped_weights_refuse_generate_export_init_and_resume(out, run_dir, tokenizer_path, small_yaml, tmp_path):
    weights = out / "step-00000003" / "model.safetensors"
    clean = {k: v.clone() for k, v in load_file(weights).items()}
    recorded = file_sha256(weights)
    _flip(weights)
    flipped = load_file(weights)  # loads without complaint: only the values changed
    assert flipped.keys() == clean.keys() and any(not torch.equal(clean[k], flipped[k]) for k in clean)
    found = file_sha256(weights)
    needles = ("model.safetensors is corrupt", recorded, found)

    with pytest.raises(CheckpointIntegrityError, match="model.safetensors is corrupt"):
        ckpt_io.load_model_from_checkpoint(out)
    with pytest.raises(CheckpointIntegrityError, match="model.safetensors is corrupt"):
        ckpt_io.load_weights(Transformer(_model_cfg(out)), out)
    _one_line_error(_cli(["generate", "--ckpt", out, "--prompt", "the river", "--max-new-tokens", "4"]), *needles)
    _one_line_error(_cli(["export", "--ckpt", out, "--out", tmp_path / "hf"]), *needles)
    assert not (tmp_path / "hf").exists()
    phase2 = ["pretrain", "--phase", "2", "--data", run_dir, "--config", small_yaml, "--out", tmp_path / "p2"]
    _one_line_error(_cli([*phase2, "--init", out]), *needles)
    assert not (tmp_path / "p2").exists()
    cfg2 = load_train_config(small_yaml, 2)
    with pytest.raises(CheckpointIntegrityError):
        pretrain(cfg2, run_dir, tmp_path / "p2", tokenizer_path, phase=2, init=out, **quiet)
    resume = ["pretrain", "--data", run_dir, "--config", small_yaml, "--out", out, "--resume"]
    before = _state(out)
    _one_line_error(_cli(resume), *needles)
    assert _state(out) == before


def _model_cfg(out: Path):
    from edumix.trainer.model import ModelConfig

    return ModelConfig.from_dict(ckpt_io.read_meta(out)["model_config"])


def test_edited_or_incomplete_meta_is_refused(out):
    ck = out / "step-00000003"
    meta = json.loads((ck / "meta.json").read_text())
    meta["train_config"]["optim"]["lr"] = 0.5  # an edit that leaves valid JSON
    (ck / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointIntegrityError, match=r"meta.json is corrupt: its content hashes to sha256 \w{64}"):
        ckpt_io.read_meta(out)
    (ck / "meta.json").write_text(json.dumps(meta).replace('"checksums"', '"chec\\u006bsums_"'))
    with pytest.raises(CheckpointIntegrityError, match="no 'checksums' entry"):  # not taken for an old checkpoint
        ckpt_io.open_checkpoint(out)
    (ck / "meta.json").write_bytes(b"\xff" + (ck / "meta.json").read_bytes())
    with pytest.raises(CheckpointIntegrityError, match="not valid JSON"):
        ckpt_io.open_checkpoint(out)


def test_a_missing_file_is_refused(out):
    (out / "step-00000003" / "tokenizer_config.json").unlink()
    with pytest.raises(CheckpointIntegrityError, match="tokenizer_config.json is missing"):
        ckpt_io.open_checkpoint(out)


def test_old_checkpoint_without_digests_loads_with_a_warning(out, tmp_path):
    _strip_checksums(out / "step-00000003")
    with pytest.warns(UnverifiedCheckpointWarning, match="NOT verified"):
        model, meta = ckpt_io.load_model_from_checkpoint(out)
    assert "checksums" not in meta and not ckpt_io.open_checkpoint(out, warn=lambda m: None).verified
    result = _cli(["generate", "--ckpt", out, "--prompt", "the river", "--max-new-tokens", "4", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "NOT verified" in result.output


def test_old_checkpoint_with_nan_weights_is_refused(out):
    """The issue's end state: an undigested checkpoint whose tensors are NaN. `generate` used
    to print nothing and exit 0."""
    ck = out / "step-00000003"
    tensors = load_file(ck / "model.safetensors")
    tensors = {k: torch.full_like(v, float("nan")) for k, v in tensors.items()}
    save_file(tensors, str(ck / "model.safetensors"))
    _strip_checksums(ck)
    result = _cli(["generate", "--ckpt", out, "--prompt", "the river", "--max-new-tokens", "4"])
    assert result.exit_code == 2 and "NaN or infinite" in result.output, result.output
    assert "Traceback" not in result.output


def test_old_checkpoint_with_nan_optimizer_state_refuses_resume(out, run_dir, tokenizer_path, small_yaml):
    ck = out / "step-00000003"
    state = torch.load(ck / "trainer_state.pt", weights_only=True)
    state["optimizer"]["state"][0]["exp_avg"].fill_(float("nan"))
    torch.save(state, ck / "trainer_state.pt")
    _strip_checksums(ck)
    before = _state(out)
    with pytest.raises(NonFiniteError, match="exp_avg"):
        pretrain(load_train_config(small_yaml), run_dir, out, tokenizer_path, resume=True, **quiet)
    assert _state(out) == before


def _poison_loss(monkeypatch, steps: set[int], grad_accum: int = 2) -> None:
    """Multiply the first micro-batch loss of each of these (1-based) steps by NaN."""
    real, calls = Transformer.forward, []

    def forward(self, *args, **kwargs):
        logits, loss = real(self, *args, **kwargs)
        if self.training and loss is not None:
            calls.append(1)
            if (len(calls) - 1) // grad_accum + 1 in steps and (len(calls) - 1) % grad_accum == 0:
                loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(Transformer, "forward", forward)


@pytest.mark.parametrize("bad_step", [5, 6])  # between checkpoints, and on the checkpoint step itself
def test_nan_loss_stops_training_without_a_checkpoint(
    bad_step, run_dir, tokenizer_path, small_yaml, tmp_path, monkeypatch
):
    _poison_loss(monkeypatch, {bad_step})
    out = tmp_path / "run"
    with pytest.raises(NonFiniteError, match=f"step {bad_step}: non-finite loss nan") as e:
        pretrain(load_train_config(small_yaml), run_dir, out, tokenizer_path, **quiet)
    assert "`latest` still names step-00000003" in str(e.value)
    assert _state(out) == ("step-00000003", ["step-00000003"]) and not list(out.glob(".tmp-*"))
    model, _ = ckpt_io.load_model_from_checkpoint(out)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_nan_loss_through_the_cli_is_one_line(run_dir, tokenizer_path, small_yaml, tmp_path, monkeypatch):
    _poison_loss(monkeypatch, {2})
    out = tmp_path / "run"
    args = ["pretrain", "--data", run_dir, "--tokenizer", tokenizer_path, "--config", small_yaml, "--out", out]
    result = _cli(args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "step 2: non-finite loss nan" in errors[0] and "no checkpoint was written" in errors[0]
    assert _state(out) == (None, [])


def test_bounded_skips(run_dir, tokenizer_path, small_yaml, tmp_path, monkeypatch):
    """optim.max_nonfinite_skips: 1 skips one bad step (no update; counted in the saved state,
    so a resume keeps the bound) and stops at the second."""
    cfg = load_train_config(small_yaml, overrides={"optim": {"max_nonfinite_skips": 1}})
    _poison_loss(monkeypatch, {2, 5})
    out = tmp_path / "run"
    with pytest.raises(NonFiniteError, match=r"step 5: .*1 of optim.max_nonfinite_skips=1 skips used"):
        pretrain(cfg, run_dir, out, tokenizer_path, **quiet)
    assert _state(out) == ("step-00000003", ["step-00000003"])
    assert ckpt_io.load_state(out)["nonfinite_skips"] == 1
    lines = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    skips = [r for r in lines if r["type"] == "skip"]
    assert [(r["step"], r["loss"], r["skips"]) for r in skips] == [(2, None, 1)]
    train = {r["step"]: r for r in lines if r["type"] == "train"}
    assert train[2]["loss"] is None and math.isfinite(train[3]["loss"])
    # the skipped step left the weights alone: AdamW has taken 2 steps in 3
    assert ckpt_io.load_state(out)["optimizer"]["state"][0]["step"] == 2


def test_nonfinite_weights_are_never_saved(run_dir, tokenizer_path, small_yaml, tmp_path, monkeypatch):
    """An update that overflows (finite loss and gradient, non-finite weights) on a
    checkpoint step: the pre-save check stops the run."""
    real = train_mod._train_step

    def overflowing(ph):
        result = real(ph)
        if ph.tokens_seen == 6 * ph.step_tokens:
            with torch.no_grad():
                ph.model.norm.weight[0] = float("inf")
        return result

    monkeypatch.setattr(train_mod, "_train_step", overflowing)
    out = tmp_path / "run"
    with pytest.raises(NonFiniteError, match="step 6: NaN or infinite values in weight norm.weight"):
        pretrain(load_train_config(small_yaml), run_dir, out, tokenizer_path, **quiet)
    assert _state(out) == ("step-00000003", ["step-00000003"])


def test_resume_with_a_changed_lr_is_refused_then_allowed(out, run_dir, tokenizer_path, small_yaml, monkeypatch):
    changed = small_yaml.parent / "changed_lr.yaml"
    changed.write_text(SMALL.replace("lr: 1.0e-2", "lr: 2.0e-2"))
    cfg = load_train_config(changed)
    before = _state(out)
    with pytest.raises(TrainError, match=r"optim\.lr: 0\.01 \(checkpoint\) -> 0\.02 \(now\)") as e:
        pretrain(cfg, run_dir, out, tokenizer_path, resume=True, **quiet)
    assert "--allow-config-change" in str(e.value) and _state(out) == before
    args = ["pretrain", "--data", run_dir, "--config", changed, "--out", out, "--resume"]
    result = _cli(args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "optim.lr: 0.01 (checkpoint) -> 0.02 (now)" in result.output and "--allow-config-change" in result.output

    real, used = train_mod._train_step, []

    def spy(ph):
        used.append(ph.optimizer.param_groups[0]["lr"])
        return real(ph)

    monkeypatch.setattr(train_mod, "_train_step", spy)
    result = _cli([*args, "--allow-config-change"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "optim.lr: 0.01 (checkpoint) -> 0.02 (now)" in result.output
    # steps 3, 4, 5 (0-based) ran at the new config's schedule, not a blend of the two
    assert used == pytest.approx([lr_at(s, cfg) for s in (3, 4, 5)], rel=1e-12)
    meta = ckpt_io.read_meta(out)
    assert meta["step"] == 6 and meta["train_config"]["optim"]["lr"] == 0.02
    assert meta["config_changes"] == [{"step": 3, "field": "optim.lr", "checkpoint": 0.01, "now": 0.02}]


def test_config_changes_field_by_field(trained, small_yaml):
    meta = ckpt_io.read_meta(trained)
    mcfg = _model_cfg(trained)
    tok = meta["tokenizer_sha256"]
    assert config_changes(meta, load_train_config(small_yaml), mcfg, tok) == []
    longer = load_train_config(small_yaml, overrides={"steps": 8, "optim": {"max_nonfinite_skips": 2}})
    changes = config_changes(meta, longer, mcfg, tok)
    assert changes == [("optim.max_nonfinite_skips", 0, 2), ("steps", 6, 8)]
    assert all(k in RESUME_MAY_CHANGE for k, _, _ in changes)  # resumable without the flag
    other = load_train_config(
        small_yaml, overrides={"seed": 3, "data": {"grad_accum": 1}, "optim": {"betas": [0.9, 0.99]}}
    )
    assert config_changes(meta, other, mcfg, "f" * 64) == [
        ("data.grad_accum", 2, 1),
        ("optim.betas", [0.9, 0.95], [0.9, 0.99]),
        ("seed", 0, 3),
        ("tokenizer_sha256", tok, "f" * 64),
    ]
    # a checkpoint saved before a config field existed: its default is not a change
    old = json.loads(json.dumps(meta))
    del old["train_config"]["optim"]["max_nonfinite_skips"]
    assert config_changes(old, load_train_config(small_yaml), mcfg, tok) == []
