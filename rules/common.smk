# Config validation, wildcard constraints and input functions shared by every stage.

import re
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from allroads.config import local_rm_beta, validate

validate(config, source="config")

R = config["results"]
SIZES = config.get("sizes", list(config["models"]))
SEEDS = config["seeds"]
JUDGES = config["judge"]["use"]
SPLITS = ["pretrain", "sft_train", "sft_val", "sft_test", "pft_train", "pft_val", "eval_prompts"]
PRECISION = config["precision"]


wildcard_constraints:
    size="|".join(map(re.escape, SIZES)) if SIZES else "NONE",
    seed=r"\d+",
    gen="sft|dpo|dpo2x",
    policy=r"sft|dpo|dpo2x|online-(sft|dpo|dpo2x)",
    judge="|".join(JUDGES),


def data(split):
    return f"{R}/data/{split}.jsonl"


def model_dir(policy):
    """Checkpoint directory of a trained policy (wildcards: size, seed)."""
    return f"{R}/models/{{size}}/seed{{seed}}/{policy}"


def policy_input(wildcards):
    return model_dir(wildcards.policy).format(**wildcards)


def online_generator(wildcards):
    """Online DPO starts from, and regularizes to, the policy that generated its samples."""
    return model_dir(wildcards.gen).format(**wildcards)


def res(rule_name, key, default):
    """A resource read from config `resources.<rule>.<size|default>.<key>` (paper-scale profiles)."""
    table = config.get("resources", {}).get(rule_name, {})

    def get(wildcards):
        size = getattr(wildcards, "size", None)
        for k in (size, "default"):
            if k in table and key in table[k]:
                return table[k][key]
        return default

    return get


def job_resources(rule_name, gpu=True):
    """`resources:` of a compute rule, per model size from config `resources.<rule_name>`:
    memory, runtime, CPUs and (for GPU rules) GPUs. Defaults fit the toy task on a laptop."""
    out = dict(
        mem_mb=res(rule_name, "mem_mb", 4000),
        runtime=res(rule_name, "runtime", 60),
        cpus_per_task=res(rule_name, "cpus_per_task", 1),
    )
    if gpu:
        out["gpu"] = res(rule_name, "gpu", 0)
    return out


def eval_targets(judge):
    return expand(
        f"{R}/eval/{{size}}/seed{{seed}}/{{policy}}.judge-{judge}.jsonl",
        size=SIZES,
        seed=SEEDS,
        policy=config["eval"]["policies"],
    )


def fig3_targets():
    return expand(
        [
            f"{R}/tables/fig3.{{judge}}.csv",
            f"{R}/tables/fig3.{{judge}}.md",
            f"{R}/tables/fig3.{{judge}}.per_seed.csv",
            f"{R}/figures/fig3.{{judge}}.pdf",
            f"{R}/figures/fig3.{{judge}}.png",
        ],
        judge=JUDGES,
    )
