rule base:
    """The base model of one size: a tiny GPT-NeoX pretrained on the toy corpus, or a hub
    snapshot (Pythia) at paper scale."""
    input:
        corpus=data("pretrain"),
    output:
        directory(f"{R}/models/{{size}}/base"),
    log:
        f"{R}/logs/base/{{size}}.log",
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        "../envs/train.yaml"
    threads: ALL_CORES
    resources:
        **job_resources("base", gpu=False),
    params:
        model=lambda wc: config["models"][wc.size],
        hp=config.get("base"),
    script:
        "../scripts/base.py"
