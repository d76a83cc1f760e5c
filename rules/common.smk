# Config validation, wildcard constraints and input functions shared by every stage.

import re
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from allroads.config import (
    ConfigError,
    apply_cli_config,
    config_source,
    local_rm_beta,
    validate,
)

try:
    # --config values as YAML (Snakemake reads `seeds=[0,1]` as ["0", "1"]), then validation
    _cli = apply_cli_config(config, workflow.config_settings.config_args)
    validate(config, source=config_source(workflow.overwrite_configfiles), cli=_cli)
except ConfigError as e:
    print(e, file=sys.stderr)  # the message names the file (or --config) and the key
    sys.exit(1)

# Between-workflow cache (`--cache`, which the profiles pass when SNAKEMAKE_OUTPUT_CACHE is
# set): the expensive rules are eligible only then, so plain runs do not warn about it.
BETWEEN_WORKFLOW_CACHE = "omit-software" if workflow.workflow_settings.cache is not None else False

# `threads:` of a job that runs alone (base: nothing else is ready while it runs): every core
# of the run. Snakemake caps threads at --cores; inside a Slurm job (`--cores all`) this is the
# job's CPUs (`resources: cpus_per_task`); 1 where no core count is set (cluster submit host).
ALL_CORES = workflow.resource_settings.cores or 1

R = config["results"]
SIZES = config.get("sizes", list(config["models"]))
SEEDS = config["seeds"]
JUDGES = config["judge"]["use"]
SPLITS = ["pretrain", "sft_train", "sft_val", "sft_test", "pft_train", "pft_val", "eval_prompts"]
PRECISION = config["precision"]
# Section 3: every policy and RM starts "from the same SFT checkpoint": one SFT per size, shared
# by all seeds (trained with `sft_seed`), unless `sft_per_seed: true` (one per seed).
SFT_PER_SEED = config.get("sft_per_seed", False)
SFT_SEED = config.get("sft_seed", 0)


wildcard_constraints:
    size="|".join(map(re.escape, SIZES)) if SIZES else "NONE",
    seed=r"\d+",
    gen="sft|dpo|dpo2x",
    policy=r"sft|dpo|dpo2x|online-(sft|dpo|dpo2x)",
    judge="|".join(JUDGES),


def data(split):
    return f"{R}/data/{split}.jsonl"


def model_dir(policy):
    """Checkpoint directory of a trained policy (wildcards: size, seed; the shared SFT: size)."""
    if policy == "sft" and not SFT_PER_SEED:
        return f"{R}/models/{{size}}/sft"
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


# ---- training jobs: `shell: "{params.launch} {params.spec:q} > {log} 2>&1"` (allroads.launch),
# so `snakemake -n -p` prints the command every job runs: `python -m allroads.training <spec>`,
# or with N > 1 GPUs `accelerate launch --config_file <DeepSpeed ZeRO-3> --num_processes N ...`.
import shlex

from allroads import launch as _launch

# `python` / `accelerate` in those commands are the ones next to the Python running Snakemake
# (the venv; with `--sdm conda`, the rule's env instead), and `-m allroads` resolves from the
# workflow folder: set by a shell prefix, not in params, so another checkout or venv path does
# not count as a changed job. (Snakemake formats the prefix too: {{{{ }}}} is a literal brace.)
_venv_bin = (
    ""
    if "conda" in {str(m) for m in workflow.deployment_settings.deployment_method}
    else f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH; "
)
shell.prefix(
    "set -euo pipefail; "
    + _venv_bin
    + f"export PYTHONPATH={shlex.quote(workflow.basedir)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)


def launch_cmd(wildcards, resources):
    """How a training job starts: one process per GPU of the job (resources.gpu)."""
    return _launch.launcher_str(
        _launch.num_processes(resources.gpu),
        PRECISION,
        accelerate_config=config.get("accelerate_config", _launch.ACCELERATE_CONFIG),
    )


def train_params(stage, **fields):
    """`params` of a training rule: `spec`, the JSON argument of `python -m allroads.training`
    (inputs `init`, `train`, maybe `ref`; a callable field is called with the wildcards), and
    `settings`, the same without any path. Snakemake ignores params computed from input or
    output files when deciding what to rerun, so `settings` is what makes a changed
    hyperparameter rerun the job. The GPU count is read from config like the resources are."""
    gpus = res(stage, "gpu", 0)

    def resolved(wildcards):
        f = {k: v(wildcards) if callable(v) else v for k, v in fields.items()}
        if "seed" not in f:  # the shared SFT has its own
            f["seed"] = int(wildcards.seed)
        nprocs = _launch.num_processes(gpus(wildcards))
        return dict(stage=stage, precision=PRECISION, nprocs=nprocs, **f)

    def settings(wildcards):
        f = resolved(wildcards)
        f.pop("ref", None)  # a path, like init and train
        return _launch.spec_json(**f)

    def spec(wildcards, input, output):
        return _launch.spec_json(
            init=input.init, train=input.train, out=output[0], **resolved(wildcards)
        )

    return {"spec": spec, "settings": settings}


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
            f"{R}/tables/fig3.{{judge}}.diffs.csv",
            f"{R}/figures/fig3.{{judge}}.pdf",
            f"{R}/figures/fig3.{{judge}}.png",
        ],
        judge=JUDGES,
    )


# ---- diagnostics (rules/diagnostics.smk)
OFFLINE_POLICIES = [p for p in ("dpo", "dpo2x") if p in config["eval"]["policies"]]
TRAINED_MODELS = ["sft", "global_rm"] + [p for p in config["eval"]["policies"] if p != "sft"]


def offline_policy_dirs(wildcards):
    return [model_dir(p).format(**wildcards) for p in OFFLINE_POLICIES]


def trained_dirs(wildcards):
    return [model_dir(p).format(**wildcards) for p in TRAINED_MODELS]


def online_files(kind):
    """The online samples or pairs of every generator (wildcards: size, seed)."""

    def get(wildcards):
        return [
            f"{R}/online/{wildcards.size}/seed{wildcards.seed}/{g}.{kind}.jsonl"
            for g in config["online"]["generators"]
        ]

    return get


def eval_sample_files(wildcards):
    return [
        f"{R}/eval/{wildcards.size}/seed{wildcards.seed}/{p}.samples.jsonl"
        for p in config["eval"]["policies"]
    ]


def diagnostics_targets():
    return [f"{R}/tables/diagnostics.csv", f"{R}/tables/diagnostics.md"]
