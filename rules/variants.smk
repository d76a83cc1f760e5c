# Variants (Figures 6-8; allroads.variants): only what the Figure 3 chain lacks. Every model,
# sample set and evaluation of a variant `V.<name>` is built by the Figure 3 rules.


rule variant_pairs:
    """Variant V's preference pairs for one (size, seed), from the SFT's shared online samples
    (25 per PFT train prompt at T = 0.1): `rouge` = top / bottom by ROUGE-L F1 against the
    prompt's preferred completion (Figure 6); `judged` = samples 0 and 1, the winner picked
    by a judge (Figure 8)."""
    input:
        samples=PLAN.online_file("samples", "sft"),
        prompts=data("pft_train"),
        budget=judge_budget_input,
    output:
        pairs=f"{R}/pairs/{{size}}/seed{{seed}}/{{variant}}.jsonl",
        stats=f"{R}/pairs/{{size}}/seed{{seed}}/{{variant}}.stats.json",
    log:
        f"{R}/logs/variant_pairs/{{variant}}-{{size}}-seed{{seed}}.log",
    wildcard_constraints:
        variant="|".join(PLAN.own_offline) or "NONE",
    conda:
        "../envs/judge.yaml"
    threads: 1
    params:
        kind=lambda wc: VARIANTS[wc.variant]["pairs"],
        judge=lambda wc: VARIANTS[wc.variant].get("judge"),
        judge_cfg=PLAN.variant_judge_cfg,
        workdir=lambda wc: f"{R}/judge_work/pairs/{wc.variant}-{wc.size}-seed{wc.seed}",
    script:
        "../scripts/variant_pairs.py"


rule extra_prompts:
    """Prompt augmentation (Figure 7): `extra_prompts` SFT train prompts (a seeded subset; all of
    them for `all`), added to the PFT train prompts for on-policy sampling."""
    input:
        data("sft_train"),
    output:
        f"{R}/data/{{variant}}.prompts.jsonl",
    log:
        f"{R}/logs/extra_prompts/{{variant}}.log",
    conda:
        "../envs/train.yaml"
    params:
        n=lambda wc: VARIANTS[wc.variant]["extra_prompts"],
        seed=config["task"]["seed"],
    script:
        "../scripts/extra_prompts.py"


rule score_rouge:
    """ROUGE-L F1 of each evaluation sample against the PFT validation prompt's preferred
    completion (Figure 6, Appendix C.4), one row per prompt in the judgment shape."""
    input:
        samples=PLAN.eval_file("samples"),
        prompts=data("pft_val"),
    output:
        PLAN.eval_file("rouge"),
    log:
        f"{R}/logs/score_rouge/{{size}}-seed{{seed}}-{{policy}}.log",
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/score_rouge.py"


rule diagnose_variants:
    """Did the variants' data and models of one (size, seed) learn? Pair tie shares, ROUGE-L of
    the ROUGE-L pairs, the judged labels' agreement with r*, each variant generator's online
    ties and its RM's agreement with r* / ROUGE-L, optimizer steps, and the variants' own global
    RMs and offline DPO policies on the held-out pairs as rule diagnose scores the default
    chain's (RM accuracy vs labels / r*, DPO implicit-reward accuracy; allroads.diagnostics)."""
    input:
        unpack(PLAN.variant_inputs),
        sft=model_dir("sft"),
        pft_train=data("pft_train"),
        pft_val=data("pft_val"),
    output:
        f"{R}/diagnostics/{{size}}/seed{{seed}}.variants.json",
    log:
        f"{R}/logs/diagnose_variants/{{size}}-seed{{seed}}.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        **job_resources("score"),
    params:
        precision=PRECISION,
        pair_variants=PLAN.pair_variants,
        generators=PLAN.variant_gens,
        rouge={g: _variants.metric(VARIANTS, g) == "rouge" for g in PLAN.variant_gens},
        models=PLAN.variant_models,
        rms=PLAN.variant_rms,
        offline=PLAN.variant_offline,
    script:
        "../scripts/diagnose_variants.py"
