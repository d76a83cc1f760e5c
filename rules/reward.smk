rule global_rm:
    """Global RM: the SFT backbone plus a linear head, Bradley–Terry on the PFT train pairs."""
    input:
        sft=model_dir("sft"),
        train=data("pft_train"),
    output:
        directory(model_dir("global_rm")),
    log:
        f"{R}/logs/global_rm/{{size}}-seed{{seed}}.log",
    cache: "omit-software"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("global_rm"),
    params:
        hp=config["train"]["global_rm"],
        precision=PRECISION,
    script:
        "../scripts/global_rm.py"
