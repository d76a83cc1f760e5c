"""Per-job start-up overhead of a finished run, and how much of its wall time was work.

Reads the rule logs of an existing results folder (a full run from scratch, e.g. the default
`snakemake --cores 2`): every job's first log line records its start-up time (process start
to the job body: interpreter, Snakemake's preamble, the script's imports) and its last line the
job's own time ("done in"; training jobs log only that). Prints, per rule, the median start-up, work and total per job;
the median start-up of the light jobs (target: <= 1.5 s); and for the whole run the sum of
work, the wall time (first process start to last "done") and their ratio.

With --imports it also times, in fresh interpreters, the imports of each light rule's script
(plus Snakemake's preamble) and says whether torch / transformers / trl were imported.

Run: .venv/bin/python bench/bench_startup.py [results] [--cores 2] [--imports]
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHT = {  # rule -> its script: no model in the job, so start-up is pure overhead
    "data": "data.py",
    "judge": "judge.py",
    "table": "table.py",
    "figure": "figure.py",
}
TARGET_S = 1.5
STAMP = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
FIRST = re.compile(STAMP + r" \S+ INFO rule (\w+) wildcards .* startup ([\d.]+) s")
ANY = re.compile(STAMP + " ")
DONE = re.compile(STAMP + r" \S+ INFO .*\b(\w+) done in ([\d.]+) s")
HEAVY = ("torch", "transformers", "trl")
PREAMBLE = (
    "import pickle; import snakemake.io; from snakemake.logging import logger; "
    "from snakemake.iocontainers import Snakemake"
)


def _time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def parse_log(path: Path, logs: Path | None = None) -> dict | None:
    """One job's log -> {rule, start, startup, work, end} (seconds), None if unfinished.

    Jobs run through allroads.jobs.job() log their start-up; training jobs (``shell:`` ``python
    -m allroads.training``) log only "done in": their start-up is None, their start the first
    log line (after their imports), their rule the log's folder under ``logs``."""
    first = stamp = done = None
    with open(path, errors="replace") as f:
        for line in f:
            if first is None and (m := FIRST.match(line)):
                first = m
            if stamp is None and (m := ANY.match(line)):
                stamp = m[1]
            if m := DONE.match(line):
                done = m
    if done is None or stamp is None:
        return None
    if first is not None:
        rule, startup, start = first[2], float(first[3]), _time(first[1]) - float(first[3])
    else:
        rel = path.relative_to(logs) if logs else Path(path.name)
        rule, startup, start = rel.parts[0].removesuffix(".log"), None, _time(stamp)
    return {"rule": rule, "start": start, "startup": startup, "work": float(done[3]),
            "end": _time(done[1])}  # fmt: skip


def report(results: Path, cores: int) -> int:
    logs = results / "logs"
    jobs = [j for p in sorted(logs.rglob("*.log")) if (j := parse_log(p, logs))]
    if not jobs:
        print(f"no finished job logs with start-up times under {results / 'logs'}")
        return 1
    by_rule: dict[str, list[dict]] = {}
    for j in jobs:
        by_rule.setdefault(j["rule"], []).append(j)
    med = statistics.median

    def fmt(values) -> str:
        values = [v for v in values if v is not None]
        return f"{med(values):.2f}" if values else "n/a"

    print(f"{results}: {len(jobs)} jobs")
    print(f"{'rule':<14} {'jobs':>4} {'start-up s':>10} {'work s':>8} {'total s':>8}  (medians)")
    for rule in sorted(by_rule, key=lambda r: min(j["start"] for j in by_rule[r])):
        js = by_rule[rule]
        print(
            f"{rule + ('*' if rule in LIGHT else ''):<14} {len(js):>4} "
            f"{fmt(j['startup'] for j in js):>10} {fmt(j['work'] for j in js):>8} "
            f"{fmt(j['end'] - j['start'] for j in js):>8}"
        )
    if any(j["startup"] is None for j in jobs):
        print("  n/a: a training job logs no start-up; its total starts at its first log line")
    light = [j["startup"] for j in jobs if j["rule"] in LIGHT]
    if light:
        m = med(light)
        verdict = "within" if m <= TARGET_S else "OVER"
        print(
            f"light jobs (*): median start-up {m:.2f} s over {len(light)} jobs "
            f"({verdict} the {TARGET_S} s target)"
        )
    wall = max(j["end"] for j in jobs) - min(j["start"] for j in jobs)
    work = sum(j["work"] for j in jobs)
    startup = sum(j["startup"] or 0.0 for j in jobs)
    print(
        f"run: wall {wall:.1f} s, work {work:.1f} s, start-up {startup:.1f} s (known) summed over jobs; "
        f"work/wall {work / wall:.2f} (of {cores} cores: {work / (wall * cores):.0%} busy "
        f"with work)"
    )
    return 0


def script_imports(script: Path) -> str:
    """The top-level import statements of a ``script:`` file, as one line of code."""
    tree = ast.parse(script.read_text())
    stmts = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "; ".join(ast.unparse(n) for n in stmts)


def time_imports(repeat: int) -> None:
    print(
        f"start-up of each light rule's script in a fresh interpreter: Snakemake's preamble, the "
        f"script's imports and entering allroads.jobs.job(); median of {repeat}"
    )
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_startup.{os.getpid()}.log"
    check = f"import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    for rule, name in LIGHT.items():
        enter = (
            "from types import SimpleNamespace; from allroads.jobs import job; "
            f"smk = SimpleNamespace(log=[{str(log)!r}], rule={rule!r}, wildcards={{}}, threads=1); "
            "exec('with job(smk): pass')"
        )
        code = f"{PREAMBLE}; {script_imports(ROOT / 'scripts' / name)}; {enter}; {check}"
        times, heavy = [], ""
        for _ in range(repeat):
            t = time.perf_counter()
            p = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            )
            times.append(time.perf_counter() - t)
            heavy = p.stdout.strip()
        print(
            f"  {rule:<12} scripts/{name:<10} {statistics.median(times):.2f} s"
            f"  heavy modules imported: {heavy or 'none'}"
        )
    log.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="?", default="results", type=Path)
    ap.add_argument("--cores", type=int, default=os.cpu_count(), help="cores of the run")
    ap.add_argument("--imports", action="store_true", help="also time the light scripts' imports")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)
    rc = report(a.results, a.cores)
    if a.imports:
        time_imports(a.repeat)
    return rc


if __name__ == "__main__":
    sys.exit(main())
