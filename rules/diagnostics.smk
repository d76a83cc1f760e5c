rule diagnose:
    """Did every model of one (size, seed) learn? RM accuracy, DPO implicit-reward accuracy,
    online ties and Best-of-n r*, optimizer steps, evaluation r* (allroads.diagnostics)."""
    input:
        rm=model_dir("global_rm"),
        sft=model_dir("sft"),
        offline=offline_policy_dirs,
        samples=online_files("samples"),
        pairs=online_files("pairs"),
        trained=trained_dirs,
        eval_samples=eval_sample_files,
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
        task_kind=config["task"]["kind"],
        precision=PRECISION,
        offline=OFFLINE_POLICIES,
        generators=config["online"]["generators"],
        trained=TRAINED_MODELS,
        policies=config["eval"]["policies"],
    script:
        "../scripts/diagnose.py"


rule table_diagnostics:
    """Every (size, seed)'s diagnostics in one long table, and mean ± s.e. over seeds
    (`diagnostics`: Figure 3's chain and the RM study's held-out fit of every RM kind;
    `diagnostics.variants`: Figures 6-8's)."""
    input:
        lambda wc: (
            expand(f"{R}/diagnostics/{{size}}/seed{{seed}}.json", size=SIZES, seed=SEEDS)
            + rm_val_targets()  # rules/rm_study.smk
            if wc.diag == "diagnostics"
            else expand(
                f"{R}/diagnostics/{{size}}/seed{{seed}}.variants.json",
                size=VARIANT_SIZES,
                seed=VARIANT_SEEDS,
            )
        ),
    output:
        csv=report(
            f"{R}/tables/{{diag}}.csv",
            caption="../report/diagnostics.rst",
            category="Tables",
            labels=lambda wc: {
                "figure": "Diagnostics: did every model learn?",
                "table": (
                    (
                        "Figure 5 (control task)"
                        if "fig5" in FIGURES and not CONTROL
                        else "Figure 3"
                    )
                    if wc.diag == "diagnostics"
                    else "Figures 6-8"
                ),
            },
        ),
        md=f"{R}/tables/{{diag}}.md",
    log:
        f"{R}/logs/report/table_{{diag}}.log",
    wildcard_constraints:
        diag=r"diagnostics|diagnostics\.variants",
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/table_diagnostics.py"
