rule offline_dpo:
    """Offline DPO on the human preference pairs (or variant V's pairs: `V.dpo`, `V.dpo2x`),
    π_ref = SFT; DPO (2x) runs two epochs. Untempered (T = 1) policy and reference, as the
    authors' offline DPO (REBEL dpo.py); a variant with `temper_offline` (pairs of SFT samples
    at T) is tempered as online DPO (offline_temperatures)."""
    input:
        init=model_dir("sft"),
        ref=model_dir("sft"),
        train=train_pairs("offline"),
    output:
        directory(f"{R}/models/{{size}}/seed{{seed}}/{{offline}}"),
    log:
        f"{R}/logs/offline_dpo/{{size}}-seed{{seed}}-{{offline}}.log",
    wildcard_constraints:
        offline=_variants.pattern(["dpo", "dpo2x"], PLAN.own_offline),
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("dpo"),
    params:
        **train_params(
            "dpo",
            hp=lambda wc: dict(
                config["train"]["dpo"],
                epochs=config["train"]["dpo"]["epochs"]
                * (2 if _variants.parse(wc.offline).base == "dpo2x" else 1),
            ),
            ref=lambda wc: model_dir("sft").format(**wc),
            ref_temperature=lambda wc: offline_temperatures(wc.offline)[0],
            policy_temperature=lambda wc: offline_temperatures(wc.offline)[1],
        ),
        launch=launch_cmd,
    shell:
        "OMP_NUM_THREADS={threads} {params.launch} {params.spec:q} > {log} 2>&1"


rule online_dpo:
    """Online DPO on RM-ranked on-policy pairs; starts from and regularizes to the generator,
    whose logits are scaled by 1/T (T = the sampling temperature). With `online.temper_policy`
    (default, as the authors ran it: REBEL dpo_fix.py) the trained policy's logits are scaled
    by 1/T in the loss too. Same hyperparameters as offline DPO.
    """
    input:
        init=online_generator,
        ref=online_generator,
        train=online_pairs,
    output:
        directory(f"{R}/models/{{size}}/seed{{seed}}/{{online}}"),
    log:
        f"{R}/logs/online_dpo/{{size}}-seed{{seed}}-{{online}}.log",
    wildcard_constraints:
        online=_variants.pattern(_variants.ONLINE_POLICIES, VARIANTS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("dpo"),
    params:
        **train_params(
            "dpo",
            hp=config["train"]["dpo"],
            ref=online_generator,
            ref_temperature=config["online"]["temperature"],
            policy_temperature=(
                config["online"]["temperature"] if config["online"]["temper_policy"] else 1.0
            ),
        ),
        launch=launch_cmd,
    shell:
        "OMP_NUM_THREADS={threads} {params.launch} {params.spec:q} > {log} 2>&1"
