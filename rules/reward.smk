rule global_rm:
    """Global RM: the SFT backbone plus a linear head, Bradley–Terry on the PFT train pairs
    (`global_rm`), or on variant V's pairs (`V.global_rm`, rules/variants.smk)."""
    input:
        init=model_dir("sft"),
        train=train_pairs("rm"),
    output:
        directory(f"{R}/models/{{size}}/seed{{seed}}/{{rm}}"),
    log:
        f"{R}/logs/{{rm}}/{{size}}-seed{{seed}}.log",
    wildcard_constraints:
        rm=_variants.pattern(["global_rm"], PLAN.own_offline),
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("global_rm"),
    params:
        **train_params("global_rm", hp=config["train"]["global_rm"]),
        launch=launch_cmd,
    shell:
        "OMP_NUM_THREADS={threads} {params.launch} {params.spec:q} > {log} 2>&1"
