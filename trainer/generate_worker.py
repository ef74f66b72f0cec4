"""A long-lived generation process (what `edumix serve` runs behind its generate box): JSON
requests on stdin, one JSON answer a line on stdout. It keeps up to --max-models loaded
checkpoints, least recently used out, so a second generate on the same checkpoint does not
load (and sha256-verify) it again.

    python -m edumix.trainer.generate_worker --max-models 2 --idle-exit 600

Request: {"ckpt": PATH, "prompt": str, "max_new_tokens": int, "temperature": float, "seed": int,
          "device": "cpu" | "cuda" | "cuda:N" | null}
Answer:  {"ok": true, "text": prompt + continuation, "cached": bool (the model was loaded
          already), "loads": checkpoints loaded by this process so far, "models": the loaded
          checkpoint paths (most recent last), "load_s": float, "gen_s": float}
         or {"ok": false, "error": "..."}.

The continuation is what `edumix generate --ckpt PATH --prompt P --no-stream --no-compile`
prints for the same arguments (the same sampling call, seed and stop token). One request at a
time; stdout carries only answers (anything else printed goes to stderr). The process exits at
the end of stdin (its parent is gone) or after --idle-exit seconds without a request.
"""

from __future__ import annotations

import argparse
import collections
import json
import select
import sys
import time
from pathlib import Path
from typing import Any


class Models:
    """Loaded (model, tokenizer) per (checkpoint, device, meta.json mtime), LRU-bounded."""

    def __init__(self, max_models: int):
        self.max_models = max(1, max_models)
        self.cache: collections.OrderedDict[tuple, tuple[Any, Any]] = collections.OrderedDict()
        self.loads = 0

    def get(self, ckpt: Path, device) -> tuple[Any, Any, bool]:
        from edumix.trainer.checkpoint import open_checkpoint, resolve_checkpoint
        from edumix.trainer.tokenizer import TextTokenizer

        path = resolve_checkpoint(ckpt)
        key = (str(path), str(device), (path / "meta.json").stat().st_mtime_ns)
        if key in self.cache:
            self.cache.move_to_end(key)
            model, tok = self.cache[key]
            return model, tok, True
        ck = open_checkpoint(path, warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
        tok = TextTokenizer(ck.tokenizer_path)
        model = ck.build_model().to(device).eval()
        self.loads += 1
        self.cache[key] = (model, tok)
        while len(self.cache) > self.max_models:
            self.cache.popitem(last=False)
        return model, tok, False

    def paths(self) -> list[str]:
        return [key[0] for key in self.cache]


def answer(models: Models, req: dict[str, Any]) -> dict[str, Any]:
    import torch

    from edumix.trainer.generate import generate as sample

    device = torch.device(req.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    t0 = time.perf_counter()
    model, tok, cached = models.get(Path(req["ckpt"]), device)
    t1 = time.perf_counter()
    prompt = req["prompt"]
    ids = [tok.bos_id] + tok.encode(prompt)
    room = model.cfg.max_seq_len - len(ids)
    if room < 1:
        return {
            "ok": False,
            "error": f"the prompt ({len(ids)} tokens) fills the model's context ({model.cfg.max_seq_len})",
        }
    gen = torch.Generator(device=device).manual_seed(int(req.get("seed", 0)))
    eos = tok.eos_id
    with torch.inference_mode():
        out = sample(
            model,
            torch.tensor([ids], device=device),
            min(int(req["max_new_tokens"]), room),
            temperature=float(req.get("temperature", 0.8)),
            eos_id=eos,
            generator=gen,
        )[0].tolist()
    text = prompt + tok.decode([t for t in out[len(ids) :] if t != eos])
    return {
        "ok": True,
        "text": text,
        "cached": cached,
        "loads": models.loads,
        "models": models.paths(),
        "load_s": round(t1 - t0, 4),
        "gen_s": round(time.perf_counter() - t1, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-models", type=int, default=2, help="loaded checkpoints kept (default 2)")
    parser.add_argument("--idle-exit", type=float, default=600.0, help="exit after this many idle seconds (0: never)")
    args = parser.parse_args(argv)
    replies = sys.stdout
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    models = Models(args.max_models)
    stdin = sys.stdin.buffer
    while True:
        if args.idle_exit > 0 and not select.select([stdin], [], [], args.idle_exit)[0]:
            return 0  # idle: the server starts another one when it needs it
        line = stdin.readline()
        if not line:
            return 0  # end of input: the server is gone
        try:
            reply = answer(models, json.loads(line))
        except Exception as e:  # noqa: BLE001 (one bad request, e.g. a checkpoint failing its check: one error answer)
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"[-1000:]}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    sys.exit(main())
