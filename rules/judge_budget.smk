rule judge_budget:
    """The whole run's OpenAI judge bill before any judge call, every role (evaluation,
    labelling, generation): printed, and the run stops here when it exceeds
    judge.openai.max_usd (allroads.judging.budget). Every job that calls the judge waits on it."""
    input:
        eval_prompts=data("eval_prompts"),
        pft_train=data("pft_train"),
    output:
        f"{R}/judge_work/budget.json",
    log:
        f"{R}/logs/judge_budget.log",
    conda:
        "../envs/judge.yaml"
    params:
        judge_cfg=config["judge"].get("openai", {}),
        plan=JUDGE_PLAN,
        max_new_tokens=config["task"]["max_new_tokens"],
    script:
        "../scripts/judge_budget.py"
