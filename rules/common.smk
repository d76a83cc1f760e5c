# The thin layer between the config and the rules: --config handling and validation (the
# schema's defaults filled in), then the plan (allroads.plan: what the run builds, every input
# function, target, resource and training spec the rules use), the wildcard constraints, the
# shell prefix of the training jobs, and Figure 5's control module config.

import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from allroads.config import ConfigError, apply_cli_config, config_source, local_rm_beta, validate

# Figure 5's control task runs this workflow again as a Snakemake module (rules/control.smk),
# whose config the main run builds from its own, --config overrides applied.
IN_MODULE = not workflow.modifier.is_main_snakefile()

try:
    # --config values as YAML (Snakemake reads `seeds=[0,1]` as ["0", "1"]), then validation
    if IN_MODULE:  # (Snakemake parses a module once per `use rule`: config is read-only here)
        _cli, _source = None, config["_source"]
    else:
        _cli = apply_cli_config(config, workflow.config_settings.config_args)
        _source = config_source(workflow.overwrite_configfiles)
    _validated = {k: v for k, v in config.items() if k != "_source"}
    validate(_validated, source=_source, cli=_cli)
    config.update(_validated)  # with the schema's defaults filled in
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

# ---- the experiment (allroads.plan): every input, target and count the rules use
from allroads import figures as _figures
from allroads import plan as _plan
from allroads import variants as _variants

PLAN = _plan.of(config, in_module=IN_MODULE)
R = PLAN.R
SIZES, SEEDS, JUDGES = PLAN.sizes, PLAN.seeds, PLAN.judges
SPLITS = _plan.SPLITS
PRECISION = PLAN.precision
SAMPLER_ENV = PLAN.sampler_env  # envs/vllm.yaml with sampler.backend vllm
VARIANTS = PLAN.variants


wildcard_constraints:
    **PLAN.wildcard_constraints(),


# the input functions and file names of the rules (allroads.plan.Plan's methods)
raw_data, two_word_file, data, model_dir = (
    PLAN.raw_data,
    PLAN.two_word_file,
    PLAN.data,
    PLAN.model_dir,
)
policy_input, online_generator, online_pairs = PLAN.policy_input, PLAN.generator, PLAN.online_pairs
rm_input, train_pairs, sample_prompts = PLAN.rm_input, PLAN.train_pairs, PLAN.sample_prompts
online_prompt_files, online_sample_files = PLAN.online_prompt_files, PLAN.online_sample_files
eval_prompt_file, judge_budget_input = PLAN.eval_prompt_file, PLAN.judge_budget_input
offline_temperatures = PLAN.offline_temperatures


# ---- training jobs (allroads.plan._jobs: their resources, params and launcher)
import shlex

# `python` / `accelerate` in those commands are the ones next to the Python running Snakemake
# (the venv; with `--sdm conda`, the rule's env instead), and `-m allroads` resolves from the
# workflow folder: set by a shell prefix, not in params, so another checkout or venv path does
# not count as a changed job. (Snakemake formats the prefix too: {{{{ }}}} is a literal brace.)
_deployment = {str(m) for m in workflow.deployment_settings.deployment_method}
_venv_bin = (
    ""
    if "conda" in _deployment
    else f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH; "
)
shell.prefix(
    "set -euo pipefail; "
    + _venv_bin
    + f"export PYTHONPATH={shlex.quote(workflow.basedir)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)


res, job_resources = PLAN.res, PLAN.job_resources
launch_cmd, train_params = PLAN.launch_cmd, PLAN.train_params


# ---- warm jobs (allroads/warm.py, config `warm_jobs`): where the jobs run on this machine in
# this Python, each Python job is forked from one process that imported torch, transformers and
# TRL once, instead of importing them again in a fresh interpreter (~3-4 s per torch job)
from allroads import warm as _warm

WARM = _warm.Server()


onstart:
    if _warm.wanted(config["warm_jobs"], workflow.local_exec, _deployment):
        WARM.start(log=".snakemake/log/allroads-warm.log")  # the server's own output


onsuccess:
    WARM.stop()


onerror:
    WARM.stop()


# ---- Figure 5 (rules/control.smk): Figure 3's chain on the control task, whose short horizon
# closes the generation-verification gap (two-word summaries), run as a module of this
# workflow: the config `control.overlay` merged over this one, outputs under
# <results>/<control.results>/. The control run itself has no `control` and builds `fig5` from
# its own chain.
CONTROL, CONTROL_R = PLAN.control, PLAN.control_r


def control_config():
    try:
        return PLAN.control_config(workflow.basedir, _source)
    except ConfigError as e:
        print(e, file=sys.stderr)
        sys.exit(1)


def control_targets():
    """What `all` builds of the control run: its `all` (Figure 5, its diagnostics)."""
    return rules.control_all.input if CONTROL else []


def gap_runs():
    """What the gap figure reads (rules/gap.smk; allroads.gap.runs): this run's and its
    control run's evaluation prompts and samples; a task without strata: one line."""
    from allroads import gap

    control = _plan.Plan(control_config(), in_module=True) if CONTROL else None
    try:
        return gap.runs(PLAN, control)
    except ValueError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
