# The reward-model study (Section 3.2, Appendix A.5): global, local and DPO RMs compared by
# their held-out Bradley–Terry likelihood (Figure 9) and as Best-of-N rankers (Figure 10), and
# the global RM's size against the policy's (Figure 4). Scoring: allroads.reward_models.


rule local_rm:
    """Local RM: reference-free DPO from the SFT checkpoint on the PFT train pairs, β = 1/H
    (Table 4; the other hyperparameters are DPO's). Its reward is β·Σ log π(completion)."""
    input:
        init=model_dir("sft"),
        train=data("pft_train"),
    output:
        directory(model_dir("local_rm")),
    log:
        f"{R}/logs/local_rm/{{size}}-seed{{seed}}.log",
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("dpo"),
    params:
        **train_params(
            "dpo",
            hp=PLAN.local_rm_hp,  # train.dpo's settings (Table 4), train.local_rm's over them
            ref_temperature=1.0,
            policy_temperature=1.0,
        ),
        launch=launch_cmd,
    shell:
        "OMP_NUM_THREADS={threads} {params.launch} {params.spec:q} > {log} 2>&1"


rule rm_val:
    """Every RM kind of one (size, seed) on the held-out pairs (pft_val, or a seeded subsample
    of `rm_study.val_pairs`): Bradley–Terry log-likelihood, accuracy against the labels and
    against r* (toy). Read by Figure 9 and the diagnostics table."""
    input:
        global_rm=model_dir("global_rm"),
        local_rm=model_dir("local_rm"),
        dpo=model_dir("dpo"),
        sft=model_dir("sft"),
        pft_val=data("pft_val"),
    output:
        f"{R}/rm_val/{{size}}/seed{{seed}}.json",
    log:
        f"{R}/logs/rm_val/{{size}}-seed{{seed}}.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("score"),
    params:
        kinds=PLAN.rm_kinds,
        betas={k: PLAN.rm_beta(k) for k in PLAN.rm_kinds},
        val_pairs=config["rm_study"]["val_pairs"],
        subsample_seed=config["task"]["seed"],
        precision=PRECISION,
    script:
        "../scripts/rm_val.py"


rule sample_bon:
    """The BoN sample set of one policy: n = max(rm_study.bon.n) completions per evaluation
    prompt at rm_study.bon.temperature (C.4: 0.1). One per (size, seed, generator), shared by
    every RM, every N, Figure 4 and Figure 10."""
    input:
        model=online_generator,
        prompts=data("eval_prompts"),
    output:
        f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.samples.jsonl",
    log:
        f"{R}/logs/sample_bon/{{size}}-seed{{seed}}-{{gen}}.log",
    cache: BETWEEN_WORKFLOW_CACHE
    conda:
        SAMPLER_ENV
    threads: 1
    resources:
        **job_resources("sample"),
    params:
        n=max(PLAN.bon_n),
        temperature=PLAN.bon_t,
        max_new_tokens=config["task"]["max_new_tokens"],
        sampler=config["sampler"],
        precision=PRECISION,
    script:
        "../scripts/sample.py"


rule score_bon:
    """Every RM that ranks this sample set (allroads.plan `Plan.bon_rms`) scores every sample."""
    input:
        samples=f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.samples.jsonl",
        prompts=data("eval_prompts"),
        policy=online_generator,
        rms=PLAN.bon_rm_inputs,
    output:
        f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.scores.jsonl",
    log:
        f"{R}/logs/score_bon/{{size}}-seed{{seed}}-{{gen}}.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("score"),
    params:
        rms=PLAN.bon_rm_specs,
        precision=PRECISION,
        batch_size=config["sampler"]["batch_size"],
    script:
        "../scripts/score_bon.py"


rule judge_bon:
    """Each RM's best of the first N samples, for every N, judged against the reference (each
    distinct summary once)."""
    input:
        samples=f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.samples.jsonl",
        scores=f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.scores.jsonl",
        prompts=data("eval_prompts"),
        budget=judge_budget_input,  # the run's judge bill first (rules/judge_budget.smk)
    output:
        f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.judge-{{judge}}.jsonl",
    log:
        f"{R}/logs/judge_bon/{{judge}}-{{size}}-seed{{seed}}-{{gen}}.log",
    conda:
        "../envs/judge.yaml"
    threads: 1
    params:
        n=PLAN.bon_n,
        truncated_score=PLAN.bon_truncated_score,
        judge_cfg=config["judge"],
        workdir=lambda wc: f"{R}/judge_work/{wc.judge}/bon-{wc.size}-seed{wc.seed}-{wc.gen}",
    script:
        "../scripts/judge_bon.py"


rule table_fig9:
    """The held-out-fit table of a figure of kind rm_fit (Figure 9): each RM's held-out BT log-likelihood and accuracy, mean ±
    s.e. over seeds, per size, with the number of pairs."""
    input:
        expand(f"{R}/rm_val/{{size}}/seed{{seed}}.json", size=SIZES, seed=SEEDS),
    output:
        csv=f"{R}/tables/{{fig}}.csv",
        md=f"{R}/tables/{{fig}}.md",
    log:
        f"{R}/logs/report/table_{{fig}}.log",
    wildcard_constraints:
        fig="|".join(_figures.of_kind("rm_fit")),
    conda:
        "../envs/report.yaml"
    params:
        kinds=PLAN.rm_kinds,
        title=lambda wc: _figures.FIGURES[wc.fig]["title"],
        caption=lambda wc: _figures.FIGURES[wc.fig]["caption"],
    script:
        "../scripts/table_fig9.py"


rule table_bon:
    """A Best-of-N figure's table (kind bon; allroads.figures): Figure 10 (winrate against N,
    per generator and RM kind; RM size = policy size) or Figure 4 (N = max N, global RM sizes x
    policy sizes): mean ± SE over seeds, paired bootstrap intervals over prompts, r*."""
    input:
        judgments=PLAN.bon_judgments,
    output:
        csv=f"{R}/tables/{{fig}}.{{judge}}.csv",
        md=f"{R}/tables/{{fig}}.{{judge}}.md",
    log:
        f"{R}/logs/report/table_{{fig}}-{{judge}}.log",
    wildcard_constraints:
        fig="|".join(_figures.of_kind("bon")),
    conda:
        "../envs/report.yaml"
    params:
        grid=lambda wc: PLAN.bon_spec(wc.fig),
        table_title=lambda wc: PLAN.bon_table_title(wc.fig),
        title=lambda wc: _figures.FIGURES[wc.fig]["title"],
        caption=lambda wc: _figures.FIGURES[wc.fig]["caption"],
        bootstrap=config["eval"]["bootstrap"],
    script:
        "../scripts/table_bon.py"


rule figure_rm_study:
    """A reward-model-study figure (kinds bon and rm_fit: Figures 4, 9 and 10), PDF and PNG,
    from its table, drawn by the entry's `plot` (allroads.plots), and its table page (HTML)."""
    input:
        csv=f"{R}/tables/{{name}}.csv",
        md=f"{R}/tables/{{name}}.md",
    output:
        pdf=f"{R}/figures/{{name}}.pdf",
        png=report(
            f"{R}/figures/{{name}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=_report_text.report_labels,  # rules/report.smk
        ),
        html=report(
            f"{R}/tables/{{name}}.html",
            caption="../report/table.rst",
            category="Tables",
            labels=_report_text.table_labels,
        ),
    log:
        f"{R}/logs/report/figure_{{name}}.log",
    wildcard_constraints:
        # <fig> (rm_fit) or <fig>.<judge> (bon)
        name="|".join(
            [*_figures.of_kind("rm_fit"), *(rf"{f}\.\w+" for f in _figures.of_kind("bon"))]
        ),
    conda:
        "../envs/report.yaml"
    params:
        kind=lambda wc: _figures.FIGURES[_figures.of_stem(wc.name)]["kind"],
        plot=lambda wc: _figures.FIGURES[_figures.of_stem(wc.name)]["plot"],
        plot_title=lambda wc: _figures.FIGURES[_figures.of_stem(wc.name)].get(
            "plot_title", "{title}"
        ),
        title=lambda wc: _figures.title(
            _figures.of_stem(wc.name), wc.name.partition(".")[2] or None
        ),
        caption=lambda wc: _figures.FIGURES[_figures.of_stem(wc.name)]["caption"],
        bon_temperature=PLAN.bon_t,
        sizes=PLAN.run_sizes,
    script:
        "../scripts/figure_rm_study.py"
