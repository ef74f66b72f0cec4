"""`edumix serve` under load. Two measurements, each against a real `edumix serve` child process
on a free loopback port (uvicorn, one process, as deployed) in a temporary home:

    .venv/bin/python benchmarks/serve_load.py                         # polling: ~2 min, 2 demo runs
    .venv/bin/python benchmarks/serve_load.py --repeats 3             # 3 quiet/polled pairs, medians
    .venv/bin/python benchmarks/serve_load.py --interval 0            # each client polls flat out
    .venv/bin/python benchmarks/serve_load.py --mode endpoints        # per-endpoint req/s, p50/p99
    .venv/bin/python benchmarks/serve_load.py --mode endpoints --clients 32 --seconds 20 --runs 50

**polling** (the default; issue 16's bound: polling costs the run at most 10% of its
throughput). The same curate run (`--input`, default the generated demo crawl; `--config`,
`--workers`) twice per repeat: once *quiet* (nothing polls it; the benchmark itself asks for
its status once a second, to see it end) and once *polled*: `--clients` concurrent clients
(default 50; asyncio + httpx in this process, each with its own keep-alive connection) each
ask `GET /api/runs/{id}` every `--interval` seconds (default 1; 0: as fast as the server
answers) from the moment the run is created until they see it finished, so the polling covers
the run's whole duration. Quiet and polled alternate (q,p then p,q ...) so drifting load from
other processes hits both alike. Printed: per run its job wall time (child start to exit, the
server's `duration_s`), the curate's own pipeline wall time (RUN/timing.json), documents/s,
and for the polled runs the requests, errors (non-200 answers and failed connections) and
p50/p99 latency (time.perf_counter around each request); then the median documents/s of each
kind and their ratio (polled / quiet: 1.00 = no cost; 0.90 = the issue's bound). No
threshold is enforced: the numbers depend on the machine, and the clients share its CPUs with
the server and the run (each request costs the client ~1 ms of Python). Exit status 1 when
any request failed or a run did not succeed.

`--url` (with `--token-file` if it needs one) measures a server that is already running
instead; its `--input` paths must be under that server's `--root`s.

**endpoints** (`--mode endpoints`): the server's home gets one demo curate run through the API
(~30 s), then `--runs` copies of it (its job directory copied and a row added per copy through
the server's own JobStore while the server is stopped), so the list and detail endpoints answer
with real report data; or `--home` names a home that has runs. `--clients` concurrent clients
(each value in turn; default 1 8) cycle for `--seconds` through the endpoints below, each client
starting at a different one; run ids are drawn from the list. Printed per endpoint: requests,
errors (non-200 answers), requests/s, p50 and p99 latency (ms), and p50 against the baseline
`/api/health` measured in the same run under the same load (it touches neither the job table
nor the disk). With 1 client the latencies are each endpoint's service time; with more, the
server is saturated and the latencies are mostly queueing (about clients / req/s), so req/s is
the number to read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

    def __init__(self, home: Path, log: Path, roots: list[Path] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        cmd = [sys.executable, "-m", "edumix.cli", "serve", "--port", str(self.port), "--home", str(home)]
        for root in roots:
            cmd += ["--root", str(root)]
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


# -- polling: a run's throughput with and without clients polling its status ---------------
FINAL = ("succeeded", "failed", "cancelled", "interrupted")


async def poll_client(
    client: httpx.AsyncClient, path: str, interval: float, offset: float, done: asyncio.Event, stats: dict
) -> None:
    """GET `path` every `interval` s (first after `offset` s) until some client saw the run end."""
    await asyncio.sleep(offset)
    while not done.is_set():
        t0 = time.perf_counter()
        try:
            response = await client.get(path)
        except httpx.HTTPError as e:
            stats["errors"] += 1
            stats["error_kinds"][type(e).__name__] = stats["error_kinds"].get(type(e).__name__, 0) + 1
            await asyncio.sleep(max(interval, 0.1))
            continue
        took = time.perf_counter() - t0
        stats["latencies"].append(took)
        if response.status_code != 200:
            stats["errors"] += 1
            key = f"HTTP {response.status_code}"
            stats["error_kinds"][key] = stats["error_kinds"].get(key, 0) + 1
        elif response.json().get("status") in FINAL:
            done.set()
            return
        if interval > 0:
            await asyncio.sleep(max(0.0, interval - took))


async def polled(url: str, headers: dict, job_id: str, clients: int, interval: float, timeout: float) -> dict:
    stats: dict = {"latencies": [], "errors": 0, "error_kinds": {}}
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) for _ in range(clients)]
    rng = random.Random(0)
    try:
        tasks = [poll_client(c, f"/api/runs/{job_id}", interval, rng.uniform(0, interval), done, stats) for c in pool]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    finally:
        for c in pool:
            await c.aclose()
    return stats


def run_once(args, url: str, headers: dict, home: Path | None, body: dict, clients: int) -> dict:
    """Create the run; wait for it quietly (clients == 0) or under polling; its numbers."""
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        created = client.post("/api/runs", json=body)
        if created.status_code != 201:
            raise SystemExit(f"creating the run failed: {created.status_code} {created.text[:2000]}")
        job_id = created.json()["id"]
        stats: dict = {"latencies": [], "errors": 0, "error_kinds": {}}
        if clients:
            stats = asyncio.run(polled(url, headers, job_id, clients, args.interval, args.timeout))
        deadline = time.monotonic() + args.timeout
        while (job := client.get(f"/api/runs/{job_id}").json())["status"] not in FINAL:
            if time.monotonic() > deadline:
                raise SystemExit(f"run {job_id} still {job['status']} after {args.timeout:.0f} s")
            time.sleep(1)
        if job["status"] != "succeeded":
            log = client.get(f"/api/runs/{job_id}/log").json()["log"]
            raise SystemExit(f"run {job_id} {job['status']}: {job.get('error')}\n{log[-3000:]}")
    wall = job.get("duration_s")
    pipeline = None
    if home is not None:
        try:
            timing = json.loads((home / "jobs" / job_id / "run" / "timing.json").read_text())
            pipeline = timing.get("total_wall_s")
        except (OSError, ValueError):
            pass
    records = job["summary"]["input_records"]
    return {"id": job_id, "clients": clients, "records": records, "wall": wall, "pipeline": pipeline, **stats}


def polling_main(args) -> int:
    headers = {"Authorization": f"Bearer {args.token_file.read_text().strip()}"} if args.token_file else {}
    config = args.config.read_text(encoding="utf-8") if args.config else ""
    inputs = [str(p.resolve()) for p in args.input] if args.input else ["demo"]
    body = {"inputs": inputs, "config_yaml": config, "workers": args.workers}
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="edumix-serve-load-") as tmp:
        server, home = None, None
        if args.url is None:
            roots = sorted({p.resolve().parent for p in args.input or []})
            home = Path(tmp) / "home"
            server = Serve(home, Path(tmp) / "server.log", roots)
        url = args.url or server.url
        try:
            for i in range(args.repeats):
                order = (0, args.clients) if i % 2 == 0 else (args.clients, 0)
                for clients in order:
                    kind = "polled" if clients else "quiet"
                    print(f"repeat {i + 1}/{args.repeats}: {kind} run ...", flush=True)
                    results.append(run_once(args, url, headers, home, {**body, "name": f"{kind} {i}"}, clients))
        finally:
            if server is not None:
                server.stop()
    return polling_report(args, results)


def polling_report(args, results: list[dict]) -> int:
    rows = []
    for r in results:
        lat = r["latencies"]
        rate = r["records"] / r["wall"] if r["wall"] else float("nan")
        rows.append(
            (
                "polled" if r["clients"] else "quiet",
                r["clients"],
                f"{r['records']:,}",
                f"{r['wall']:.1f}" if r["wall"] else "?",
                f"{r['pipeline']:.1f}" if r["pipeline"] else "?",
                f"{rate:.2f}" if rate >= 1 else f"{rate:.3g}",
                f"{len(lat):,}" if r["clients"] else "",
                r["errors"] if r["clients"] else "",
                f"{1e3 * statistics.median(lat):.1f}" if lat else "",
                f"{1e3 * percentile(lat, 99):.1f}" if lat else "",
            )
        )
    quiet = [r["records"] / r["wall"] for r in results if not r["clients"] and r["wall"]]
    loaded = [r["records"] / r["wall"] for r in results if r["clients"] and r["wall"]]
    pipe_q = [r["records"] / r["pipeline"] for r in results if not r["clients"] and r["pipeline"]]
    pipe_l = [r["records"] / r["pipeline"] for r in results if r["clients"] and r["pipeline"]]
    latencies = [x for r in results for x in r["latencies"]]
    errors = sum(r["errors"] for r in results)
    kinds: dict[str, int] = {}
    for r in results:
        for k, n in r["error_kinds"].items():
            kinds[k] = kinds.get(k, 0) + n
    q, p = statistics.median(quiet), statistics.median(loaded)
    notes = [
        f"throughput (documents/s over the job's wall time, median of {len(quiet)}): quiet {q:.2f}, "
        f"polled {p:.2f}: ratio {p / q:.3f} (slow-down {100 * (1 - p / q):+.1f}%; issue 16's bound: 10%)",
    ]
    if pipe_q and pipe_l:
        pq_, pl_ = statistics.median(pipe_q), statistics.median(pipe_l)
        notes.append(
            f"pipeline only (RUN/timing.json): quiet {pq_:.2f}, polled {pl_:.2f} docs/s: ratio {pl_ / pq_:.3f}"
        )
    if latencies:
        notes.append(
            f"status polls: {len(latencies):,} requests, {errors} errors{' ' + str(kinds) if kinds else ''}, "
            f"p50 {1e3 * statistics.median(latencies):.1f} ms, p99 {1e3 * percentile(latencies, 99):.1f} ms"
        )
    notes.append(
        f"{len(os.sched_getaffinity(0))} CPUs shared by the server, the run and the clients; "
        f"each polled run: {args.clients} clients, one request every {args.interval:g} s each"
        + (" (flat out)" if args.interval == 0 else "")
    )
    print_table(
        f"edumix serve: a curate run quiet vs polled by {args.clients} clients",
        ("run", "clients", "records", "job s", "pipeline s", "docs/s", "requests", "errors", "p50 ms", "p99 ms"),
        rows,
        notes=notes,
    )
    return 1 if errors else 0


# -- endpoints -------------------------------------------------------------------------------
def endpoints_main(args) -> int:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("polling", "endpoints"), default="polling")
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        help="polling: concurrent pollers (default 50); endpoints: one table per value (default 1 8)",
    )
    poll = parser.add_argument_group("polling")
    poll.add_argument("--interval", type=float, default=1.0, help="seconds between one client's polls; 0: flat out")
    poll.add_argument("--repeats", type=int, default=1, help="quiet/polled pairs (default 1)")
    poll.add_argument("--input", type=Path, action="append", help="run input file (repeat); default: the demo crawl")
    poll.add_argument("--config", type=Path, help="run config YAML (default: the defaults)")
    poll.add_argument("--workers", type=int, default=1, help="Beam workers of the run (default 1)")
    poll.add_argument("--url", help="measure this running server instead of starting one")
    poll.add_argument("--token-file", type=Path, help="with --url: the server's bearer token")
    poll.add_argument("--timeout", type=float, default=900, help="seconds one run may take (default 900)")
    ends = parser.add_argument_group("endpoints")
    ends.add_argument("--seconds", type=float, default=10, help="how long the load lasts (default 10)")
    ends.add_argument("--runs", type=int, default=20, help="finished runs in a prepared home (default 20)")
    ends.add_argument("--home", type=Path, help="use this home (it must have a succeeded run) instead")
    args = parser.parse_args()
    if args.mode == "polling":
        args.clients = (args.clients or [50])[0]
        if args.clients < 1 or args.repeats < 1:
            parser.error("--clients and --repeats must be at least 1")
        return polling_main(args)
    args.clients = args.clients or [1, 8]
    return endpoints_main(args)


if __name__ == "__main__":
    sys.exit(main())
