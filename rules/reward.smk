rule global_rm:
    """Global RM: the SFT backbone plus a linear head, Bradley–Terry on the PFT train pairs."""
    input:
        init=model_dir("sft"),
        train=data("pft_train"),
    output:
        directory(model_dir("global_rm")),
    log:
        f"{R}/logs/global_rm/{{size}}-seed{{seed}}.log",
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
