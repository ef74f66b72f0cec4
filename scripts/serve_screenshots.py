"""Screenshots of the `edumix serve` web UI for the docs: docs/serve-runs.png (the run list)
and docs/serve-run.png (a finished demo run's page).

    .venv/bin/python scripts/serve_screenshots.py [--out docs]

Starts a real `edumix serve` in a temporary home on a free loopback port, queues the demo run
(and a second one, cancelled while queued, so the list shows two statuses), waits for the
first to succeed (~30 s), and photographs both pages with Debian's headless chromium through
/usr/bin/chromedriver (selenium never downloads a driver). The same pages give the same
pictures except for timestamps, ids, hashes and timings. Each PNG is reduced to a 64-colour
palette so it stays well under 300 kB.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 820


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(client: httpx.Client, job_id: str, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/runs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            return job
        time.sleep(1)
    raise TimeoutError(f"run {job_id} did not finish in {timeout:.0f}s")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


def shrink(png: Path) -> None:
    """A 64-colour palette: text and flat colours survive, the file gets 3-5x smaller."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edumix-serve-shots-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "edumix.cli", "serve", "--port", str(port), "--home", f"{tmp}/home"]
        with open(f"{tmp}/server.log", "wb") as log:
            server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if client.get("/api/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(Path(f"{tmp}/server.log").read_text()[-2000:])
                    time.sleep(0.3)
                config = "dedup:\n  lines:\n    enabled: false\n"
                demo = client.post("/api/runs", json={"name": "demo crawl", "inputs": ["demo"], "config_yaml": config})
                demo.raise_for_status()
                second = client.post(
                    "/api/runs", json={"name": "demo crawl, 4 workers", "inputs": ["demo"], "workers": 4}
                )
                second.raise_for_status()
                client.post(f"/api/runs/{second.json()['id']}/cancel").raise_for_status()  # still queued
                job = wait_for(client, demo.json()["id"])
                if job["status"] != "succeeded":
                    raise RuntimeError(client.get(f"/api/runs/{job['id']}/log").json()["log"][-3000:])
                driver = browser()
                try:
                    for page, name in (("/", "serve-runs.png"), (f"/runs/{job['id']}", "serve-run.png")):
                        driver.get(url + page)
                        driver.save_screenshot(str(args.out / name))
                        shrink(args.out / name)
                        print(f"{args.out / name}: {(args.out / name).stat().st_size / 1e3:.0f} kB")
                finally:
                    driver.quit()
        finally:
            server.terminate()
            server.wait(60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
