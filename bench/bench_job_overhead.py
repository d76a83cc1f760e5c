"""Per-job overhead of the torch jobs, cold and warm (allroads/warm.py).

Re-runs two jobs of a finished default run on its own inputs, into a temporary folder:
``sample_eval`` of seed 0's DPO policy (a ``script:`` job, 0.25 s of work) and the offline DPO
of seed 0 (``python -m allroads.training``). Each runs

- **cold**: a fresh interpreter, as Snakemake starts it (interpreter, imports, the job, exit);
- **warm**: the same command, handed off to the workflow's warm server (``allroads.warm``,
  config ``warm_jobs``), which imported torch, transformers and TRL once and forks the job.

and prints wall time, the job's own "done in" and the difference (the overhead), whether the job
ran warm (its log says so), and whether the outputs are byte-identical to the finished run's
(samples; the DPO's model.safetensors).

Run: .venv/bin/python bench/bench_job_overhead.py [results]   (default: results; ~1 CPU-minute)
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# a script job as Snakemake's generated script starts it: `snakemake` and `__real_file__` set,
# then the script's own code (whose first `import allroads` hands it to a warm server, if any)
RUNNER = """
import json, sys
class NS(dict):
    __getattr__ = dict.__getitem__
spec = json.loads(sys.argv[1])
snakemake = NS(input=NS(spec["input"]), output=spec["output"], params=NS(spec["params"]),
               wildcards=NS(spec["wildcards"]), log=[spec["log"]], rule=spec["rule"], threads=1)
__real_file__ = __file__
exec(compile(open(spec["script"]).read(), spec["script"], "exec"))
"""
DONE = re.compile(r"done in ([\d.]+) s")


def jobs(results: Path, tmp: Path) -> dict[str, tuple[list[str], Path, Path, Path]]:
    """name -> (argv, log, output, the finished run's output)."""
    from allroads.config import stage_defaults
    from allroads.launch import spec_json

    (tmp / "runner.py").write_text(RUNNER)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    sample = dict(
        script=str(ROOT / "scripts" / "sample.py"), rule="sample_eval",
        input={"model": str(results / "models/toy-m/seed0/dpo"),
               "prompts": str(results / "data/eval_prompts.jsonl")},
        output=[str(tmp / "dpo.samples.jsonl")], log=str(tmp / "sample_eval.log"),
        wildcards={"size": "toy-m", "seed": "0", "policy": "dpo"},
        params={"n": 1, "temperature": cfg["eval"]["temperature"],
                "max_new_tokens": cfg["task"]["max_new_tokens"],
                "sampler": cfg["sampler"], "precision": cfg["precision"]},
    )  # fmt: skip
    dpo = spec_json(
        stage="dpo", init=str(results / "models/toy-m/sft"), ref=str(results / "models/toy-m/sft"),
        train=str(results / "data/pft_train.jsonl"), out=str(tmp / "dpo"), seed=0,
        precision=cfg["precision"], nprocs=1, ref_temperature=1.0, policy_temperature=1.0,
        hp={**stage_defaults("dpo"), **cfg["train"]["dpo"]},
    )  # fmt: skip
    return {
        "sample_eval": ([str(tmp / "runner.py"), json.dumps(sample)], tmp / "sample_eval.log",
                        tmp / "dpo.samples.jsonl", results / "eval/toy-m/seed0/dpo.samples.jsonl"),
        "offline_dpo": (["-m", "allroads.training", dpo], tmp / "dpo.log",
                        tmp / "dpo/model.safetensors", results / "models/toy-m/seed0/dpo/model.safetensors"),
    }  # fmt: skip


def run(argv: list[str], log: Path, socket: str | None = None) -> float:
    """Run a job's command as Snakemake would, with its output in ``log``; with ``socket``, jobs
    hand themselves to the warm server there."""
    from allroads.warm import SOCKET_ENV

    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    env.update(
        OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), **({SOCKET_ENV: socket} if socket else {})
    )
    t = time.perf_counter()
    with open(log, "a") as f:
        subprocess.run([sys.executable, *argv], env=env, stdout=f, stderr=f, check=True)
    return time.perf_counter() - t


def measure(mode: str, name: str, job, socket: str | None = None) -> str:
    from allroads.warm import NOTE

    argv, log, out, ref = job
    log.write_text("")
    if out.is_file():
        out.unlink()
    wall = run(argv, log, socket)
    text = log.read_text()
    work = float(DONE.findall(text)[-1])
    same = filecmp.cmp(out, ref, shallow=False)
    warm = NOTE in text
    return f"{name:12s} {mode:5s} {wall:7.2f} {work:7.2f} {wall - work:9.2f}  {warm!s:5s} {same}"


def main() -> None:
    from allroads.warm import Server

    results = Path(sys.argv[1] if len(sys.argv) > 1 else "results").resolve()
    with tempfile.TemporaryDirectory() as d:
        todo = jobs(results, Path(d))
        lines = [measure("cold", name, job) for name, job in todo.items()]
        server = Server()
        t = time.perf_counter()
        socket = server.start()
        while not os.path.exists(socket):  # (a job that comes sooner runs cold)
            if server.proc.poll() is not None or time.perf_counter() - t > 60:
                sys.exit("the warm server did not start")
            time.sleep(0.01)
        try:
            first = measure("warm", "sample_eval", todo["sample_eval"], socket)  # waits for imports
            print(
                f"server start to its first job's end: {time.perf_counter() - t:.2f} s (once per run)"
            )
            print(first)
            lines += [measure("warm", name, job, socket) for name, job in todo.items()]
        finally:
            server.stop()
    print(
        f"{'job':12s} {'mode':5s} {'wall s':>7s} {'work s':>7s} {'overhead':>9s}  {'warm':5s} identical"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
