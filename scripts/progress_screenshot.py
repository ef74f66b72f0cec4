"""A picture of the one progress line of a curate on 2 worker processes, for the docs:
docs/progress-2-workers.png.

    .venv/bin/python scripts/progress_screenshot.py [--out docs]

Curates the demo crawl with `--direct_running_mode=multi_processing --direct_num_workers=2`
and EDUMIX_PROGRESS=1, keeps every frame the line drew on stderr (tqdm redraws it after a
carriage return), and shows three of them — early, midway and the final one — as a terminal
would have shown them over time, photographed with Debian's headless chromium through
/usr/bin/chromedriver (selenium never downloads a driver).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def progress_frames(stderr: str) -> list[str]:
    """Every state of the progress line, in order (blank and log lines left out)."""
    frames = []
    for line in stderr.splitlines():
        for frame in line.split("\r"):
            frame = _ANSI.sub("", frame).rstrip()
            # a new state only: the clock alone moving is not worth a row
            if frame.startswith("curate ") and (not frames or frame.split(" ", 2)[2] != frames[-1].split(" ", 2)[2]):
                frames.append(frame)
    return frames


def page(command: str, frames: list[str]) -> str:
    shown = [frames[len(frames) // 4], frames[(2 * len(frames)) // 3], frames[-1]] if len(frames) >= 3 else frames
    rows = "".join(
        f"<div class=t>{label}</div><pre>{html.escape(f)}</pre>"
        for label, f in zip(("early", "midway", "at the end (stays on screen)"), shown, strict=False)
    )
    return f"""<!doctype html><meta charset=utf-8><style>
body {{ background:#1e1e1e; color:#ddd; font: 13px/1.4 'DejaVu Sans Mono', monospace; margin: 18px; }}
pre {{ margin: 0 0 14px 0; color: #e8e8e8; white-space: pre; }}
.c {{ color:#8fd18f; margin-bottom: 14px; }} .t {{ color:#888; font-size: 12px; }}
</style><div class=c>$ {html.escape(command)}</div>{rows}"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from edumix.demo import write_demo_crawl

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        crawl = tmp / "demo-crawl.warc.gz"
        write_demo_crawl(crawl, pages=120, seed=0)
        shown_cmd = (
            "edumix curate -i demo-crawl.warc.gz -o run --direct_running_mode multi_processing --direct_num_workers 2"
        )
        cmd = [sys.executable, "-m", "edumix.cli", *shown_cmd.split()[1:]]
        cmd[cmd.index("demo-crawl.warc.gz")] = str(crawl)
        cmd[cmd.index("run")] = str(tmp / "run")
        env = {**os.environ, "EDUMIX_PROGRESS": "1", "COLUMNS": "150"}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        frames = progress_frames(done.stderr)
        if not frames:
            print("no progress frames on stderr", file=sys.stderr)
            return 1
        (tmp / "p.html").write_text(page(shown_cmd, frames), encoding="utf-8")
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1560,330", "--hide-scrollbars"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        try:
            driver.get((tmp / "p.html").as_uri())
            target = Path(args.out) / "progress-2-workers.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(target))
        finally:
            driver.quit()
        print(f"wrote {target} ({len(frames)} frames drawn; final: {frames[-1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
