rule judge_budget:
    """The whole run's OpenAI judge bill before any judge call, every role (evaluation,
    labelling, generation): printed, and the run stops here when it exceeds
    judge.openai.max_usd (allroads.judging.budget). Every job that calls the judge waits on it."""
    input:
        # the task's own splits (with the two-word recipe, data() names files built after this)
        eval_prompts=raw_data("eval_prompts"),
        pft_train=raw_data("pft_train"),
        pft_val=raw_data("pft_val"),
    output:
        f"{R}/judge_work/budget.json",
    log:
        f"{R}/logs/judge_budget.log",
    conda:
        "../envs/judge.yaml"
    params:
        judge_cfg=config["judge"].get("openai", {}),
        plan=PLAN.judge_plan,
        max_new_tokens=config["task"]["max_new_tokens"],
        writer=config["task"]["two_word_writer"],
    script:
        "../scripts/judge_budget.py"
