rule data:
    """The task's splits in the shared record schema (toy: generated; tldr: from the hub)."""
    output:
        expand(f"{R}/data/{{split}}.jsonl", split=SPLITS),
        stats=f"{R}/data/stats.json",
    log:
        f"{R}/logs/data.log",
    conda:
        "../envs/train.yaml"
    params:
        task=config["task"],
        models=config["models"],
    script:
        "../scripts/data.py"
