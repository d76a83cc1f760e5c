rule sample_online:
    """n completions per PFT train prompt at temperature T from a generator policy (for a
    prompt-augmentation variant's `V.g`: on its extra SFT train prompts only)."""
    input:
        model=online_generator,
        prompts=sample_prompts,
    output:
        PLAN.online_file("samples"),
    log:
        f"{R}/logs/sample_online/{{size}}-seed{{seed}}-{{gen}}.log",
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        SAMPLER_ENV
    threads: 1
    resources:
        **job_resources("sample"),
    params:
        n=config["online"]["n_samples"],
        temperature=config["online"]["temperature"],
        max_new_tokens=config["task"]["max_new_tokens"],
        sampler=config["sampler"],
        precision=PRECISION,
    script:
        "../scripts/sample.py"


rule label_online:
    """Score the samples with the global RM (variant V's for `V.g`; `online.ranker`: the local
    RM, r*, or r* with the labels' noise); top and bottom per prompt become chosen/rejected;
    every sample's score goes to `scores` (one row per prompt: allroads.pairs.score_rows)."""
    input:
        samples=online_sample_files,
        prompts=online_prompt_files,
        rm=rm_input,
    output:
        pairs=PLAN.online_file("pairs"),
        scores=PLAN.online_file("scores"),
        stats=PLAN.online_file("pairs.stats", ext="json"),
    log:
        f"{R}/logs/label_online/{{size}}-seed{{seed}}-{{gen}}.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("score"),
    params:
        **PLAN.append_eos_param,
        precision=PRECISION,
        batch_size=config["sampler"]["batch_size"],
        truncated_score=config["online"]["truncated_score"],
        ranker=config["online"]["ranker"],
    script:
        "../scripts/label_online.py"
