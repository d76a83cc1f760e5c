"""Time the dry run of the paper-scale DAG (`snakemake -n --profile slurm all`).

    .venv/bin/python bench/bench_dryrun.py [--repeat 5] [--target all]

Prints the wall time of the full CLI (interpreter start + Snakemake import + parse + DAG +
dry-run scheduling) for the slurm profile (paper config, 3 sizes x 3 seeds) and, for scale, of
`snakemake --version` (start-up and import alone) and of the local profile's toy DAG. The
results folder is a fresh temporary directory, so every job is in the DAG. Target: <= 3 s.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TARGET_S = 3.0


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return dt, p.stdout + p.stderr


def bench(name: str, cmd: list[str], repeat: int) -> float:
    runs, out = [], ""
    for _ in range(repeat):
        dt, out = timed(cmd)
        runs.append(dt)
    m = re.search(r"^total\s+(\d+)", out, re.M)
    jobs = f"{m.group(1)} jobs" if m else ""
    med = statistics.median(runs)
    print(f"{name:<34} median {med:5.2f} s  min {min(runs):5.2f} s  {jobs}")
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--target", default="all")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        imp = bench("snakemake --version (import only)", [SNAKEMAKE, "--version"], a.repeat)

        def dry_run(profile: str, results: str) -> list[str]:
            return [SNAKEMAKE, a.target, "-n", "--quiet", "rules", "--profile", profile,
                    "--config", f"results={tmp}/{results}"]  # fmt: skip

        # the slurm profile deploys conda envs, which this machine lacks: its copy without them
        # (tests/profiles.py), so conda's own start-up is not part of the figure
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from profiles import without_conda

        slurm = str(without_conda("slurm", Path(tmp) / "profile"))
        bench("dry run, local profile, toy", dry_run("profiles/local", "toy"), a.repeat)
        med = bench("dry run, slurm profile, paper", dry_run(slurm, "paper"), a.repeat)
    verdict = "OK" if med <= TARGET_S else "OVER TARGET"
    print(f"paper dry run: {med:.2f} s (target <= {TARGET_S:.0f} s): {verdict}")
    print(f"  of which the workflow (parse + DAG + scheduling, beyond import): {med - imp:.2f} s")


if __name__ == "__main__":
    main()
