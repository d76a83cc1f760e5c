rule offline_dpo:
    """Offline DPO on the human preference pairs, π_ref = SFT; DPO (2x) runs two epochs."""
    input:
        sft=model_dir("sft"),
        train=data("pft_train"),
    output:
        directory(f"{R}/models/{{size}}/seed{{seed}}/{{offline}}"),
    log:
        f"{R}/logs/offline_dpo/{{size}}-seed{{seed}}-{{offline}}.log",
    wildcard_constraints:
        offline="dpo|dpo2x",
    cache: "omit-software"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("dpo"),
    params:
        hp=config["train"]["dpo"],
        epochs=lambda wc: (2 * config["train"]["dpo"]["epochs"] if wc.offline == "dpo2x" else None),
        precision=PRECISION,
        ref_temperature=1.0,
    script:
        "../scripts/dpo.py"


rule online_dpo:
    """Online DPO on RM-ranked on-policy pairs; starts from and regularizes to the generator,
    whose logits are scaled by 1/T (T = the sampling temperature). Same hyperparameters.
    """
    input:
        init=online_generator,
        ref=online_generator,
        train=f"{R}/online/{{size}}/seed{{seed}}/{{gen}}.pairs.jsonl",
    output:
        directory(f"{R}/models/{{size}}/seed{{seed}}/online-{{gen}}"),
    log:
        f"{R}/logs/online_dpo/{{size}}-seed{{seed}}-{{gen}}.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("dpo"),
    params:
        hp=config["train"]["dpo"],
        epochs=None,
        precision=PRECISION,
        ref_temperature=config["online"]["temperature"],
    script:
        "../scripts/dpo.py"
