"""Per-job overhead of the torch jobs, and what a warm (pre-imported, forked) process would save.

Re-runs two jobs of a finished default run on its own inputs, into a temporary folder:
``sample_eval`` of seed 0's DPO policy (a ``script:`` job, 0.25 s of work) and the offline DPO
of seed 0 (``python -m allroads.training``). Each runs

- **cold**: a fresh interpreter, as Snakemake starts it (interpreter, imports, the job, exit);
- **warm**: forked from one parent that has already imported torch, transformers and TRL (and
  run no torch op, so the child sets up its own thread pool): the job and exit only.

and prints wall time, the job's own "done in" and the difference (the overhead), and whether the
outputs are byte-identical to the finished run's (samples; the DPO's model.safetensors).
Nothing in the workflow runs warm today; this measures what a fork server would buy.

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
RUNNER = """
import json, runpy, sys
class NS(dict):
    __getattr__ = dict.__getitem__
spec = json.loads(sys.argv[1])
snakemake = NS(input=NS(spec["input"]), output=spec["output"], params=NS(spec["params"]),
               wildcards=NS(spec["wildcards"]), log=[spec["log"]], rule=spec["rule"], threads=1)
runpy.run_path(spec["script"], init_globals={"snakemake": snakemake}, run_name="__main__")
"""
DONE = re.compile(r"done in ([\d.]+) s")


def jobs(results: Path, tmp: Path) -> dict[str, tuple[list[str], Path, Path, Path]]:
    """name -> (argv, log, output, the finished run's output)."""
    from allroads.config import stage_defaults
    from allroads.launch import spec_json

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
        "sample_eval": (["-c", RUNNER, json.dumps(sample)], tmp / "sample_eval.log",
                        tmp / "dpo.samples.jsonl", results / "eval/toy-m/seed0/dpo.samples.jsonl"),
        "offline_dpo": (["-m", "allroads.training", dpo], tmp / "dpo.log",
                        tmp / "dpo/model.safetensors", results / "models/toy-m/seed0/dpo/model.safetensors"),
    }  # fmt: skip


def run_cold(argv: list[str], log: Path) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    with open(log, "a") as f:
        subprocess.run([sys.executable, *argv], env=env, stdout=f, stderr=f, check=True)
    return time.perf_counter() - t


def run_warm(argv: list[str], log: Path) -> float:
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: the job as its process would run it, then exit
        import runpy

        import torch

        torch.set_num_threads(1)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.dup2(fd, 1), os.dup2(fd, 2)
        sys.argv = ["-c", *argv[2:]] if argv[0] == "-c" else [argv[1], *argv[2:]]
        code = 1  # a failed job (an exception, SystemExit too) fails the child
        try:
            if argv[0] == "-c":
                exec(compile(argv[1], "<runner>", "exec"), {"__name__": "__main__"})
            else:
                runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            code = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status:
        sys.exit(f"warm job failed ({status}): see {log}")
    return time.perf_counter() - t


def measure(mode: str, name: str, job, run) -> str:
    argv, log, out, ref = job
    log.write_text("")
    if out.is_file():
        out.unlink()
    wall = run(argv, log)
    work = float(DONE.findall(log.read_text())[-1])
    same = filecmp.cmp(out, ref, shallow=False)
    return f"{name:12s} {mode:5s} {wall:7.2f} {work:7.2f} {wall - work:9.2f}  {same}"


def main() -> None:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "results").resolve()
    os.environ["OMP_NUM_THREADS"] = "1"  # the jobs' threads: 1
    with tempfile.TemporaryDirectory() as d:
        todo = jobs(results, Path(d))
        lines = [measure("cold", name, job, run_cold) for name, job in todo.items()]
        t = time.perf_counter()
        from trl import DPOTrainer, RewardTrainer  # noqa: F401

        import allroads.sampling  # noqa: F401  what the torch jobs import
        import allroads.training  # noqa: F401

        print(f"warm parent's imports: {time.perf_counter() - t:.2f} s (paid once)")
        lines += [measure("warm", name, job, run_warm) for name, job in todo.items()]
    print(f"{'job':12s} {'mode':5s} {'wall s':>7s} {'work s':>7s} {'overhead':>9s}  identical")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
