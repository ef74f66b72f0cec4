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
echo "edumix ready: $(.venv/bin/edumix --version)"
