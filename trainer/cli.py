"""The trainer's commands (`edumix tokenizer train`, `tokenize`, `pretrain`, `generate`,
`export`, `eval long`), registered on the edumix app by `register(app)`.

Also runnable alone, which is how torchrun launches it on several processes:
    torchrun --nproc_per_node=2 -m trainer.cli pretrain --phase 1 --data RUN --config ... --out ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _errors():
    from edumix.trainer.checkpoint import CheckpointError
    from edumix.trainer.config import TrainConfigError
    from edumix.trainer.data import DataError
    from edumix.trainer.tokenizer import TokenizerError
    from edumix.trainer.train import TrainError

    return (FileNotFoundError, CheckpointError, TrainConfigError, DataError, TokenizerError, TrainError)


def _need_run_dir(data: Path) -> None:
    from edumix.core.run_dir import read_manifest

    try:
        read_manifest(data)
    except FileNotFoundError as e:
        raise typer.BadParameter(str(e), param_hint="--data") from e


def _need_tokenizer(path: Path | None, hint: str = "--tokenizer") -> Path:
    if path is None:
        raise typer.BadParameter("a tokenizer.json is required (train one: `edumix tokenizer train`)", param_hint=hint)
    if not path.is_file():
        raise typer.BadParameter(f"tokenizer not found: {path} (train one: `edumix tokenizer train`)", param_hint=hint)
    return path


tokenizer_app = typer.Typer(help="Train the byte-level BPE tokenizer on a run's shards.", no_args_is_help=True)


@tokenizer_app.command("train")
def tokenizer_train(
    data: Annotated[Path, typer.Option("--data", "--input", "-i", help="Run directory (its shards/ are read).")],
    out: Annotated[
        Path,
        typer.Option("--out", "--output", "-o", help="tokenizer.json to write (+ tokenizer_config.json beside it)."),
    ],
    vocab_size: Annotated[int, typer.Option(min=263, help="Vocabulary size, special tokens included.")] = 32000,
    min_frequency: Annotated[int, typer.Option(min=1, help="Merge only pairs seen this often.")] = 2,
) -> None:
    """Train byte-level BPE with <|bos|> <|eos|> <|pad|> and chat tokens; deterministic."""
    from edumix.trainer.tokenizer import TextTokenizer, sidecar_path, train_tokenizer

    _need_run_dir(data)
    try:
        path = train_tokenizer(data, vocab_size, out, min_frequency=min_frequency)
    except _errors() as e:
        _fail(str(e))
    tok = TextTokenizer(path)
    typer.echo(f"wrote {path} ({tok.vocab_size:,} tokens, sha256 {tok.sha256[:16]}) and {sidecar_path(path).name}")


def tokenize(
    data: Annotated[Path, typer.Option("--data", "--input", "-i", help="Run directory.")],
    tokenizer: Annotated[Path, typer.Option(help="tokenizer.json from `edumix tokenizer train`.")],
    phase: Annotated[list[int] | None, typer.Option(help="Phase(s) to tokenize; default 1 and 2.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "--output", "-o", help="Token store root; default RUN/tokens/<tokenizer sha>."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-tokenize even when the store is up to date.")] = False,
) -> None:
    """Pre-tokenize phases into memory-mapped token files (pretrain also does it on first use).

    Run it ahead of a multi-GPU job so no rank waits on tokenization.
    """
    import time

    from edumix.trainer.data import TokenStore, default_tokens_dir, ensure_tokenized, phase_source, tokenize_phase
    from edumix.trainer.tokenizer import TextTokenizer

    _need_run_dir(data)
    _need_tokenizer(tokenizer)
    try:
        tok = TextTokenizer(tokenizer)
        for p in phase or [1, 2]:
            start = time.perf_counter()
            if force:
                root = out or default_tokens_dir(data, tok.sha256)
                store_dir = tokenize_phase(phase_source(data, p), tok, root)
            else:
                store_dir = ensure_tokenized(data, p, tok, out)
            secs = time.perf_counter() - start
            store = TokenStore(store_dir)
            idx = store.index
            typer.echo(
                f"phase {p}: {idx['documents']:,} documents, {idx['tokens']:,} tokens "
                f"({idx['dtype']}) in {store_dir} [{secs:.1f} s]"
            )
            for c in idx["cells"]:
                typer.echo(
                    f"  {c['domain']:>12} {c['tier']}: {c['documents']:>7,} docs {c['tokens']:>12,} tokens "
                    f"weight {c['weight']:.3f}"
                )
    except _errors() as e:
        _fail(str(e))


def pretrain(
    config: Annotated[Path, typer.Option(help="Training config YAML (trainer/configs/tiny.yaml, 125m.yaml).")],
    data: Annotated[
        Path | None,
        typer.Option("--data", "--input", "-i", help="Run directory (uses mix/ when present, else shards/). Required."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "--output", "-o", help="Checkpoint directory for this phase. Required.")
    ] = None,
    phase: Annotated[
        str,
        typer.Option(
            help="1: all tiers; 2: the top tier, from --init; long: long-context continuation from --init "
            "(the config's phases.long: curriculum, RoPE base or variant)."
        ),
    ] = "1",
    tokenizer: Annotated[
        Path | None, typer.Option(help="tokenizer.json; default with --init: the checkpoint's.")
    ] = None,
    init: Annotated[Path | None, typer.Option(help="Start from these weights (phase 2: the phase-1 --out).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from --out's latest checkpoint (exactly).")] = False,
    allow_config_change: Annotated[
        bool,
        typer.Option(
            "--allow-config-change",
            help="With --resume: continue although the config (or tokenizer) differs from the checkpoint's.",
        ),
    ] = False,
    steps: Annotated[int | None, typer.Option(min=1, help="Override the config's steps.")] = None,
    seq_len: Annotated[int | None, typer.Option(min=2, help="Override data.seq_len (long-context extension).")] = None,
    rope_scaling: Annotated[float | None, typer.Option(min=1.0, help="RoPE position interpolation factor.")] = None,
    rope_base: Annotated[
        float | None, typer.Option(min=1.0, help="Override model.rope_base (ABF: a larger base on continuation).")
    ] = None,
    peak_tflops: Annotated[
        float | None, typer.Option(help="Peak bf16 TFLOP/s per device for MFU (default: known GPUs).")
    ] = None,
    tokens_dir: Annotated[Path | None, typer.Option(help="Token store root; default RUN/tokens/<sha>.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1; default cuda when available.")] = None,
    tensorboard: Annotated[
        bool | None,
        typer.Option(
            "--tensorboard/--no-tensorboard",
            help="Also write TensorBoard event files beside metrics.jsonl (needs edumix[tensorboard]); "
            "default: the config's `tensorboard`.",
        ),
    ] = None,
    check_config: Annotated[
        bool,
        typer.Option(
            "--check-config",
            help="Only load and validate --config for --phase, with --steps/--seq-len/--rope-* applied: "
            "print it as one JSON line (config_hash, steps, seq_len, batch_size) and exit 0, or the error "
            "(stderr; stdout: a JSON line naming each bad field) and exit 2. Needs no --data, --out or --init.",
        ),
    ] = False,
) -> None:
    """Pretrain one phase. Under torchrun every process trains its share of each batch (DDP).

    --init and --resume checkpoints are verified (sha256 of every file) before use; --resume
    refuses a config that differs from the checkpoint's unless --allow-config-change.
    """
    from edumix.trainer.config import LONG_PHASE, load_train_config

    phase = _phase(phase)
    overrides = _overrides(steps, seq_len, rope_scaling, rope_base)
    if check_config:
        _check_config(config, phase, overrides, seq_len)
        return
    from edumix.trainer import checkpoint as ckpt_io
    from edumix.trainer.train import pretrain as run

    for value, hint in ((data, "'--data' / '--input' / '-i'"), (out, "'--out' / '--output' / '-o'")):
        if value is None:
            raise typer.BadParameter("this option is required (unless --check-config)", param_hint=hint)
    _need_run_dir(data)
    if phase != 1 and init is None:
        before = "phase-2" if phase == LONG_PHASE else "phase-1"
        raise typer.BadParameter(
            f"phase {phase} starts from a checkpoint: give --init (the {before} --out)", param_hint="--init"
        )
    try:
        if tokenizer is None and init is not None:
            tokenizer = ckpt_io.resolve_checkpoint(init) / "tokenizer.json"
        if tokenizer is None and resume and (out / ckpt_io.LATEST).is_file():
            tokenizer = ckpt_io.resolve_checkpoint(out) / "tokenizer.json"
        _need_tokenizer(tokenizer)
        base = load_train_config(config, phase)
        if seq_len is not None and seq_len > base.model.max_seq_len:  # extension: the RoPE table must reach it
            overrides.setdefault("model", {})["max_seq_len"] = seq_len
        cfg = load_train_config(config, phase, overrides)
        run(
            cfg,
            data,
            out,
            tokenizer,
            phase=phase,
            init=init,
            resume=resume,
            tokens_dir=tokens_dir,
            peak_tflops=peak_tflops,
            device=device,
            allow_config_change=allow_config_change,
            tensorboard=tensorboard,
        )
    except _errors() as e:
        _fail(str(e))
    finally:
        from edumix.trainer.distributed import shutdown

        shutdown()


def _overrides(steps, seq_len, rope_scaling, rope_base) -> dict:
    """The config overrides pretrain's flags make (--steps, --seq-len, --rope-*)."""
    overrides: dict = {}
    if steps is not None:
        overrides["steps"] = steps
    if seq_len is not None:
        overrides.setdefault("data", {})["seq_len"] = seq_len
    if rope_scaling is not None:
        overrides.setdefault("model", {})["rope_scaling"] = rope_scaling
    if rope_base is not None:
        overrides.setdefault("model", {})["rope_base"] = rope_base
    return overrides


def _check_config(config: Path, phase: int | str, overrides: dict, seq_len: int | None) -> None:
    """`pretrain --check-config`: the config this pretrain would train with, or why not. The
    checks are the ones a run makes before it reads data (load_train_config: every field, the
    phase's overrides, the cross-field rules); what needs the run or --init (the tokenizer's
    vocabulary, the --init architecture) is checked when it starts."""
    from edumix.trainer.config import TrainConfigError, load_train_config

    try:
        if seq_len is not None and seq_len > load_train_config(config, phase).model.max_seq_len:
            overrides.setdefault("model", {})["max_seq_len"] = seq_len  # as pretrain extends it
        cfg = load_train_config(config, phase, overrides)
    except TrainConfigError as e:
        cause = e.__cause__
        errors = [
            {"field": ".".join(str(p) for p in x["loc"]) or "(top)", "msg": x["msg"]}
            for x in (cause.errors() if hasattr(cause, "errors") else [])
        ]
        typer.echo(json.dumps({"ok": False, "phase": phase, "message": str(e), "errors": errors}))
        _fail(str(e))
    result = {
        "ok": True,
        "phase": phase,
        "config_hash": cfg.config_hash(),
        "steps": cfg.steps,
        "seq_len": cfg.data.seq_len,
        "batch_size": cfg.data.batch_size,
        "max_seq_len": cfg.model.max_seq_len,
    }
    typer.echo(json.dumps(result))


def _phase(value: str) -> int | str:
    """--phase: a positive integer or `long`."""
    from edumix.trainer.config import LONG_PHASE

    if value == LONG_PHASE:
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise typer.BadParameter(f"must be a positive integer or {LONG_PHASE!r}, got {value!r}", param_hint="--phase")


class _Streamer:
    """Prints decoded text as tokens arrive; holds back a trailing partial UTF-8 character
    (byte-level BPE may split one across tokens)."""

    def __init__(self, tokenizer, eos_id: int):
        self.tok, self.eos_id, self.ids, self.shown = tokenizer, eos_id, [], 0

    def __call__(self, tok) -> None:
        t = int(tok[0])
        if t == self.eos_id:
            return
        self.ids.append(t)
        text = self.tok.decode(self.ids)
        if text.endswith("\ufffd"):
            return
        sys.stdout.write(text[self.shown :])
        sys.stdout.flush()
        self.shown = len(text)

    def finish(self) -> None:
        text = self.tok.decode(self.ids)
        sys.stdout.write(text[self.shown :] + "\n")
        sys.stdout.flush()


def generate(
    ckpt: Annotated[Path, typer.Option(help="A checkpoint, or a pretrain --out (its latest).")],
    prompt: Annotated[str | None, typer.Option(help="Text to continue.")] = None,
    prompts_file: Annotated[
        Path | None,
        typer.Option(help='Many prompts, batched: .txt (one a line) or .jsonl (strings or {"prompt": ...}).'),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="--prompts-file: prompts decoded at once.")] = 8,
    out: Annotated[
        Path | None,
        typer.Option("--out", "--output", "-o", help="--prompts-file: JSON lines file to write (default stdout)."),
    ] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 64,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy.")] = 0.8,
    top_k: Annotated[int | None, typer.Option(min=1)] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    int8: Annotated[bool, typer.Option("--int8", help="Weight-only int8 (CPU inference).")] = False,
    int4: Annotated[bool, typer.Option("--int4", help="Weight-only int4, group-wise scales and zeros.")] = False,
    group_size: Annotated[int, typer.Option(help="--int4 group size: 32, 64, 128 or 256.")] = 64,
    compile: Annotated[
        bool | None,
        typer.Option("--compile/--no-compile", help="torch.compile the decode step; default on for CUDA, off on CPU."),
    ] = None,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Print tokens as they come.")] = True,
    chat: Annotated[bool, typer.Option("--chat", help="Wrap the prompt in the chat template.")] = False,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu or cuda; default cuda when available.")] = None,
) -> None:
    """Sample a continuation of --prompt (or of each line of --prompts-file) from a checkpoint."""
    import torch

    from edumix.trainer.generate import Decoder
    from edumix.trainer.generate import generate as sample
    from edumix.trainer.quantize import INT4_GROUP_SIZES, is_int4_artifact, quantize_int4, quantize_int8

    if int8 and int4:
        raise typer.BadParameter("choose one of --int8 and --int4", param_hint="--int4")
    if group_size not in INT4_GROUP_SIZES:
        raise typer.BadParameter(f"must be one of {INT4_GROUP_SIZES}", param_hint="--group-size")
    if (prompt is None) == (prompts_file is None):
        raise typer.BadParameter("give one of --prompt and --prompts-file", param_hint="--prompt")
    records = _read_prompts(prompts_file) if prompts_file is not None else None
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if is_int4_artifact(ckpt):  # `edumix export --format int4`: already quantized, packed here for `dev`
        if int8:
            raise typer.BadParameter(f"not for an int4 artifact (already quantized): {ckpt}", param_hint="--int8")
        model, tok = _load_int4_artifact(ckpt, dev)
        int4 = False
    else:
        model, tok, _ = _load_checkpoint(ckpt)
        model.to(dev).eval()
    if int8:
        model = quantize_int8(model)
    if int4:
        try:
            model = quantize_int4(model, group_size)
        except ValueError as e:
            _fail(str(e))
    if records is not None:
        eos = tok.special_ids["<|end|>"] if chat else tok.eos_id
        sample_kw = dict(temperature=temperature, top_k=top_k, top_p=top_p, eos_id=eos, seed=seed)
        compiled = compile if compile is not None else dev.type == "cuda"
        _generate_file(model, tok, records, out, batch_size, max_new_tokens, chat, compiled, sample_kw)
        return
    ids = tok.encode_chat([{"role": "user", "content": prompt}]) if chat else [tok.bos_id] + tok.encode(prompt)
    room = model.cfg.max_seq_len - len(ids)
    if room < 1:
        _fail(f"the prompt ({len(ids)} tokens) fills the model's context ({model.cfg.max_seq_len})")
    gen = torch.Generator(device=dev).manual_seed(seed)
    eos = tok.special_ids["<|end|>"] if chat else tok.eos_id
    streamer = _Streamer(tok, eos) if stream else None
    if stream and not chat:  # the continuation reads on from the prompt
        sys.stdout.write(prompt)
    kw = dict(temperature=temperature, top_k=top_k, top_p=top_p, eos_id=eos, generator=gen, on_token=streamer)
    if compile if compile is not None else dev.type == "cuda":  # static-shape steps, compiled
        out = Decoder(model, compile=True).generate([ids], min(max_new_tokens, room), **kw)[0]
    else:
        out = sample(model, torch.tensor([ids], device=dev), min(max_new_tokens, room), **kw)[0].tolist()
    if streamer is not None:
        streamer.finish()
    else:
        text = tok.decode([t for t in out[len(ids) :] if t != eos])
        typer.echo(text if chat else prompt + text)


def _read_prompts(path: Path) -> list[dict]:
    """--prompts-file as records with a "prompt" string (other keys of a .jsonl object are kept
    and written back): .jsonl lines are JSON strings or objects; any other file is one prompt a
    non-empty line."""
    if not path.is_file():
        raise typer.BadParameter(f"not found: {path}", param_hint="--prompts-file")
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
    records = [] if path.suffix == ".jsonl" else [{"prompt": line} for _, line in lines]
    for n, line in lines if path.suffix == ".jsonl" else ():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise typer.BadParameter(f"{path}:{n}: not JSON ({e.msg})", param_hint="--prompts-file") from e
        rec = {"prompt": rec} if isinstance(rec, str) else rec
        if not isinstance(rec, dict) or not isinstance(rec.get("prompt"), str):
            raise typer.BadParameter(f'{path}:{n}: need a string or {{"prompt": "..."}}', param_hint="--prompts-file")
        records.append(rec)
    if not records:
        raise typer.BadParameter(f"no prompts in {path}", param_hint="--prompts-file")
    return records


def batch_plan(lengths: list[int], batch_size: int, max_new_tokens: int, max_seq_len: int) -> list[list[int]]:
    """Prompt indices per batch. Sorted by length, so a batch pads little; a prompt joins the
    current batch only while the batch's longest prompt + the most new tokens any of its rows
    may take (max_new_tokens, or less near the context end) still fit in max_seq_len, so every
    row gets as many tokens as it would alone."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        cur = batches[-1] if batches else None
        if cur and len(cur) < batch_size:
            want = min(max_new_tokens, max_seq_len - lengths[cur[0]])  # the shortest row wants the most
            if lengths[i] + want <= max_seq_len:
                cur.append(i)
                continue
        batches.append([i])
    return batches


def _generate_file(model, tok, records, out, batch_size, max_new_tokens, chat, compile, sample_kw) -> None:
    """Batches of --prompts-file through one Decoder (left padding, per-row EOS); writes one
    JSON line per prompt, in the file's order, once all are done."""
    import torch

    from edumix.trainer.generate import Decoder

    ctx = model.cfg.max_seq_len
    enc = [
        tok.encode_chat([{"role": "user", "content": r["prompt"]}]) if chat else [tok.bos_id] + tok.encode(r["prompt"])
        for r in records
    ]
    too_long = [n for n, ids in enumerate(enc, 1) if len(ids) >= ctx]
    if too_long:
        _fail(f"prompt(s) {too_long[:5]} fill the model's context ({ctx} tokens)")
    dev = model.tok_emb.weight.device
    eos, seed = sample_kw.pop("eos_id"), sample_kw.pop("seed")
    gen = torch.Generator(device=dev).manual_seed(seed)
    dec = Decoder(model, compile=compile)
    results: list[dict | None] = [None] * len(records)
    for batch in batch_plan([len(e) for e in enc], batch_size, max_new_tokens, ctx):
        room = [min(max_new_tokens, ctx - len(enc[i])) for i in batch]  # what each row gets alone
        rows = dec.generate([enc[i] for i in batch], max(room), eos_id=eos, generator=gen, **sample_kw)
        for i, row, n in zip(batch, rows, room):
            new = row[len(enc[i]) : len(enc[i]) + n]
            text = tok.decode([t for t in new if t != eos])
            results[i] = {**records[i], "completion": text, "new_tokens": len(new)}
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
    if out is None:
        sys.stdout.write(lines)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(lines, encoding="utf-8")
        typer.echo(f"wrote {out} ({len(results)} prompts)", err=True)


def _load_int4_artifact(path: Path, device):
    from edumix.trainer.quantize import load_int4
    from edumix.trainer.tokenizer import TextTokenizer

    try:
        model, _ = load_int4(path, device)
        tok = TextTokenizer(path / "tokenizer.json")
    except (*_errors(), ValueError, KeyError, OSError) as e:
        _fail(f"{path}: {e}")
    return model, tok


def _load_checkpoint(ckpt: Path):
    """(model, tokenizer, meta) of a checkpoint or a pretrain --out, every file verified against
    the sha256 recorded at save time; a clear one-line error (exit 2) otherwise."""
    from edumix.trainer.checkpoint import open_checkpoint
    from edumix.trainer.tokenizer import TextTokenizer

    try:
        ck = open_checkpoint(ckpt, warn=lambda msg: typer.echo(f"warning: {msg}", err=True))
        tok = TextTokenizer(ck.tokenizer_path)
        model = ck.build_model()
    except _errors() as e:
        _fail(str(e))
    return model, tok, ck.meta


def export(
    ckpt: Annotated[Path, typer.Option(help="A checkpoint, or a pretrain --out (its latest).")],
    out: Annotated[Path, typer.Option("--out", "--output", "-o", help="Directory to write.")],
    format: Annotated[
        str, typer.Option("--format", help="hf (Hugging Face Llama) or int4 (for `edumix generate --ckpt OUT`).")
    ] = "hf",
    group_size: Annotated[int, typer.Option(help="--format int4 group size: 32, 64, 128 or 256.")] = 64,
) -> None:
    """Export a checkpoint: a Hugging Face Llama (LlamaForCausalLM.from_pretrained / AutoTokenizer),
    or int4 weights that `edumix generate --ckpt OUT` loads without quantizing again."""
    from edumix.trainer.export_hf import export_hf
    from edumix.trainer.tokenizer import tokenizer_config

    if format not in ("hf", "int4"):
        raise typer.BadParameter(f"unknown format {format!r} (hf or int4)", param_hint="--format")
    model, tok, meta = _load_checkpoint(ckpt)
    if format == "int4":
        _export_int4(model, tok, meta, ckpt, out, group_size)
        return
    special = {"bos": tok.bos_id, "eos": tok.eos_id, "pad": tok.pad_id}
    try:
        path = export_hf(model, out, tokenizer_json=tok.path, special_tokens=special, meta=meta)
    except ValueError as e:  # a model Llama cannot express (blocksparse layers): one line, nothing written
        _fail(str(e))
    # Add the chat template and chat tokens to the exporter's tokenizer_config.json.
    cfg_path = Path(path) / "tokenizer_config.json"
    written = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    cfg_path.write_text(json.dumps({**tokenizer_config(), **written}, indent=2) + "\n")
    typer.echo(f"wrote {path} (Hugging Face Llama, {model.num_params(non_embedding=False):,} parameters)")


def _export_int4(model, tok, meta, ckpt: Path, out: Path, group_size: int) -> None:
    """OUT/model.safetensors (int4 codes + bf16 scales/zeros; embedding and norms float),
    int4.json (config, group size, lineage, sha256 of each file) and the tokenizer."""
    import shutil

    from edumix.trainer.quantize import INT4_CONFIG, INT4_GROUP_SIZES, linear_weight_bytes, save_int4
    from edumix.trainer.tokenizer import sidecar_path

    if group_size not in INT4_GROUP_SIZES:
        raise typer.BadParameter(f"must be one of {INT4_GROUP_SIZES}", param_hint="--group-size")
    if out.exists() and any(out.iterdir()):
        _fail(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    for f in (tok.path, sidecar_path(tok.path)):
        if Path(f).is_file():
            shutil.copyfile(f, out / ("tokenizer.json" if f == tok.path else "tokenizer_config.json"))
    lineage = {k: meta[k] for k in ("step", "phase") if k in meta}
    try:
        save_int4(model, out, group_size, extra={"source": {"checkpoint": str(ckpt.resolve()), **lineage}})
    except ValueError as e:  # a layer whose width the group does not divide: nothing usable written
        shutil.rmtree(out, ignore_errors=True)
        _fail(str(e))
    size = sum(f.stat().st_size for f in out.iterdir())
    typer.echo(
        f"wrote {out / INT4_CONFIG} (int4 group {group_size}, {size / 1e6:.2f} MB in all; "
        f"matmul weights {linear_weight_bytes(model) / 1e6:.2f} MB in float32 before)"
    )


eval_app = typer.Typer(help="Evaluate a checkpoint.", no_args_is_help=True)


def _csv(value: str | None, kind, hint: str) -> list | None:
    if value is None:
        return None
    try:
        items = [kind(v) for v in value.split(",") if v.strip()]
    except ValueError as e:
        raise typer.BadParameter(f"a comma-separated list, got {value!r}", param_hint=hint) from e
    if not items:
        raise typer.BadParameter("empty list", param_hint=hint)
    return items


@eval_app.command("long")
def eval_long(
    ckpt: Annotated[Path, typer.Option(help="A checkpoint, or a pretrain --out (its latest).")],
    data: Annotated[
        Path, typer.Option("--data", "--input", "-i", help="Run directory (held-out documents for the loss / filler).")
    ],
    lengths: Annotated[
        str | None,
        typer.Option(help="Context lengths, e.g. 256,512,1024; default powers of two up to max_seq_len."),
    ] = None,
    depths: Annotated[str, typer.Option(help="Needle depths in [0, 1] (0 = start of the filler).")] = (
        "0,0.25,0.5,0.75,1"
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "--output",
            "-o",
            help="Directory for eval_long.json + passkey_heatmap.png; default eval_long/STEP beside the checkpoint.",
        ),
    ] = None,
    trials: Annotated[int, typer.Option(min=1, help="Passkey trials (seeded keys) per length x depth.")] = 5,
    new_tokens: Annotated[int, typer.Option(min=1, help="Tokens decoded for each answer.")] = 8,
    filler: Annotated[str, typer.Option(help="fixed (the passkey papers' sentences) or heldout (run documents).")] = (
        "fixed"
    ),
    loss_len: Annotated[
        int | None, typer.Option(min=2, help="Row length for the position loss; default the longest length.")
    ] = None,
    max_rows: Annotated[int, typer.Option(min=1, help="Rows for the position loss at most.")] = 32,
    min_docs: Annotated[
        int, typer.Option(min=1, help="Held-out documents >= loss-len needed to use whole documents, else packed.")
    ] = 4,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per forward pass.")] = 4,
    passkey: Annotated[bool, typer.Option("--passkey/--no-passkey", help="Run the passkey grid.")] = True,
    loss: Annotated[bool, typer.Option("--loss/--no-loss", help="Run the position loss.")] = True,
    phase: Annotated[int | None, typer.Option(min=1, help="Data phase; default the checkpoint's.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the passkeys.")] = 0,
    tokens_dir: Annotated[Path | None, typer.Option(help="Token store root; default RUN/tokens/<sha>.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda; default cuda when available.")] = None,
) -> None:
    """Long-context evaluation: passkey retrieval per context length x depth (table, heat map)
    and held-out loss by context length with a power-law fit loss(pos) = a + b * pos^-c."""
    import torch

    from edumix.trainer.checkpoint import open_checkpoint
    from edumix.trainer.eval_long import EvalLongError, LongEvalOptions, evaluate_long
    from edumix.trainer.tokenizer import TextTokenizer

    _need_run_dir(data)
    opts = LongEvalOptions(
        lengths=_csv(lengths, int, "--lengths"),
        depths=_csv(depths, float, "--depths"),
        trials=trials,
        new_tokens=new_tokens,
        filler=filler,
        seed=seed,
        loss_len=loss_len,
        max_rows=max_rows,
        min_docs=min_docs,
        batch_size=batch_size,
        passkey=passkey,
        loss=loss,
        phase=phase,
        tokens_dir=str(tokens_dir) if tokens_dir else None,
    )
    if opts.lengths is not None and min(opts.lengths) < 2:
        raise typer.BadParameter("lengths must be at least 2", param_hint="--lengths")
    try:
        ck = open_checkpoint(ckpt, warn=lambda msg: typer.echo(f"warning: {msg}", err=True))
        tok = TextTokenizer(ck.tokenizer_path)
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        evaluate_long(ck, tok, data, out or ck.path.parent / "eval_long" / ck.path.name, opts, dev, say=typer.echo)
    except (*_errors(), EvalLongError) as e:
        _fail(str(e))


def register(app: typer.Typer) -> None:
    """Add the trainer's commands to the edumix app."""
    app.add_typer(tokenizer_app, name="tokenizer")
    app.command("tokenize")(tokenize)
    app.command("pretrain")(pretrain)
    app.command("generate")(generate)
    app.command("export")(export)
    app.add_typer(eval_app, name="eval")


def main() -> None:
    app = typer.Typer(
        help="edumix trainer commands.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
    )
    register(app)
    app()


if __name__ == "__main__":
    main()
