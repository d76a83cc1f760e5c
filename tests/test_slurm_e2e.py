"""End to end through Slurm: a reduced toy pipeline run with the slurm profile on a real
(single-node, fake-GPU) Slurm cluster, and its outputs compared with a local run's.

Needs a cluster: `.ci/slurm/setup.sh` (as root) builds one on Debian 12 in ~20 s with the
partitions the profile names (cpu, h100, a100) and fake typed GPUs (gpu:h100:2, gpu:a100:2).
Skipped, with the reason, when `sinfo` is missing or the cluster does not answer.

The profile used is profiles/slurm/config.v8+.yaml itself with only what a 2-core CI node
needs changed: memory/runtime/CPUs scaled down, `squeue` status queries (the CI cluster has no
accounting), a 5 s first status check, and the reduced config. Partitions, GPU request style
and rule -> partition mapping are the profile's own.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from allroads.tasks import task_class

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _cluster_problem() -> str | None:
    if shutil.which("sinfo") is None:
        return "no `sinfo` on PATH: no Slurm cluster here (set one up with .ci/slurm/setup.sh)"
    try:
        p = subprocess.run(
            ["sinfo", "-h", "-o", "%P %a %G"], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        return "`sinfo` timed out: slurmctld not answering (.ci/slurm/setup.sh starts it)"
    if p.returncode != 0:
        return f"`sinfo` failed ({p.stderr.strip()[:200]}): is slurmctld running?"
    parts = {line.split()[0].rstrip("*") for line in p.stdout.splitlines() if line.strip()}
    missing = {"cpu", "h100", "a100"} - parts
    if missing:
        return f"cluster lacks partition(s) {sorted(missing)} named by profiles/slurm"
    return None


_PROBLEM = _cluster_problem()
if _PROBLEM:
    pytestmark.append(pytest.mark.skip(reason=_PROBLEM))

# the reduced target: data -> base -> sft -> sample_eval -> judge, one size, one seed
# (CPU rules on `cpu`, sft on `h100` with a fake GPU, sample_eval on `a100`)
TARGET = "{results}/eval/toy-s/seed0/sft.judge-oracle.jsonl"
COMPARED = [
    "data/sft_train.jsonl",
    "data/pft_train.jsonl",
    "data/eval_prompts.jsonl",
    "eval/toy-s/seed0/sft.samples.jsonl",
    "eval/toy-s/seed0/sft.judge-oracle.jsonl",
    "models/toy-s/sft/model.safetensors",  # one SFT per size (Section 3)
]


def reduced_config(results: Path) -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["results"] = str(results)
    cfg["seeds"] = [0]
    cfg["models"] = {"toy-s": cfg["models"]["toy-s"]}
    cfg["task"]["n_eval_prompts"] = 16
    options = cfg["task"][task_class(cfg["task"]["kind"]).options_key]  # the default task's
    options["splits"] = {
        "sft_train": 96,
        "sft_val": 16,
        "sft_test": 32,
        "pft_train": 32,
        "pft_val": 16,
    }
    options["pretrain"] = 128
    cfg["sizes"] = ["toy-s"]
    cfg["rm_study"]["sizes"] = ["toy-s"]  # the RM study's Figure 4 grid (not built here)
    cfg["eval"]["policies"] = ["sft"]
    cfg["online"]["generators"] = ["sft"]
    small = {"mem_mb": 1500, "runtime": 15, "cpus_per_task": 1}
    cfg["resources"] = {
        "base": {"default": dict(small)},
        "sft": {"default": dict(small, gpu=1)},
        "sample": {"default": dict(small, gpu=1)},
    }
    return cfg


def ci_profile(dst: Path, configfile: Path) -> Path:
    """profiles/slurm with sizes scaled to the CI node and CI-cluster status settings."""
    text = (ROOT / "profiles" / "slurm" / "config.v8+.yaml").read_text()
    prof = yaml.safe_load(text)
    prof["configfile"] = [str(configfile)]
    prof["slurm-status-command"] = "squeue"  # no slurmdbd on the CI cluster
    prof["slurm-init-seconds-before-status-checks"] = 5
    prof["latency-wait"] = 10
    prof["retries"] = 0
    # the CI node has no conda: jobs use the venv (.ci/check-envs.sh checks the envs resolve)
    prof.pop("software-deployment-method", None)
    prof["jobs"] = 4
    for section in [prof["default-resources"], *prof["set-resources"].values()]:
        for key, cap in (("mem_mb", 1500), ("runtime", 15), ("cpus_per_task", 1)):
            if key in section:
                section[key] = min(section[key], cap)
    prof.pop("__use_yte__", None)
    prof = {k: v for k, v in prof.items() if not k.startswith("?if")}  # no cache in CI
    dst.mkdir(parents=True)
    (dst / "config.v8+.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    return dst


def run(cmd: list[str], cwd: Path, timeout: int) -> str:
    # `timeout -k`: a hung snakemake does not always stop on SIGTERM alone
    p = subprocess.run(
        ["timeout", "-k", "10", str(timeout), *cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}\n{out[-6000:]}"
    return out


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_toy_pipeline_through_slurm_matches_local_run(tmp_path):
    runs = {}
    for mode in ("local", "slurm"):
        work = tmp_path / mode
        work.mkdir()
        cfg_path = tmp_path / f"{mode}.yaml"
        cfg_path.write_text(yaml.safe_dump(reduced_config(work / "results")))
        base = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(work)]
        if mode == "local":
            cmd = [*base, "--profile", str(ROOT / "profiles" / "local"), "--cores", "2"]
        else:
            cmd = [*base, "--profile", str(ci_profile(tmp_path / "profile", cfg_path))]
        cmd += ["--configfile", str(cfg_path), "--replace-workflow-config"]
        out = run([*cmd, TARGET.format(results=work / "results")], ROOT, timeout=900)
        runs[mode] = (work / "results", out)

    # every job really went through sbatch, the GPU rules to the GPU partitions with a GPU
    ids = re.findall(r"has been submitted with SLURM jobid (\d+)", runs["slurm"][1])
    assert len(ids) == 5, runs["slurm"][1][-3000:]
    q = subprocess.run(
        [
            "squeue",
            "-t",
            "all",
            "-h",
            "-j",
            ",".join(ids),
            "-O",
            "Partition:12,tres-per-job:30,Comment:80",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = {}
    for line in q.stdout.splitlines():
        part, tres, comment = line.split()
        seen[re.match(r"rule_([a-z_]+?)(?:_wildcards|$)", comment).group(1)] = (part, tres)
    assert seen == {
        "data": ("cpu", "N/A"),
        "base": ("cpu", "N/A"),
        "sft": ("h100", "gres:gpu:h100:1"),
        "sample_eval": ("a100", "gres:gpu:a100:1"),
        "judge": ("cpu", "N/A"),
    }

    for rel in COMPARED:
        a, b = runs["local"][0] / rel, runs["slurm"][0] / rel
        assert a.exists() and b.exists(), rel
        assert digest(a) == digest(b), f"{rel} differs between the local and the Slurm run"
