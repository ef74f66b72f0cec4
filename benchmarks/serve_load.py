"""`edumix serve` under load: N concurrent clients against a live server for a fixed time.

    .venv/bin/python benchmarks/serve_load.py                    # ~1.5 min: 1 demo run + 2 x 10 s of load
    .venv/bin/python benchmarks/serve_load.py --clients 32 --seconds 20 --runs 50
    .venv/bin/python benchmarks/serve_load.py --home ~/.edumix-serve   # a home that has runs already

The server is a real `edumix serve` child process on a free loopback port (uvicorn, one
process, as deployed). Its home: `--home` when given; otherwise a temporary one prepared
first: one demo curate run through the API (~30 s), then copied to `--runs` finished runs
(its job directory copied and a row added per copy through the server's own JobStore while
the server is stopped), so the list and detail endpoints answer with real report data.

The load: `--clients` concurrent clients (each value in turn, on the same server; asyncio +
httpx in this process, each client with its own keep-alive connection) cycle for `--seconds`
through the endpoints below, each client starting at a different one; run ids are drawn from
the list. Every endpoint gets the same share of requests. Printed per endpoint: requests,
errors (non-200 answers), requests/s, p50 and p99 latency (ms, time.perf_counter around each
request), and p50 against the baseline `/api/health` measured in the same run under the same
load (it touches neither the job table nor the disk). With 1 client the latencies are each
endpoint's service time; with more, the server is saturated and the latencies are mostly
queueing (about clients / req/s), so req/s is the number to read. No thresholds: the numbers
depend on the machine, and the client shares its CPUs with the server (each request costs
the client ~1 ms of Python).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import print_table, ratio

BASELINE = "/api/health"
ENDPOINTS = (
    BASELINE,
    "/api/runs",
    "/api/runs/{id}",
    "/api/runs/{id}/log",
    "/",  # the HTML list
    "/runs/{id}",  # the HTML run page
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """A real `edumix serve` child process."""

    def __init__(self, home: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "edumix.cli", "serve", "--port", str(self.port), "--home", str(home)]
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + BASELINE, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def prepare_home(home: Path, log: Path, runs: int) -> None:
    """One demo run through the API, then `runs - 1` copies of it (directory + job row)."""
    from edumix.service import storage as st
    from edumix.service.jobs import new_job_id

    server = Serve(home, log)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            created = client.post("/api/runs", json={"name": "demo 0", "inputs": ["demo"]})
            created.raise_for_status()
            job_id = created.json()["id"]
            started = time.monotonic()
            while (job := client.get(f"/api/runs/{job_id}").json())["status"] in ("queued", "running"):
                time.sleep(1)
            if job["status"] != "succeeded":
                raise RuntimeError(client.get(f"/api/runs/{job_id}/log").json()["log"][-3000:])
            print(f"demo run {job_id} succeeded in {time.monotonic() - started:.0f}s", flush=True)
    finally:
        server.stop()
    store = st.JobStore(home / "jobs.sqlite")
    try:
        source = store.get_job(job_id)
        for i in range(1, runs):
            copy_id = f"{new_job_id()}-{i}"
            shutil.copytree(home / "jobs" / job_id, home / "jobs" / copy_id, symlinks=True)
            store.create_job(copy_id, f"demo {i}", source["spec"])
            store.update_job(
                copy_id,
                **{k: source[k] for k in ("status", "started", "finished", "exit_code", "summary")},
            )
    finally:
        store.close()


async def client_loop(
    url: str, paths: list[str], ids: list[str], start: int, until: float, seen: dict[str, list], errors: dict
) -> None:
    rng = random.Random(start)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        i = start
        while time.perf_counter() < until:
            template = paths[i % len(paths)]
            i += 1
            path = template.replace("{id}", rng.choice(ids))
            t0 = time.perf_counter()
            response = await client.get(path)
            seen[template].append(time.perf_counter() - t0)
            if response.status_code != 200:
                errors[template] = errors.get(template, 0) + 1


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def load(url: str, clients: int, seconds: float, ids: list[str]) -> tuple[dict[str, list], dict, float]:
    paths = list(ENDPOINTS)
    seen: dict[str, list] = {p: [] for p in paths}
    errors: dict[str, int] = {}
    # Warm-up: every endpoint once (imports, the first report.json reads).
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for p in paths:
            (await client.get(p.replace("{id}", ids[0]))).raise_for_status()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(client_loop(url, paths, ids, c, until, seen, errors) for c in range(clients)))
    return seen, errors, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 8], help="concurrent clients; one table per value (default 1 8)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="how long the load lasts (default 10)")
    parser.add_argument("--runs", type=int, default=20, help="finished runs in a prepared home (default 20)")
    parser.add_argument("--home", type=Path, help="use this home (it must have a succeeded run) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edumix-serve-load-") as tmp:
        home = args.home or Path(tmp) / "home"
        log = Path(tmp) / "server.log"
        if args.home is None:
            prepare_home(home, log, max(1, args.runs))
        server = Serve(home, log)
        try:
            runs = httpx.get(server.url + "/api/runs", params={"limit": 10_000}, timeout=60).json()
            ids = [r["id"] for r in runs if r["status"] == "succeeded"] or [r["id"] for r in runs]
            if not ids:
                raise SystemExit(f"{home} has no runs: leave out --home to prepare one")
            failed = False
            for clients in args.clients:
                seen, errors, took = asyncio.run(load(server.url, clients, args.seconds, ids))
                report(seen, errors, took, clients, len(ids))
                failed = failed or bool(errors)
        finally:
            server.stop()
    return 1 if failed else 0


def report(seen: dict[str, list], errors: dict[str, int], took: float, clients: int, runs: int) -> None:
    base = statistics.median(seen[BASELINE])
    rows = []
    for path in ENDPOINTS:
        times = seen[path]
        p50 = statistics.median(times)
        rows.append(
            (
                path,
                len(times),
                errors.get(path, 0),
                f"{len(times) / took:,.0f}",
                f"{1e3 * p50:.1f}",
                f"{1e3 * percentile(times, 99):.1f}",
                ratio(p50, base),
            )
        )
    total = sum(len(t) for t in seen.values())
    print_table(
        f"edumix serve: {clients} client(s) for {took:.1f} s, {runs} runs in the home",
        ("endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "p50 / health"),
        rows,
        notes=(
            f"all endpoints: {total:,} requests, {total / took:,.0f} req/s "
            f"(the client shares {len(os.sched_getaffinity(0))} CPUs with the server)",
            "p50 / health: the endpoint's median latency over /api/health's in this same run (1.00x = as cheap).",
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
