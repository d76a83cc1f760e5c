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
            # train.dpo's settings (Table 4), with train.local_rm's over them
            hp=dict(
                config["train"]["dpo"],
                **config["train"].get("local_rm", {}),
                beta=local_rm_beta(config),
            ),
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
        kinds=RM_KINDS,
        betas={k: rm_beta(k) for k in RM_KINDS},
        val_pairs=RM_STUDY.get("val_pairs"),
        subsample_seed=config["task"]["seed"],
        task_kind=config["task"]["kind"],
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
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("sample"),
    params:
        n=max(BON_N),
        temperature=BON_T,
        max_new_tokens=config["task"]["max_new_tokens"],
        sampler=config["sampler"],
        precision=PRECISION,
    script:
        "../scripts/sample.py"


rule score_bon:
    """Every RM that ranks this sample set (common.smk `bon_rms`) scores every sample."""
    input:
        samples=f"{R}/bon/{{size}}/seed{{seed}}/{{gen}}.samples.jsonl",
        prompts=data("eval_prompts"),
        policy=online_generator,
        rms=bon_rm_inputs,
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
        rms=bon_rm_specs,
        precision=PRECISION,
        batch_size=config["sampler"].get("batch_size", 256),
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
        n=BON_N,
        truncated_score=BON_TRUNCATED_SCORE,
        judge_cfg=config["judge"],
        workdir=lambda wc: f"{R}/judge_work/{wc.judge}/bon-{wc.size}-seed{wc.seed}-{wc.gen}",
    script:
        "../scripts/judge_bon.py"


rule table_fig9:
    """Figure 9's table: each RM's held-out BT log-likelihood and accuracy, mean ± s.e. over
    seeds, per size, with the number of pairs."""
    input:
        expand(f"{R}/rm_val/{{size}}/seed{{seed}}.json", size=SIZES, seed=SEEDS),
    output:
        csv=report(
            f"{R}/tables/fig9.csv",
            caption="../report/rm_table.rst",
            category="Tables",
            labels={"figure": _figures.RM_STUDY["fig9"]["title"], "table": "per RM"},
        ),
        md=f"{R}/tables/fig9.md",
    log:
        f"{R}/logs/report/table_fig9.log",
    conda:
        "../envs/report.yaml"
    params:
        kinds=RM_KINDS,
        title=_figures.RM_STUDY["fig9"]["title"],
        caption=_figures.RM_STUDY["fig9"]["caption"],
    script:
        "../scripts/table_fig9.py"


rule table_bon:
    """Figure 10 (winrate against N, per generator and RM kind; RM size = policy size) or
    Figure 4 (N = max N, global RM sizes x policy sizes): mean ± SE over seeds, paired
    bootstrap intervals over prompts, r*."""
    input:
        judgments=lambda wc: (
            bon_judgments(SIZES, BON_GENERATORS)(wc)
            if wc.fig == "fig10"
            else bon_judgments(RM_SIZES, [FIG4_GENERATOR])(wc)
        ),
    output:
        csv=report(
            f"{R}/tables/{{fig}}.{{judge}}.csv",
            caption="../report/rm_table.rst",
            category="Tables",
            labels=lambda wc: {
                "figure": f"{_figures.RM_STUDY[wc.fig]['title']} ({wc.judge} judge)",
                "table": "per RM and N" if wc.fig == "fig10" else "per size",
            },
        ),
        md=f"{R}/tables/{{fig}}.{{judge}}.md",
    log:
        f"{R}/logs/report/table_{{fig}}-{{judge}}.log",
    wildcard_constraints:
        fig="fig10|fig4",
    conda:
        "../envs/report.yaml"
    params:
        sizes=lambda wc: SIZES if wc.fig == "fig10" else RM_SIZES,
        generators=lambda wc: BON_GENERATORS if wc.fig == "fig10" else [FIG4_GENERATOR],
        kinds=lambda wc: RM_KINDS if wc.fig == "fig10" else ["global"],
        n=lambda wc: BON_N if wc.fig == "fig10" else [max(BON_N)],
        same_size=lambda wc: wc.fig == "fig10",
        title=lambda wc: _figures.RM_STUDY[wc.fig]["title"],
        caption=lambda wc: _figures.RM_STUDY[wc.fig]["caption"],
        bootstrap=BOOTSTRAP,
    script:
        "../scripts/table_bon.py"


rule figure_rm_study:
    """Figures 4, 9 and 10 (PDF and PNG) from their tables."""
    input:
        csv=f"{R}/tables/{{name}}.csv",
    output:
        pdf=f"{R}/figures/{{name}}.pdf",
        png=report(
            f"{R}/figures/{{name}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda wc: {"figure": _figures.rm_study_entry(wc.name)["title"]},
        ),
    log:
        f"{R}/logs/report/figure_{{name}}.log",
    wildcard_constraints:
        name=r"fig9|fig10\.\w+|fig4\.\w+",
    conda:
        "../envs/report.yaml"
    params:
        title=lambda wc: _figures.rm_study_entry(wc.name)["title"],
        caption=lambda wc: _figures.rm_study_entry(wc.name)["caption"],
        bon_temperature=BON_T,
        sizes=RUN_SIZES,
    script:
        "../scripts/figure_rm_study.py"
