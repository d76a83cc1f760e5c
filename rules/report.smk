rule table_fig3:
    """Figure 3's winrate table: mean ± SE over seeds (and over prompts), invalids counted."""
    input:
        judgments=lambda wc: eval_targets(wc.judge),
    output:
        csv=f"{R}/tables/fig3.{{judge}}.csv",
        md=f"{R}/tables/fig3.{{judge}}.md",
        per_seed=f"{R}/tables/fig3.{{judge}}.per_seed.csv",
    log:
        f"{R}/logs/report/table_fig3-{{judge}}.log",
    conda:
        "../envs/report.yaml"
    params:
        policies=config["eval"]["policies"],
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
