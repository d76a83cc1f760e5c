rule table_fig3:
    """Figure 3's winrate table: mean ± SE over seeds, paired-bootstrap 95% intervals over prompts
    for each policy and for the differences Figure 3 claims, invalids and re-asks counted."""
    input:
        judgments=lambda wc: eval_targets(wc.judge),
    output:
        csv=f"{R}/tables/fig3.{{judge}}.csv",
        md=f"{R}/tables/fig3.{{judge}}.md",
        per_seed=f"{R}/tables/fig3.{{judge}}.per_seed.csv",
        diffs=f"{R}/tables/fig3.{{judge}}.diffs.csv",
    log:
        f"{R}/logs/report/table_fig3-{{judge}}.log",
    conda:
        "../envs/report.yaml"
    params:
        policies=config["eval"]["policies"],
        comparisons=config["eval"].get(
            "comparisons", [["online-sft", "dpo"], ["online-dpo", "dpo2x"], ["online-dpo", "dpo"]]
        ),
        bootstrap={
            "resamples": 2000,
            "seed": 0,
            "level": 0.95,
            **config["eval"].get("bootstrap", {}),
        },
    script:
        "../scripts/table.py"


rule figure_fig3:
    """Figure 3: winrate against the human reference per policy (and model size)."""
    input:
        csv=f"{R}/tables/fig3.{{judge}}.csv",
    output:
        pdf=f"{R}/figures/fig3.{{judge}}.pdf",
        png=f"{R}/figures/fig3.{{judge}}.png",
    log:
        f"{R}/logs/report/figure_fig3-{{judge}}.log",
    conda:
        "../envs/report.yaml"
    params:
        policies=config["eval"]["policies"],
    script:
        "../scripts/figure.py"
