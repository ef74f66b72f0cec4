"""Trainings as jobs: `edumix pretrain` (and, for phase 1, `edumix tokenizer train`) as child
processes, and what the service reads back from their files.

The service stands below the trainer's import graph (tests/test_layers.py): it never imports
edumix.trainer. It runs the trainer's commands as child processes and reads the files they
write, whose layout is the trainer's documented output:

    JOB/tokenizer/tokenizer.json    phase 1: `edumix tokenizer train` on the source run
    JOB/tokens/                     the token store (--tokens-dir: nothing is written into the run)
    JOB/ckpt/                       pretrain --out: metrics.jsonl, step-NNNNNNNN/{meta.json,...}, latest

A training config is checked before anything is written by the trainer's own CLI,
`pretrain --check-config` (its loader, load_train_config, for the phase), in a short child
process, so a bad field is a 422 naming it, as for runs.

Generation runs in long-lived worker processes (`python -m edumix.trainer.generate_worker`,
at most MAX_GENERATIONS, each keeping its MODELS_PER_WORKER most recently used checkpoints
loaded): a second generate on a checkpoint does not load it again. A request goes to a free
worker that has its checkpoint loaded, else to any free one (started on demand); none free is
a 429, as before. A worker past the time limit is killed (its models with it).
"""

from __future__ import annotations

import collections
import importlib.util
import json
import math
import os
import queue
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
MAX_GENERATIONS = 2  # generation worker processes (so generations at once); more get 429
MODELS_PER_WORKER = 2  # loaded checkpoints each worker keeps (least recently used out)
WORKER_IDLE_EXIT_S = 600.0  # an idle worker exits (and frees its models); the next request starts one
PHASES = (1, 2, "long")  # what `pretrain --phase` takes here; 2 and long start from a checkpoint


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


def validate_config(text: str, phase: int | str, steps: int | None = None) -> dict[str, Any]:
    """{config_hash, steps, seq_len, batch_size, max_seq_len} of the config for `phase` (with
    --steps), or ConfigInvalid.

    YAML syntax (duplicate keys too) is checked here; the rest by `pretrain --check-config` in a
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
        cmd = [*TRAINER_CLI, "pretrain", "--check-config", "--config", str(path), "--phase", str(phase)]
        if steps:
            cmd += ["--steps", str(steps)]
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=VALIDATE_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "EDUMIX_PROGRESS": "0"},
            )
        except subprocess.TimeoutExpired as e:
            raise ValidatorFailed(f"checking the config took over {VALIDATE_TIMEOUT_S:.0f} s") from e
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError) as e:
        raise ValidatorFailed(f"the config check failed (exit {proc.returncode}): {proc.stderr[-500:]}") from e
    if proc.returncode == 0 and result.get("ok"):
        return {k: v for k, v in result.items() if k not in ("ok", "phase")}
    if proc.returncode != 2 or result.get("ok"):
        raise ValidatorFailed(f"the config check failed (exit {proc.returncode}): {proc.stderr[-500:]}")
    errors = result.get("errors") or []
    detail = "invalid config: " + "; ".join(f"{x['field']}: {x['msg']}" for x in errors) if errors else ""
    raise ConfigInvalid(
        detail or str(result.get("message", "invalid config")).replace(str(path), "config_yaml"), errors
    )


# The trainer's own CLI (trainer/cli.py, runnable alone): lighter to start than edumix.cli.
TRAINER_CLI = [sys.executable, "-m", "edumix.trainer.cli"]


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
    """The generation failed or timed out (HTTP 502 / 504)."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class GenerateWorker:
    """One `python -m edumix.trainer.generate_worker` child (its own process group): a request
    is a JSON line on its stdin, the answer a JSON line on its stdout, read by a thread so that
    a request can time out."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edumix.trainer.generate_worker"]
            + ["--max-models", str(MODELS_PER_WORKER), "--idle-exit", repr(WORKER_IDLE_EXIT_S)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "EDUMIX_PROGRESS": "0"},
        )
        self.models: list[str] = []  # its loaded checkpoints, as its last answer listed them
        self.answers: queue.Queue[bytes | None] = queue.Queue()
        self.stderr: collections.deque[str] = collections.deque(maxlen=20)
        threading.Thread(target=self._read, daemon=True, name=f"gen-{self.proc.pid}").start()
        threading.Thread(target=self._read_stderr, daemon=True, name=f"gen-err-{self.proc.pid}").start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)  # it exited

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace").rstrip())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as e:
            self.kill()
            raise GenerateFailed(f"the generation worker is gone: {e}") from e
        try:
            line = self.answers.get(timeout=timeout_s)
        except queue.Empty as e:
            self.kill()
            raise GenerateFailed(f"generation took over {timeout_s:.0f} s and was stopped", timed_out=True) from e
        if line is None:
            self.kill()
            last = [x for x in self.stderr if x.strip()][-1:] or [f"exit code {self.proc.poll()}"]
            raise GenerateFailed(f"the generation worker exited: {last[0][-500:]}")
        answer = json.loads(line)
        self.models = answer.get("models", self.models)
        return answer

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass


class GeneratePool:
    """At most MAX_GENERATIONS workers, each serving one request at a time."""

    def __init__(self, size: int = MAX_GENERATIONS):
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[GenerateWorker] = []
        self._busy = 0

    def _take(self, ckpt: str) -> GenerateWorker | None:
        with self._lock:
            self._idle = [w for w in self._idle if w.alive()]  # idle ones exit after WORKER_IDLE_EXIT_S
            if self._idle:
                mine = [w for w in self._idle if ckpt in w.models]
                worker = (mine or self._idle)[-1]  # its checkpoint loaded, else the last used
                self._idle.remove(worker)
            elif self._busy + len(self._idle) < self.size:
                worker = None  # start one (outside the lock: it takes a moment)
            else:
                raise GenerateBusy(f"{self.size} generations are already running; try again shortly")
            self._busy += 1
        return worker

    def generate(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        worker = self._take(request["ckpt"])
        try:
            if worker is None:
                try:
                    worker = GenerateWorker()
                except OSError as e:
                    raise GenerateFailed(f"cannot start a generation worker: {e}") from e
            return worker.ask(request, timeout_s)
        finally:
            with self._lock:
                self._busy -= 1
                if worker is not None and worker.alive():
                    self._idle.append(worker)

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pool = GeneratePool()


def shutdown_generation() -> None:
    """Stop the idle generation workers (server shutdown; busy ones die with their stdin)."""
    _pool.shutdown()


def generate(
    ckpt: Path,
    prompt: str,
    max_new_tokens: int,
    temperature: float,
    seed: int,
    device: str | None = None,
    timeout_s: float = GENERATE_TIMEOUT_S,
) -> dict[str, Any]:
    """A continuation of `prompt` from one checkpoint by a generation worker: {text (the prompt
    and its continuation), cached (the worker had the model loaded), loads (checkpoints that
    worker has loaded so far)}."""
    request = {
        "ckpt": str(ckpt),
        "prompt": prompt,
        "max_new_tokens": max_new_tokens,
        "temperature": float(temperature),
        "seed": seed,
        "device": device,
    }
    answer = _pool.generate(request, timeout_s)
    if not answer.get("ok"):
        raise GenerateFailed(f"generation failed: {str(answer.get('error'))[-500:]}")
    return {"text": answer["text"], "cached": answer["cached"], "loads": answer["loads"]}
