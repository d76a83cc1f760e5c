rule sft:
    """SFT: one epoch on (prompt, reference) from the SFT train split."""
    input:
        base=f"{R}/models/{{size}}/base",
        train=data("sft_train"),
    output:
        directory(model_dir("sft")),
    log:
        f"{R}/logs/sft/{{size}}-seed{{seed}}.log",
    cache: "omit-software"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=res("sft", "mem_mb", 4000),
        runtime=res("sft", "runtime", 60),
        gpu=res("sft", "gpu", 0),
        cpus_per_task=res("sft", "cpus_per_task", 1),
    params:
        hp=config["train"]["sft"],
        precision=PRECISION,
    script:
        "../scripts/sft.py"
