rule sample_eval:
    """One completion per evaluation prompt at the evaluation temperature (ROUGE-L policies:
    per PFT validation prompt)."""
    input:
        model=policy_input,
        prompts=eval_prompt_file,
    output:
        PLAN.eval_file("samples"),
    log:
        f"{R}/logs/sample_eval/{{size}}-seed{{seed}}-{{policy}}.log",
    conda:
        SAMPLER_ENV
    threads: 1
    resources:
        **job_resources("sample"),
    params:
        n=1,
        temperature=config["eval"]["temperature"],
        max_new_tokens=config["task"]["max_new_tokens"],
        sampler=config["sampler"],
        precision=PRECISION,
    script:
        "../scripts/sample.py"


rule judge:
    """Judge each policy summary against the human reference."""
    input:
        samples=PLAN.eval_file("samples"),
        prompts=data("eval_prompts"),
        budget=judge_budget_input,
    output:
        PLAN.eval_file("judge-{judge}"),
    log:
        f"{R}/logs/judge/{{judge}}-{{size}}-seed{{seed}}-{{policy}}.log",
    conda:
        "../envs/judge.yaml"
    threads: 1
    params:
        judge_cfg=config["judge"],
        workdir=lambda wc: f"{R}/judge_work/{wc.judge}/{wc.size}-seed{wc.seed}-{wc.policy}",
    script:
        "../scripts/judge.py"
