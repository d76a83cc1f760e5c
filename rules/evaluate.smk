rule sample_eval:
    """One completion per evaluation prompt at the evaluation temperature (ROUGE-L policies:
    per PFT validation prompt)."""
    input:
        model=policy_input,
        prompts=eval_prompt_file,
    output:
        f"{R}/eval/{{size}}/seed{{seed}}/{{policy}}.samples.jsonl",
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
        samples=f"{R}/eval/{{size}}/seed{{seed}}/{{policy}}.samples.jsonl",
        prompts=data("eval_prompts"),
        budget=judge_budget_input,
    output:
        f"{R}/eval/{{size}}/seed{{seed}}/{{policy}}.judge-{{judge}}.jsonl",
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
