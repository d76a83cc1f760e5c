rule sft:
    """SFT: one epoch on (prompt, reference) from the SFT train split. One checkpoint per size,
    shared by every seed (Section 3), unless `sft_per_seed: true`."""
    input:
        init=f"{R}/models/{{size}}/base",
        train=data("sft_train"),
    output:
        directory(model_dir("sft")),
    log:
        (
            f"{R}/logs/sft/{{size}}-seed{{seed}}.log"
            if config["sft_per_seed"]
            else f"{R}/logs/sft/{{size}}.log"
        ),
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        "../envs/train.yaml"
    threads: ALL_CORES  # one SFT per size runs alone in the DAG: give it the idle cores
    resources:
        **job_resources("sft"),
    params:
        **train_params(
            "sft",
            hp=config["train"]["sft"],
            **({} if config["sft_per_seed"] else {"seed": config["sft_seed"]}),
        ),
        launch=launch_cmd,
    shell:
        "OMP_NUM_THREADS={threads} {params.launch} {params.spec:q} > {log} 2>&1"
