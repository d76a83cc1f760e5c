rule diagnose:
    """Did every model of one (size, seed) learn? RM accuracy, DPO implicit-reward accuracy,
    online ties and Best-of-n r*, optimizer steps, evaluation r* (allroads.diagnostics); on a
    task with r*, the gate of the SFT's online samples: can the global RM (label_online's
    scores) and offline DPO's implicit reward pick the better ones (allroads.gate:
    `gate_rm_*`, `gate_dpo_*`)?"""
    input:
        rm=model_dir("global_rm"),
        sft=model_dir("sft"),
        offline=PLAN.offline_policy_dirs,
        samples=PLAN.online_files("samples"),
        pairs=PLAN.online_files("pairs"),
        scores=PLAN.online_files("scores"),
        trained=PLAN.trained_dirs,
        eval_samples=PLAN.eval_sample_files,
        pft_val=data("pft_val"),
        pft_train=data("pft_train"),
        eval_prompts=data("eval_prompts"),
    output:
        f"{R}/diagnostics/{{size}}/seed{{seed}}.json",
    log:
        f"{R}/logs/diagnose/{{size}}-seed{{seed}}.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("score"),
    params:
        precision=PRECISION,
        offline=PLAN.offline_policies,
        generators=config["online"]["generators"],
        trained=PLAN.trained_models,
        policies=config["eval"]["policies"],
        ranker=config["online"]["ranker"],  # global_rm: the gate reads label_online's scores
        batch_size=config["sampler"]["batch_size"],  # else it scores them, as label_online
        truncated_score=config["online"]["truncated_score"],
        append_eos=config["online"]["append_eos"],
        dpo_beta=config["train"]["dpo"]["beta"],
    script:
        "../scripts/diagnose.py"


rule table_diagnostics:
    """Every (size, seed)'s diagnostics in one long table, and mean ± s.e. over seeds
    (`diagnostics`: Figure 3's chain and the RM study's held-out fit of every RM kind;
    `diagnostics.variants`: Figures 6-8's)."""
    input:
        PLAN.diagnostics_inputs,  # and the RM study's held-out fit (rules/rm_study.smk)
    output:
        csv=f"{R}/tables/{{diag}}.csv",
        md=f"{R}/tables/{{diag}}.md",
        html=report(
            f"{R}/tables/{{diag}}.html",
            caption="../report/diagnostics.rst",
            category="Tables",
            labels=_report_text.table_labels,  # rules/report.smk
        ),
    log:
        f"{R}/logs/report/table_{{diag}}.log",
    wildcard_constraints:
        diag=r"diagnostics|diagnostics\.variants",
    conda:
        "../envs/report.yaml"
    params:
        title=lambda wc: (
            f"{PLAN.chain_label if wc.diag == 'diagnostics' else 'Figures 6-8'}, "
            "diagnostics: did every model learn?"
        ),
    script:
        "../scripts/table_diagnostics.py"


rule table_prereg:
    """The pre-registered gate and outcome criteria (docs/prereg/2026-12-04-paths-gate.md;
    allroads.prereg), each met or not met, with its numbers, from the diagnostics of this run
    and of Figure 5's control run; thresholds: config `prereg`."""
    input:
        **PLAN.prereg_inputs,
    output:
        csv=f"{R}/tables/prereg.csv",
        md=f"{R}/tables/prereg.md",
        html=report(
            f"{R}/tables/prereg.html",
            caption="../report/prereg.rst",
            category="Tables",
            labels=_report_text.table_labels,  # rules/report.smk
        ),
    log:
        f"{R}/logs/report/table_prereg.log",
    conda:
        "../envs/report.yaml"
    params:
        thresholds=config["prereg"],
        title="Pre-registered criteria: gate and outcome, met or not",
    script:
        "../scripts/table_prereg.py"
