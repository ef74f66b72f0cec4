"""Trainings as jobs: `edumix pretrain` (and, for phase 1, `edumix tokenizer train`) as child
processes, and what the service reads back from their files.

The service stands below the trainer's import graph (tests/test_layers.py): it never imports
edumix.trainer. It runs the trainer's commands as child processes and reads the files they
write, whose layout is the trainer's documented output:

    JOB/tokenizer/tokenizer.json    phase 1: `edumix tokenizer train` on the source run
    JOB/tokens/                     the token store (--tokens-dir: nothing is written into the run)
    JOB/ckpt/                       pretrain --out: metrics.jsonl, step-NNNNNNNN/{meta.json,...}, latest

A training config is checked before anything is written by the trainer's own loader
(load_train_config) in a short child process, so a bad field is a 422 naming it, as for runs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from html import escape
from pathlib import Path
from typing import Any

import yaml

from edumix.core.config import parse_yaml
from edumix.core.run_dir import MANIFEST

CKPT_DIR = "ckpt"
TOKENIZER = "tokenizer/tokenizer.json"
TOKENS_DIR = "tokens"
METRICS = "metrics.jsonl"
LATEST = "latest"
META = "meta.json"
# Where a run's mix manifest may be when its manifest.json does not name it: mix_manifest.json
# (run layout 2) or mix/manifest.json (layout 1).
MIX_MANIFESTS = ("mix_manifest.json", "mix/manifest.json")
STEP_RE = re.compile(r"^step-\d{8}$")
CONFIG_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEVICE_RE = r"^(cpu|cuda(:\d{1,2})?)$"

VALIDATE_TIMEOUT_S = 120.0
GENERATE_TIMEOUT_S = 120.0
MAX_GENERATIONS = 2  # generation child processes at once; more get 429

# The trainer's config loader in a child process (see the module docstring): prints one JSON line.
_VALIDATE = """\
import json, sys
from edumix.trainer.config import TrainConfigError, load_train_config
path, phase, overrides = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
try:
    cfg = load_train_config(path, phase, overrides)
except TrainConfigError as e:
    cause = e.__cause__
    errors = [
        {"field": ".".join(str(p) for p in x["loc"]) or "(top)", "msg": x["msg"]}
        for x in (cause.errors() if hasattr(cause, "errors") else [])
    ]
    print(json.dumps({"ok": False, "message": str(e).replace(path, "config_yaml"), "errors": errors}))
else:
    print(json.dumps({"ok": True, "config_hash": cfg.config_hash(), "steps": cfg.steps,
                      "seq_len": cfg.data.seq_len, "batch_size": cfg.data.batch_size}))
"""


class ConfigInvalid(ValueError):
    """A training config the trainer would refuse (HTTP 422)."""

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.detail, self.errors = detail, errors or []


class ValidatorFailed(RuntimeError):
    """The validation child process itself failed (HTTP 503)."""


# -- configs -------------------------------------------------------------------------------
def config_dir() -> Path | None:
    """trainer/configs/ of the installed edumix, found without importing the trainer."""
    spec = importlib.util.find_spec("edumix.trainer")  # imports `edumix` only, not the trainer
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "configs"
    return folder if folder.is_dir() else None


def config_names() -> list[str]:
    folder = config_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder else []


def config_text(name: str) -> str:
    """A shipped config's YAML; ConfigInvalid for a name that is not one (no path is taken)."""
    if not CONFIG_NAME_RE.match(name) or name not in config_names():
        raise ConfigInvalid(
            f"config: unknown training config {json.dumps(name)} (one of: {', '.join(config_names())})",
            [{"field": "config", "msg": "unknown training config"}],
        )
    return (config_dir() / f"{name}.yaml").read_text(encoding="utf-8")


def validate_config(text: str, phase: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """{config_hash, steps, seq_len, batch_size} of the config for `phase`, or ConfigInvalid.

    YAML syntax (duplicate keys too) is checked here; the schema by the trainer's loader in a
    child process, from a temporary file outside the service's home."""
    try:
        data = parse_yaml(text) if text.strip() else None
    except yaml.YAMLError as e:
        raise ConfigInvalid(f"config_yaml is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigInvalid("config_yaml must be a mapping of sections (model, data, optim, steps, ...)")
    with tempfile.TemporaryDirectory(prefix="edumix-serve-check-") as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        cmd = [sys.executable, "-c", _VALIDATE, str(path), str(phase), json.dumps(overrides)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=VALIDATE_TIMEOUT_S, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as e:
            raise ValidatorFailed(f"checking the config took over {VALIDATE_TIMEOUT_S:.0f} s") from e
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError) as e:
        raise ValidatorFailed(f"the config check failed (exit {proc.returncode}): {proc.stderr[-500:]}") from e
    if not result["ok"]:
        errors = result["errors"]
        detail = "invalid config: " + "; ".join(f"{x['field']}: {x['msg']}" for x in errors) if errors else ""
        raise ConfigInvalid(detail or result["message"], errors)
    return {k: v for k, v in result.items() if k != "ok"}


# -- commands ------------------------------------------------------------------------------
def commands(spec: dict[str, Any], job_dir: Path, run_dir: Path, init_ckpt: Path | None) -> list[list[str]]:
    """The argument lists one training runs, in order (never a shell string). A restart
    continues from the last checkpoint (--resume) and keeps a tokenizer that checkpoint used."""
    out = job_dir / CKPT_DIR
    resuming = (out / LATEST).is_file()
    cli = [sys.executable, "-m", "edumix.cli"]
    cmds = []
    pretrain = [*cli, "pretrain", "--phase", str(spec["phase"]), "--data", str(run_dir)]
    pretrain += ["--config", str(job_dir / "config.yaml"), "--out", str(out), "--tokens-dir", str(job_dir / TOKENS_DIR)]
    if spec["phase"] == 1:
        tokenizer = job_dir / TOKENIZER
        if not resuming:
            tokenizer.parent.mkdir(parents=True, exist_ok=True)
            cmds.append(
                [*cli, "tokenizer", "train", "--data", str(run_dir), "--out", str(tokenizer)]
                + ["--vocab-size", str(spec["vocab_size"])]
            )
        pretrain += ["--tokenizer", str(tokenizer)]
    else:
        pretrain += ["--init", str(init_ckpt)]
    if spec.get("steps"):
        pretrain += ["--steps", str(spec["steps"])]
    if spec.get("device"):
        pretrain += ["--device", spec["device"]]
    if spec.get("peak_tflops"):
        pretrain += ["--peak-tflops", repr(float(spec["peak_tflops"]))]
    if out.exists():
        pretrain.append("--resume")  # from its latest checkpoint, or from step 0 when there is none
    cmds.append(pretrain)
    return cmds


# -- what a training wrote -----------------------------------------------------------------
def read_json_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_metrics(ckpt_dir: Path) -> dict[str, Any]:
    """metrics.jsonl as {start, train: [...], eval: [...]}; a line being written is skipped."""
    out: dict[str, Any] = {"start": None, "train": [], "eval": []}
    try:
        text = (ckpt_dir / METRICS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        kind = row.get("type")
        if kind == "start":
            out["start"] = row
            out["train"] = [r for r in out["train"] if r.get("step", 0) <= row.get("step", 0)]
        elif kind in ("train", "eval"):
            out[kind].append(row)
    return out


def checkpoints(ckpt_dir: Path) -> list[dict[str, Any]]:
    """Every complete checkpoint (a step directory with its meta.json), oldest first."""
    if not ckpt_dir.is_dir():
        return []
    latest = latest_checkpoint(ckpt_dir)
    out = []
    for path in sorted(ckpt_dir.iterdir()):
        if not STEP_RE.match(path.name) or not (path / META).is_file():
            continue
        meta = read_json_file(path / META) or {}
        out.append(
            {
                "name": path.name,
                "step": meta.get("step", int(path.name[5:])),
                "latest": path.name == latest,
                "train_config_hash": meta.get("train_config_hash"),
                "lineage": lineage_of_meta(meta),
            }
        )
    return out


def latest_checkpoint(ckpt_dir: Path) -> str | None:
    try:
        name = (ckpt_dir / LATEST).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if STEP_RE.match(name) and (ckpt_dir / name / META).is_file() else None


def checkpoint_path(ckpt_dir: Path, name: str | None) -> Path | None:
    """JOB/ckpt/<name> (default: the latest) when it is a complete checkpoint; the name is
    checked against the step pattern, so no other path can be reached."""
    name = name or latest_checkpoint(ckpt_dir)
    if not name or not STEP_RE.match(name) or not (ckpt_dir / name / META).is_file():
        return None
    return ckpt_dir / name


def lineage_of_meta(meta: dict[str, Any]) -> dict[str, Any]:
    lineage = meta.get("lineage") or {}
    out = {k: lineage.get(k) for k in ("config_hash", "input_fingerprint", "recipe_hash", "tokenizer_sha256")}
    out["train_config_hash"] = meta.get("train_config_hash")
    init = lineage.get("init_from")
    if isinstance(init, dict):
        out["init_from"] = {"path": init.get("path"), "step": init.get("step")}
    return out


def run_lineage(run_dir: Path) -> dict[str, Any]:
    """config hash, input fingerprint and recipe hash of a finished run, from its top-level
    manifest.json; the recipe hash from wherever the mix manifest is (the manifest's own field,
    the path its `mix` entry names, or either run layout's place for it)."""
    manifest = read_json_file(run_dir / MANIFEST) or {}
    out = {k: manifest.get(k) for k in ("config_hash", "input_fingerprint", "recipe_hash")}
    if out["recipe_hash"] is None:
        mix = manifest.get("mix")
        mix_manifest: dict[str, Any] | None = mix if isinstance(mix, dict) else None
        candidates = ([mix] if isinstance(mix, str) else []) + list(MIX_MANIFESTS)
        for rel in candidates:
            if mix_manifest is not None:
                break
            path = (run_dir / rel).resolve()
            if path.is_relative_to(run_dir.resolve()):  # a manifest entry cannot point outside the run
                mix_manifest = read_json_file(path)
        if mix_manifest:
            out["recipe_hash"] = mix_manifest.get("recipe_hash")
    return out


def summary(job_dir: Path, steps_total: int | None = None) -> dict[str, Any]:
    """The numbers a training shows: progress, loss, tokens/s, MFU, checkpoints."""
    ckpt_dir = job_dir / CKPT_DIR
    metrics = read_metrics(ckpt_dir)
    train = [r for r in metrics["train"] if isinstance(r.get("step"), int)]
    last = train[-1] if train else {}
    rates = [r["tokens_per_s"] for r in train if isinstance(r.get("tokens_per_s"), (int, float))]
    mfus = [r["mfu"] for r in train if isinstance(r.get("mfu"), (int, float))]
    losses = [r["loss"] for r in train if _finite(r.get("loss"))]
    evals = [r for r in metrics["eval"] if _finite(r.get("eval_loss_mean"))]
    start = metrics["start"] or {}
    return {
        "step": last.get("step"),
        "steps_total": steps_total,
        "loss_first": losses[0] if losses else None,
        "loss": losses[-1] if losses else None,
        "eval_loss": evals[-1]["eval_loss_mean"] if evals else None,
        "tokens": last.get("tokens"),
        "tokens_per_s": last.get("tokens_per_s"),
        "tokens_per_s_mean": round(sum(rates) / len(rates), 1) if rates else None,
        "mfu": mfus[-1] if mfus else None,
        "params": start.get("params"),
        "device": start.get("device"),
        "train_config_hash": start.get("train_config_hash"),
        "latest_checkpoint": latest_checkpoint(ckpt_dir),
        "checkpoints": len(checkpoints(ckpt_dir)),
    }


def lineage(job_dir: Path) -> dict[str, Any]:
    """The training's lineage from its latest checkpoint's meta.json, or before the first
    checkpoint from the `start` line of metrics.jsonl."""
    ckpt_dir = job_dir / CKPT_DIR
    latest = latest_checkpoint(ckpt_dir)
    meta = read_json_file(ckpt_dir / latest / META) if latest else None
    if meta is None:
        start = read_metrics(ckpt_dir)["start"] or {}
        meta = {"lineage": start.get("lineage"), "train_config_hash": start.get("train_config_hash")}
    return lineage_of_meta(meta)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


# -- the loss curve ------------------------------------------------------------------------
def loss_svg(metrics: dict[str, Any], width: int = 640, height: int = 240, max_points: int = 600) -> str:
    """An inline SVG of train loss (line) and mean eval loss (dots) against step: no script,
    no external reference, every label escaped; '' when there is nothing to draw yet."""
    train = [
        (r["step"], r["loss"]) for r in metrics["train"] if isinstance(r.get("step"), int) and _finite(r.get("loss"))
    ]
    evals = [
        (r["step"], r["eval_loss_mean"])
        for r in metrics["eval"]
        if isinstance(r.get("step"), int) and _finite(r.get("eval_loss_mean"))
    ]
    if not train and not evals:
        return ""
    if len(train) > max_points:  # keep the shape, bound the page size
        stride = math.ceil(len(train) / max_points)
        train = train[::stride] + ([train[-1]] if (len(train) - 1) % stride else [])
    points = train + evals
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if x1 == x0:
        x1 = x0 + 1
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    left, right, top, bottom = 52, 12, 12, 30
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="loss" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="training loss by step">',
        "<title>training loss by step</title>",
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = y0 + frac * (y1 - y0)
        parts.append(
            f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="11">{escape(f"{y:.3g}")}</text>'
        )
        x = x0 + frac * (x1 - x0)
        parts.append(
            f'<text x="{sx(x):.1f}" y="{height - 10}" text-anchor="middle" font-size="11">{escape(f"{x:.0f}")}</text>'
        )
    if train:
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in train)
        parts.append(f'<polyline class="train" fill="none" stroke="#1f6feb" stroke-width="1.5" points="{coords}"/>')
    for x, y in evals:
        parts.append(f'<circle class="eval" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="#d1242f"/>')
    parts.append(
        f'<text x="{left + pw}" y="{top + 14}" text-anchor="end" font-size="11">'
        '<tspan fill="#1f6feb">— train loss</tspan> <tspan fill="#d1242f">● eval loss (mean)</tspan></text>'
    )
    parts.append("</svg>")
    return "".join(parts)


# -- generation ----------------------------------------------------------------------------
class GenerateBusy(RuntimeError):
    """MAX_GENERATIONS are already running (HTTP 429)."""


class GenerateFailed(RuntimeError):
    """`edumix generate` failed or timed out (HTTP 502 / 504)."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


_generations = threading.BoundedSemaphore(MAX_GENERATIONS)


def generate(
    ckpt: Path,
    prompt: str,
    max_new_tokens: int,
    temperature: float,
    seed: int,
    device: str | None = None,
    timeout_s: float = GENERATE_TIMEOUT_S,
) -> str:
    """`edumix generate --no-stream` on one checkpoint in a child process (its own process
    group, killed on timeout); returns what it printed: the prompt and its continuation."""
    if not _generations.acquire(blocking=False):
        raise GenerateBusy(f"{MAX_GENERATIONS} generations are already running; try again shortly")
    try:
        cmd = [sys.executable, "-m", "edumix.cli", "generate", "--ckpt", str(ckpt), f"--prompt={prompt}"]
        cmd += ["--max-new-tokens", str(max_new_tokens), "--temperature", repr(float(temperature))]
        cmd += ["--seed", str(seed), "--no-stream", "--no-compile"]
        if device:
            cmd += ["--device", device]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "EDUMIX_PROGRESS": "0"},
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.communicate()
            raise GenerateFailed(f"generation took over {timeout_s:.0f} s and was stopped", timed_out=True) from e
    finally:
        _generations.release()
    if proc.returncode != 0:
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise GenerateFailed(f"edumix generate failed: {last[0][-500:]}")
    text = out.decode("utf-8", "replace")
    return text[:-1] if text.endswith("\n") else text
