rule base:
    """The base model of one size: a tiny GPT-NeoX pretrained on the toy corpus, or a hub
    snapshot (Pythia) at paper scale."""
    input:
        corpus=data("pretrain"),
    output:
        directory(f"{R}/models/{{size}}/base"),
    log:
        f"{R}/logs/base/{{size}}.log",
    cache: "omit-software"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=res("base", "mem_mb", 4000),
        runtime=res("base", "runtime", 60),
        cpus_per_task=res("base", "cpus_per_task", 1),
    params:
        model=lambda wc: config["models"][wc.size],
        hp=config.get("base"),
    script:
        "../scripts/base.py"
