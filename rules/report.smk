rule table:
    """A figure's table (allroads.figures): per policy mean ± SE over seeds and paired-bootstrap
    95% intervals over prompts, and the differences the figure claims, each with its own
    interval; winrates (invalids and re-asks counted) or ROUGE-L F1 (`{metric}` = rouge)."""
    input:
        judgments=PLAN.figure_eval_files,
    output:
        csv=report(
            f"{R}/tables/{{fig}}.{{metric}}.csv",
            caption="../report/table.rst",
            category="Tables",
            labels=lambda wc: {
                "figure": _figures.title(wc.fig, wc.metric),
                "table": "per policy",
            },
        ),
        md=f"{R}/tables/{{fig}}.{{metric}}.md",
        per_seed=f"{R}/tables/{{fig}}.{{metric}}.per_seed.csv",
        diffs=report(
            f"{R}/tables/{{fig}}.{{metric}}.diffs.csv",
            caption="../report/table.rst",
            category="Tables",
            labels=lambda wc: {
                "figure": _figures.title(wc.fig, wc.metric),
                "table": "differences",
            },
        ),
    log:
        f"{R}/logs/report/table-{{fig}}-{{metric}}.log",
    conda:
        "../envs/report.yaml"
    params:
        policies=lambda wc: PLAN.fig_policies(wc.fig),
        comparisons=lambda wc: PLAN.fig_comparisons(wc.fig),
        caption=lambda wc: _figures.FIGURES[wc.fig]["caption"],
        bootstrap=config["eval"]["bootstrap"],
    script:
        "../scripts/table.py"


rule figure:
    """A figure's bar chart (PDF and PNG): per policy, winrate against the reference or ROUGE-L
    F1, with the tables' 95% intervals."""
    input:
        csv=f"{R}/tables/{{fig}}.{{metric}}.csv",
    output:
        pdf=f"{R}/figures/{{fig}}.{{metric}}.pdf",
        png=report(
            f"{R}/figures/{{fig}}.{{metric}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda wc: {"figure": _figures.title(wc.fig, wc.metric)},
        ),
    log:
        f"{R}/logs/report/figure-{{fig}}-{{metric}}.log",
    conda:
        "../envs/report.yaml"
    params:
        policies=lambda wc: PLAN.fig_policies(wc.fig),
        labels=lambda wc: _figures.FIGURES[wc.fig]["labels"],
        title=lambda wc: _figures.title(wc.fig, wc.metric),
        caption=lambda wc: _figures.FIGURES[wc.fig]["caption"],
    script:
        "../scripts/figure.py"
