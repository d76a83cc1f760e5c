rule two_word_data:
    """Figure 5's data at paper scale (`task.two_word_recipe: judge`; Section 3.2, C.1): gpt-4o
    writes two two-word summaries per PFT train / validation prompt with the C.1 prompt and
    picks the winner with the evaluation prompt (chosen / rejected), and writes the reference
    of each evaluation prompt. data() hands these files to every later rule; the inputs are the
    task's own splits. Waits on the run's judge bill (judge_budget), like every judge call."""
    input:
        pft_train=raw_data("pft_train"),
        pft_val=raw_data("pft_val"),
        eval_prompts=raw_data("eval_prompts"),
        budget=PLAN.judge_budget,
    output:
        pft_train=two_word_file("pft_train"),
        pft_val=two_word_file("pft_val"),
        eval_prompts=two_word_file("eval_prompts"),
        stats=f"{R}/data/two_word/stats.json",
    log:
        f"{R}/logs/two_word_data.log",
    conda:
        "../envs/judge.yaml"
    threads: 1
    resources:
        # sync mode: ~300K requests at paper scale (hours); batch mode: up to 24 h per round.
        # A killed job resumes on rerun: replies are cached, submitted batches persisted
        runtime=res("two_word_data", "runtime", 1440),
    params:
        judge_cfg=config["judge"].get("openai", {}),
        writer=config["task"]["two_word_writer"],
        seed=config["task"]["seed"],
        workdir=f"{R}/judge_work/two_word",
    script:
        "../scripts/two_word_data.py"
