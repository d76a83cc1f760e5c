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
    validate({k: v for k, v in config.items() if k != "_source"}, source=_source, cli=_cli)
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
# the paired bootstrap of every figure table (Figures 3-10): defaults, then config eval.bootstrap
BOOTSTRAP = {"resamples": 2000, "seed": 0, "level": 0.95, **config["eval"].get("bootstrap", {})}
# Section 3: every policy and RM starts "from the same SFT checkpoint": one SFT per size, shared
# by all seeds (trained with `sft_seed`), unless `sft_per_seed: true` (one per seed).
SFT_PER_SEED = config.get("sft_per_seed", False)
SFT_SEED = config.get("sft_seed", 0)
# Figure 4's grid of sizes (rm_study.sizes) may add sizes beyond `sizes` (the Figure 3 runs)
RM_STUDY = config.get("rm_study", {})
RM_SIZES = RM_STUDY.get("sizes", SIZES)
RUN_SIZES = SIZES + [s for s in RM_SIZES if s not in SIZES]
# a figure may show other sizes than `sizes` (config figure_scope; allroads.figures.sizes)
for _fig_scope in config.get("figure_scope", {}).values():
    RUN_SIZES += [s for s in _fig_scope.get("sizes", []) if s not in RUN_SIZES]


# ---- variants (allroads.variants): `V.<name>` is model / sample set / policy <name> of the
# Figure 3 chain run on variant V's pairs or prompts (config `variants`); bare names are the
# default chain, whose paths do not change.
from allroads import figures as _figures
from allroads import variants as _variants

VARIANTS = config.get("variants", {})
FIGURES = config.get("figures", ["fig3"])
# variants that train their own global RM and offline DPO (pairs other than the PFT pairs)
OWN_OFFLINE = [v for v in VARIANTS if _variants.owns_offline(VARIANTS, v)]


def _names(bases, variants):
    """Wildcard regex: a base name, optionally prefixed `V.` for V in `variants`."""
    b = "|".join(bases)
    if not variants:
        return f"(?:{b})"
    return f"(?:(?:{'|'.join(map(re.escape, variants))})\\.)?(?:{b})"


wildcard_constraints:
    size="|".join(map(re.escape, RUN_SIZES)) if RUN_SIZES else "NONE",
    seed=r"\d+",
    gen=_names(["sft", "dpo", "dpo2x"], list(VARIANTS)),
    policy=_names(["sft", "dpo", "dpo2x", r"online-(?:sft|dpo|dpo2x)"], list(VARIANTS)),
    judge="|".join(JUDGES),
    fig="|".join(map(re.escape, FIGURES)),
    metric="|".join([*JUDGES, "rouge"]),
    variant="|".join(map(re.escape, VARIANTS)) or "NONE",


# Figure 5 at paper scale (`task.two_word_recipe: judge`): gpt-4o writes and labels the PFT
# pairs and writes the evaluation references (rules/two_word_data.smk); default: the task's data
TWO_WORD_RECIPE = config["task"].get("two_word_recipe", "task")
from allroads import two_word_data as _two_word


def raw_data(split):
    """A split as the task writes it (rule data)."""
    return f"{R}/data/{split}.jsonl"


def two_word_file(split):
    return f"{R}/data/two_word/{split}.jsonl"


def data(split):
    """A split as the stages read it: the task's, or with `task.two_word_recipe: judge` the
    judge-built PFT and evaluation splits."""
    if TWO_WORD_RECIPE == "judge" and split in _two_word.SPLITS:
        return two_word_file(split)
    return raw_data(split)


def model_dir(policy):
    """Checkpoint directory of a trained policy (wildcards: size, seed; the shared SFT: size)."""
    if policy == "sft" and not SFT_PER_SEED:
        return f"{R}/models/{{size}}/sft"
    return f"{R}/models/{{size}}/seed{{seed}}/{policy}"


def model_path(name, wildcards):
    """Checkpoint of a (variant) model name for this (size, seed): the shared SFT, the default
    RM / offline DPO where the variant trains on the PFT pairs, else its own."""
    return model_dir(_variants.model_name(VARIANTS, name)).format(
        size=wildcards.size, seed=wildcards.seed
    )


def policy_input(wildcards):
    return model_path(wildcards.policy, wildcards)


def online_gen(wildcards):
    """The generator of an online policy: `V.online-dpo` -> `V.dpo`."""
    variant, base = _variants.split(wildcards.online)
    return _variants.join(variant, base.removeprefix("online-"))


def online_generator(wildcards):
    """Online DPO starts from, and regularizes to, the policy that generated its samples."""
    gen = online_gen(wildcards) if hasattr(wildcards, "online") else wildcards.gen
    return model_path(gen, wildcards)


def online_pairs(wildcards):
    return f"{R}/online/{wildcards.size}/seed{wildcards.seed}/{online_gen(wildcards)}.pairs.jsonl"


def rm_input(wildcards):
    """The RM that ranks generator `V.g`'s samples: variant V's global RM (or the default one);
    with `online.ranker: local_rm` the (default) local RM."""
    if config["online"].get("ranker") == "local_rm":
        return model_dir("local_rm").format(size=wildcards.size, seed=wildcards.seed)
    variant, _ = _variants.split(wildcards.gen)
    return model_path(_variants.join(variant, "global_rm"), wildcards)


def train_pairs(name):
    """The preference pairs a global RM / offline DPO model trains on: the PFT train pairs, or
    variant V's pairs of this (size, seed) (rules/variants.smk)."""

    def get(wildcards):
        variant, _ = _variants.split(getattr(wildcards, name))
        if variant is None:
            return data("pft_train")
        return (
            f"{R}/pairs/{wildcards.size}/seed{pairs_seed(variant, wildcards.seed)}/{variant}.jsonl"
        )

    return get


def offline_temperatures(name):
    """(reference, policy) temperatures of offline DPO model `name` (`dpo`, `V.dpo2x`): 1, or
    for a variant with `temper_offline` the sampling temperature of its pairs (the policy's
    too with online.temper_policy), as online DPO."""
    variant, _ = _variants.split(name)
    if variant is None or not VARIANTS[variant].get("temper_offline", False):
        return 1.0, 1.0
    t = config["online"]["temperature"]
    return t, (t if config["online"].get("temper_policy", True) else 1.0)


def pairs_seed(variant, seed):
    """The seed whose pairs variant V's models of `seed` train on: its own, or with
    `variants.V.pairs_seed` the one shared set (Figure 8's one gpt-4o-labelled set)."""
    return VARIANTS[variant].get("pairs_seed", seed)


# online.append_eos, a param of label_online only when on: the default jobs' params (what a
# rerun is decided on) stay as they were
APPEND_EOS_PARAM = {"append_eos": True} if config["online"]["append_eos"] else {}


def online_prompt_files(wildcards):
    """Prompts generator `gen`'s pairs come from: the PFT train prompts, plus variant V's
    extra SFT train prompts (Figure 7)."""
    files = [data("pft_train")]
    if _variants.extra_prompts(VARIANTS, wildcards.gen):
        files.append(f"{R}/data/{_variants.split(wildcards.gen)[0]}.prompts.jsonl")
    return files


def sample_prompts(wildcards):
    """What `sample_online` samples on for `gen`: the PFT train prompts, or only the extra
    prompts of a prompt-augmentation variant (its PFT-prompt samples are the default set)."""
    if _variants.extra_prompts(VARIANTS, wildcards.gen):
        return f"{R}/data/{_variants.split(wildcards.gen)[0]}.prompts.jsonl"
    return data("pft_train")


def online_sample_files(wildcards):
    """Every sample file generator `gen`'s pairs are ranked from; the PFT-prompt set is the
    default one whenever the checkpoint is a default one (built once)."""
    d = f"{R}/online/{wildcards.size}/seed{wildcards.seed}"
    files = [f"{d}/{_variants.pft_samples_name(VARIANTS, wildcards.gen)}.samples.jsonl"]
    if _variants.extra_prompts(VARIANTS, wildcards.gen):
        files.append(f"{d}/{wildcards.gen}.samples.jsonl")
    return files


def variant_judge_cfg(wildcards):
    """What the judge of variant V's pairs is built from: the config's judge section (openai:
    its client, template, cache and budget), and for the toy labeller its temperature (the
    default preference data's, task.toy.label_temperature)."""
    cfg = dict(config["judge"])
    if config["task"]["kind"] == "toy":
        cfg["labeller"] = {"temperature": config["task"]["toy"]["label_temperature"]}
    return cfg


def eval_prompt_file(wildcards):
    """ROUGE-L policies are evaluated on the PFT validation prompts (C.4), others on the
    evaluation prompts."""
    if _variants.metric(VARIANTS, wildcards.policy) == "rouge":
        return data("pft_val")
    return data("eval_prompts")


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


def eval_targets(judge, policies=None, seeds=None, sizes=None):
    """Evaluation files of `policies` (default: eval.policies): judgments by `judge`, or ROUGE-L
    scores for judge `rouge`."""
    suffix = "rouge" if judge == "rouge" else f"judge-{judge}"
    return expand(
        f"{R}/eval/{{size}}/seed{{seed}}/{{policy}}.{suffix}.jsonl",
        size=SIZES if sizes is None else sizes,
        seed=SEEDS if seeds is None else seeds,
        policy=config["eval"]["policies"] if policies is None else policies,
    )


def figure_eval_files(wildcards):
    fig = wildcards.fig
    return eval_targets(
        wildcards.metric,
        _figures.policies(fig, config),
        _figures.seeds(fig, config),
        _figures.sizes(fig, config),
    )


def figure_policies(fig):
    return _figures.policies(fig, config)


def figure_comparisons(fig):
    return _figures.comparisons(fig, config)


def figure_caption(fig):
    return _figures.FIGURES[fig]["caption"]


def figure_labels(fig):
    return _figures.FIGURES[fig].get("labels", {})


def figure_title(fig, metric):
    t = _figures.FIGURES[fig]["title"]
    return t if metric == "rouge" else f"{t} ({metric} judge)"


def figure_targets(fig):
    """The files of one figure: per metric (judge, or rouge) its tables and the figure."""
    out = []
    for metric in _figures.metrics(fig, config):
        stem = f"{fig}.{metric}"
        out += [f"{R}/tables/{stem}{ext}" for ext in (".csv", ".md", ".per_seed.csv", ".diffs.csv")]
        out += [f"{R}/figures/{stem}.pdf", f"{R}/figures/{stem}.png"]
    return out


def all_figure_targets():
    """This run's figures (Figure 5's come from the control run when there is one)."""
    return [t for fig in FIGURES if not (fig == "fig5" and CONTROL) for t in figure_targets(fig)]


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
    out = [f"{R}/tables/diagnostics.csv", f"{R}/tables/diagnostics.md"]
    if _VARIANT_POLICIES:
        out += [f"{R}/tables/diagnostics.variants.csv", f"{R}/tables/diagnostics.variants.md"]
    return out


# the variant policies the configured figures plot, their generators and trained models
_VARIANT_POLICIES = sorted(
    {
        p
        for fig in FIGURES
        for p in _figures.policies(fig, config)
        if _variants.split(p)[0] is not None
    }
)
VARIANT_GENS = [
    _variants.join(_variants.split(p)[0], _variants.split(p)[1].removeprefix("online-"))
    for p in _VARIANT_POLICIES
    if _variants.split(p)[1].startswith("online-")
]
VARIANT_MODELS = sorted(
    {
        m
        for p in _VARIANT_POLICIES
        for m in (p, _variants.join(_variants.split(p)[0], "global_rm"))
        if _variants.model_name(VARIANTS, m) == m
    }
)
# the sizes and seeds of the figures that plot variant policies (their diagnostics' grid)
_VARIANT_FIGS = [
    f
    for f in FIGURES
    if any(_variants.split(p)[0] is not None for p in _figures.policies(f, config))
]
VARIANT_SIZES = [s for s in RUN_SIZES if any(s in _figures.sizes(f, config) for f in _VARIANT_FIGS)]
VARIANT_SEEDS = sorted({k for f in _VARIANT_FIGS for k in _figures.seeds(f, config)})
# variants with their own pairs that a configured figure uses
PAIR_VARIANTS = [
    v for v in OWN_OFFLINE if any(_variants.split(p)[0] == v for p in _VARIANT_POLICIES)
]
# their own global RMs and offline DPO policies (plotted, or generating a plotted online
# policy's samples): held-out accuracy on pft_val, as the default chain's (rule diagnose_variants)
_variant_own = {
    m
    for m in [*VARIANT_MODELS, *VARIANT_GENS]
    if _variants.split(m)[0] is not None and _variants.model_name(VARIANTS, m) == m
}
VARIANT_RMS = sorted(m for m in _variant_own if _variants.split(m)[1] == "global_rm")
VARIANT_OFFLINE = sorted(m for m in _variant_own if _variants.split(m)[1] in ("dpo", "dpo2x"))


def variant_rm_dirs(wildcards):
    return [model_path(m, wildcards) for m in VARIANT_RMS]


def variant_offline_dirs(wildcards):
    return [model_path(m, wildcards) for m in VARIANT_OFFLINE]


# ---- the OpenAI judge's roles in this run, counted for the pre-flight bill (judge_budget)
_openai_eval = set()
if "openai" in JUDGES:
    for _fig in FIGURES:
        if _figures.FIGURES[_fig]["metric"] == "judge":
            _openai_eval |= set(
                eval_targets(
                    "openai",
                    _figures.policies(_fig, config),
                    _figures.seeds(_fig, config),
                    _figures.sizes(_fig, config),
                )
            )


def _labelled_pair_sets(v):
    """The (size, seed) pair sets of judged variant v that the configured figures train on."""
    figs = [f for f in _VARIANT_FIGS if v in _figures.FIGURES[f]["needs"]]
    return {
        (size, pairs_seed(v, seed))
        for f in figs
        for size in _figures.sizes(f, config)
        for seed in _figures.seeds(f, config)
    }


JUDGE_PLAN = {
    "evaluation": len(_openai_eval),
    "labelling": sum(
        len(_labelled_pair_sets(v))
        for v in PAIR_VARIANTS
        if VARIANTS[v].get("pairs") == "judged" and VARIANTS[v].get("judge") == "openai"
    ),
    "generation": 0,
}
if TWO_WORD_RECIPE == "judge":  # the pairs' two summaries and picks, the references
    JUDGE_PLAN = _two_word.judge_plan(JUDGE_PLAN, config["task"].get("two_word_writer"))
JUDGE_BUDGET = f"{R}/judge_work/budget.json"


def judge_budget_input(wildcards):
    """The pre-flight bill, for a job that calls the OpenAI judge (evaluation or labelling)."""
    judge = getattr(wildcards, "judge", None)
    if judge is None and hasattr(wildcards, "variant"):
        judge = VARIANTS[wildcards.variant].get("judge")
    return [JUDGE_BUDGET] if judge == "openai" else []


class _Gen:
    """Wildcards of a generator `gen` for the input functions above."""

    def __init__(self, wc, gen):
        self.size, self.seed, self.gen = wc.size, wc.seed, gen


# ---- the reward-model study (rules/rm_study.smk): Figures 4, 9 and 10
RM_FIGURES = RM_STUDY.get("figures", ["fig4", "fig9", "fig10"])
RM_KINDS = RM_STUDY.get("kinds", ["global", "local", "dpo"])
BON = RM_STUDY.get("bon", {})
BON_N = sorted(BON.get("n", [1, 2, 5, 10, 25]))
# "online": the same temperature as online sampling (the toy default); a number: its own
BON_T = BON.get("temperature", "online")
BON_T = config["online"]["temperature"] if BON_T == "online" else BON_T
BON_GENERATORS = BON.get("generators", ["sft", "dpo"])
FIG4_GENERATOR = BON.get("fig4_generator", "sft")
# the score of a BoN sample without EOS: "online" (default) = online.truncated_score
BON_TRUNCATED_SCORE = BON.get("truncated_score", "online")
if BON_TRUNCATED_SCORE == "online":
    BON_TRUNCATED_SCORE = config["online"]["truncated_score"]
# checkpoint directory of each RM kind (wildcards: size, seed); the DPO RM also reads the SFT
RM_DIRS = {"global": ["global_rm"], "local": ["local_rm"], "dpo": ["dpo", "sft"]}


def bon_rms(size, gen):
    """The RMs that rank the BoN samples of (policy size, generator): [(kind, RM size)].
    Figure 10: every kind at the policy's size; Figure 4: the global RM of every grid size."""
    out = []
    if "fig10" in RM_FIGURES and size in SIZES and gen in BON_GENERATORS:
        out += [(k, size) for k in RM_KINDS]
    if "fig4" in RM_FIGURES and size in RM_SIZES and gen == FIG4_GENERATOR:
        out += [("global", r) for r in RM_SIZES if ("global", r) not in out]
    return out


def bon_rm_specs(wildcards):
    """`params` of score_bon: label, kind, checkpoint(s) and β of each RM."""
    specs = []
    for kind, rm_size in bon_rms(wildcards.size, wildcards.gen):
        wc = {**dict(wildcards.items()), "size": rm_size}
        dirs = [model_dir(m).format(**wc) for m in RM_DIRS[kind]]
        specs.append(
            {"label": f"{kind}@{rm_size}", "kind": kind, "size": rm_size, "dirs": dirs,
             "beta": rm_beta(kind)}
        )  # fmt: skip
    return specs


def bon_rm_inputs(wildcards):
    return [d for spec in bon_rm_specs(wildcards) for d in spec["dirs"]]


def rm_beta(kind):
    """β that scales a log-prob RM's reward: 1/H for the local RM (Table 4), DPO's own β."""
    return {"local": local_rm_beta(config), "dpo": config["train"]["dpo"]["beta"]}.get(kind)


def bon_judgments(sizes, gens):
    def get(wildcards):
        return [
            f"{R}/bon/{s}/seed{k}/{g}.judge-{wildcards.judge}.jsonl"
            for s in sizes
            for g in gens
            if bon_rms(s, g)
            for k in SEEDS
        ]

    return get


def rm_val_targets():
    if not RM_FIGURES:
        return []
    return expand(f"{R}/rm_val/{{size}}/seed{{seed}}.json", size=SIZES, seed=SEEDS)


# the BoN picks judged against the reference are evaluations too (the judge bill's upper
# bound: every RM's pick at every N a distinct summary)
if "openai" in JUDGES:
    JUDGE_PLAN["evaluation"] += sum(
        len(bon_rms(s, g)) * len(BON_N) * len(SEEDS)
        for s in RUN_SIZES
        for g in {*BON_GENERATORS, FIG4_GENERATOR}  # bon_rms: [] where no figure ranks (s, g)
    )


def rm_study_targets():
    out = []
    if "fig9" in RM_FIGURES:
        out += [f"{R}/tables/fig9.{e}" for e in ("csv", "md")]
        out += [f"{R}/figures/fig9.{e}" for e in ("pdf", "png")]
    for fig in ("fig10", "fig4"):
        if fig in RM_FIGURES:
            for j in JUDGES:
                out += [f"{R}/tables/{fig}.{j}.{e}" for e in ("csv", "md")]
                out += [f"{R}/figures/{fig}.{j}.{e}" for e in ("pdf", "png")]
    return out


# ---- Figure 5 (rules/control.smk): Figure 3's chain on the control task, whose short horizon
# closes the generation-verification gap (two-word summaries), run as a module of this
# workflow: the config `control.overlay` merged over this one, outputs under
# <results>/<control.results>/. The control run itself has no `control` and builds `fig5` from
# its own chain.
import copy

import yaml

from allroads.config import merge_overlay

FIGURE_SCOPE = config.get("figure_scope", {})
CONTROL = config.get("control") if "fig5" in FIGURES and not IN_MODULE else None
CONTROL_R = f"{R}/{CONTROL.get('results', 'control')}" if CONTROL else None


def control_config():
    """The control run's config: this one (with --config applied), the overlay merged over it,
    then its own results folder, Figure 5 alone, its sizes (`figure_scope.fig5.sizes`, else
    `sizes`) and seeds (`figure_scope.fig5.seeds`, else `control.seeds`, else
    `variant_seeds`, as Figures 6-8)."""
    path = CONTROL["overlay"]
    # relative to the working directory, else to the workflow's folder (config/ ships with it)
    if not Path(path).is_absolute() and not Path(path).exists():
        if (Path(workflow.basedir) / path).exists():
            path = str(Path(workflow.basedir) / path)
    try:
        overlay = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        print(f"{_source}: config key control.overlay: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(1)
    cfg = copy.deepcopy(config)
    merge_overlay(cfg, overlay)
    cfg.pop("control", None)  # this run's, or the overlay's `control: null`
    cfg.update(
        results=CONTROL_R,
        figures=["fig5"],
        seeds=FIGURE_SCOPE.get("fig5", {}).get(
            "seeds", CONTROL.get("seeds", config.get("variant_seeds", SEEDS))
        ),
        sizes=_figures.sizes("fig5", config),
        _source=f"{_source} + {path} (control)",
    )
    cfg.setdefault("rm_study", {})["figures"] = []
    return cfg


def control_targets():
    """What `all` builds of the control run: its `all` (Figure 5, its diagnostics)."""
    return rules.control_all.input if CONTROL else []
