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
        **job_resources("sft"),
    params:
        hp=config["train"]["sft"],
        precision=PRECISION,
    script:
        "../scripts/sft.py"
