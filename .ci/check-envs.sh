#!/usr/bin/env bash
# Every rule environment (envs/*.yaml) resolves: pip's resolver on its `pip:` requirements, with
# --dry-run against the package registry, in a throwaway venv. Installs none of the (large)
# wheels. A conflict (e.g. vLLM's torch against the training stack's) fails with pip's message.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
status=0
for env in envs/*.yaml; do
  # the `pip:` entries of the conda env file; `..` (the project) is relative to envs/
  reqs=$("$PY" - "$env" <<'PY'
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
for dep in spec["dependencies"]:
    if isinstance(dep, dict):
        for r in dep["pip"]:
            print(r.replace("-e ..", "-e .", 1) if r.startswith("-e ..") else r)
PY
)
  mapfile -t args < <(printf '%s\n' "$reqs" | sed 's/^-e /-e\n/' )
  start=$(date +%s)
  if out=$("$tmp/venv/bin/python" -m pip install --dry-run --ignore-installed -q "${args[@]}" 2>&1); then
    echo "resolves: $env ($(( $(date +%s) - start )) s)"
  else
    echo "DOES NOT RESOLVE: $env"; printf '%s\n' "$out" | grep -v "^WARNING: Location" | tail -15
    status=1
  fi
done
exit $status
