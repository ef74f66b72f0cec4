"""Does a process that trained a torch.compile'd model exit when its work is done?

    python benchmarks/exit_probe.py [--device cuda] [--steps 30] [--wait 90] [--pretrain]

Issue 18 saw a GPU phase-2 run print its last step, write its checkpoint and still be alive
100 s later. This runs the trainer's model, compiled, for a few steps in a child process, once
as `pretrain` ends (nothing more) and once with edumix.trainer.train.release_compile_workers()
at the end, and prints how long each child took to exit after its last line. A child still
alive after --wait gets SIGABRT: faulthandler prints every thread's stack (the culprit).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time


def child(device: str, steps: int, release: bool) -> None:
    import torch

    from edumix.trainer.model import ModelConfig, Transformer

    cfg = ModelConfig(vocab_size=4096, dim=256, n_layers=4, n_heads=4, n_kv_heads=2, max_seq_len=256)
    model = Transformer(cfg).to(device)
    net = torch.compile(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(steps):
        idx = torch.randint(0, 4096, (8, 256), device=device)  # (B, T)
        logits = net(idx)[0]  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), idx.flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    if release:
        try:
            from edumix.trainer.train import release_compile_workers
        except ImportError as e:  # a bare GPU image may lack the data path's dependencies
            print(f"note: edumix.trainer.train not importable ({e}); calling torch's shutdown directly", flush=True)
            from torch._inductor.async_compile import shutdown_compile_workers as release_compile_workers
        release_compile_workers()
    print(f"DONE loss={loss.item():.3f}", flush=True)


def run(device: str, steps: int, release: bool, wait: float) -> dict:
    cmd = [sys.executable, "-X", "faulthandler", __file__, "--child", "--device", device, "--steps", str(steps)]
    cmd += ["--release"] if release else []
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done_at = None
    for line in proc.stdout:
        if line.startswith("DONE"):
            done_at = time.monotonic()
            break
    try:
        proc.wait(timeout=wait)
        hung, stacks = False, ""
    except subprocess.TimeoutExpired:
        hung = True
        proc.send_signal(signal.SIGABRT)
        time.sleep(3)
        proc.kill()
        proc.wait()
    stacks = proc.stderr.read()
    exit_lag = None if done_at is None else round(time.monotonic() - done_at, 2)
    return {
        "release": release,
        "work_s": None if done_at is None else round(done_at - t0, 1),
        "exit_lag_s": exit_lag,
        "hung": hung,
        "rc": proc.returncode,
        "stderr_tail": stacks[-3000:],
    }


def pretrain_probe(device: str, wait: float, workdir: str) -> list[dict]:
    """The real thing: tokenizer, phase 1 and a phase-2 continuation through the CLI, compiled;
    how long each process lives after its last line of output."""
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from trainer_runs import make_run

    root = Path(workdir)
    run = make_run(root, docs=400, seed=1)
    cfg = Path(__file__).resolve().parents[1] / "trainer" / "configs" / "tiny.yaml"
    text = cfg.read_text().replace("compile: false", "compile: true").replace("steps: 300", "steps: 60")
    (root / "tiny.yaml").write_text(text.replace("ckpt_every: 100", "ckpt_every: 30"))
    cli = [sys.executable, "-X", "faulthandler", "-m", "edumix.trainer.cli"]
    tok = str(root / "tok.json")
    steps = [
        ["tokenizer", "train", "--data", str(run), "--vocab-size", "2048", "--out", tok],
        [
            "pretrain",
            "--data",
            str(run),
            "--tokenizer",
            tok,
            "--config",
            str(root / "tiny.yaml"),
            "--out",
            str(root / "p1"),
            "--device",
            device,
        ],
        [
            "pretrain",
            "--phase",
            "2",
            "--data",
            str(run),
            "--config",
            str(root / "tiny.yaml"),
            "--out",
            str(root / "p2"),
            "--init",
            str(root / "p1"),
            "--device",
            device,
        ],
    ]
    out = []
    for args in steps:
        t0 = time.monotonic()
        proc = subprocess.Popen(cli + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = {"last": t0, "lines": []}

        def pump(p=proc, seen=seen):
            for line in p.stdout:
                seen["last"] = time.monotonic()
                seen["lines"].append(line.rstrip())

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        hung = False
        while proc.poll() is None:
            if time.monotonic() - seen["last"] > wait:
                hung = True
                proc.send_signal(signal.SIGABRT)
                time.sleep(3)
                proc.kill()
                break
            time.sleep(0.05)
        proc.wait()
        reader.join(timeout=5)
        last, lines = seen["last"], seen["lines"]
        lag = round(time.monotonic() - last, 2)
        out.append(
            {
                "cmd": args[:2],
                "wall_s": round(time.monotonic() - t0, 1),
                "exit_lag_s": lag,
                "hung": hung,
                "rc": proc.returncode,
                "tail": lines[-40:] if hung or proc.returncode else lines[-3:],
            }
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--wait", type=float, default=90)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--release", action="store_true")
    ap.add_argument("--pretrain", action="store_true", help="tokenizer + phase 1 + phase 2 through the CLI")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        child(args.device, args.steps, args.release)
        return 0
    if args.pretrain:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            runs = pretrain_probe(args.device, args.wait, tmp)
        for r in runs:
            print(json.dumps(r))
        if args.out:
            with open(args.out, "w") as fh:
                json.dump({"device": args.device, "pretrain": runs}, fh, indent=1)
        return 0
    results = [run(args.device, args.steps, release, args.wait) for release in (False, True)]
    for r in results:
        print(
            f"release_compile_workers={r['release']}: work {r['work_s']} s, exit {r['exit_lag_s']} s after the "
            f"last line, hung={r['hung']}, rc={r['rc']}"
        )
        if r["hung"] or r["rc"]:
            print(r["stderr_tail"])
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"device": args.device, "cpu_count": os.cpu_count(), "results": results}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
