#!/usr/bin/env bash
# Set up .venv on a fresh machine: Python 3.11, torch's local CPU wheel, edumix + dev deps.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
# torch first and pinned: any other spec pulls gigabytes of CUDA packages.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev]"
# Headless chromium + its driver for the report.html browser test (tests/test_report_html.py);
# Debian's packages, so selenium never downloads a browser. Without root/apt: the test skips.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver
  else
    echo "note: chromium/chromedriver missing (install: apt-get install chromium chromium-driver); the report browser test will be skipped"
  fi
fi
echo "edumix ready: $(.venv/bin/edumix --version)"
