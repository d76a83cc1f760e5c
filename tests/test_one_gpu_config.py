"""The one-GPU config (config/one-gpu.yaml over config/paper.yaml, profiles/one-gpu): the
paper's recipe on Pythia-160M/410M. Its dry run plans every figure with the paper's jobs, each
GPU job asking for the one GPU, and the same training commands as paper scale but the sizes."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from profiles import without_conda

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
ONE_GPU = yaml.safe_load((ROOT / "config" / "one-gpu.yaml").read_text())


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one-gpu")
    cmd = [str(SNAKEMAKE), "all", "-n", "-p", "--profile",
           str(without_conda("one-gpu", tmp / "profile")), "--config", f"results={tmp}/r"]  # fmt: skip
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


def jobs(out: str) -> list[tuple[str, dict]]:
    found = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", out):
        m = re.match(r"(?:local)?rule (\w+):\n", block)
        if m:
            res = re.search(r"resources: (.*)", block)
            kv = dict(x.split("=", 1) for x in res.group(1).split(", ")) if res else {}
            found.append((m.group(1), {**kv, "_text": block}))
    return found


def test_one_gpu_plans_every_figure_on_the_small_pythias_only(dry_run):
    js = jobs(dry_run)
    rules = Counter(r for r, _ in js)
    for rule in ("sft", "global_rm", "offline_dpo", "online_dpo", "sample_online", "local_rm"):
        assert rules[rule] or rules[f"control_{rule}"], rule
    assert rules["control_online_dpo"] >= 1  # Figure 5's chain, on the two-word task
    sizes = {
        re.search(r"size=([\w.-]+)", j["_text"]).group(1) for _, j in js if "size=" in j["_text"]
    }
    assert sizes == set(ONE_GPU["sizes"])
    seeds = {int(s) for _, j in js for s in re.findall(r"seed=(\d+)", j["_text"])}
    assert seeds == set(ONE_GPU["seeds"])


def test_every_gpu_job_asks_for_the_one_gpu_and_runs_one_process(dry_run):
    gpu_jobs = [(r, j) for r, j in jobs(dry_run) if int(j.get("gpu", 0)) > 0]
    assert gpu_jobs
    assert {int(j["gpu"]) for _, j in gpu_jobs} == {1}
    training = [j for r, j in gpu_jobs if r.removeprefix("control_") in ("sft", "online_dpo")]
    assert training and all("accelerate launch" not in j["_text"] for j in training)
    assert all("python -m allroads.training" in j["_text"] for j in training)


def test_the_control_overlays_merge_in_order():
    """Figure 5's run: the paper's two-word overlay (H = 5, the judge-written data), then the
    one-GPU scale-down over it (fewer evaluation prompts), over the one-GPU config."""
    from test_envs import workflow_globals

    g = workflow_globals(["config/paper.yaml", "config/one-gpu.yaml"])
    cfg = g["control_config"]()
    assert cfg["task"]["two_word"] and cfg["task"]["max_new_tokens"] == 5
    assert cfg["task"]["two_word_recipe"] == "judge"
    assert cfg["task"]["n_eval_prompts"] == 500  # one-gpu-two-word.yaml, merged last
    assert cfg["sizes"] == ONE_GPU["figure_scope"]["fig5"]["sizes"]  # Figure 5's scope
