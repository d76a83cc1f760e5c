rule table:
    """A figure's table (allroads.figures): per policy mean ± SE over seeds and paired-bootstrap
    95% intervals over prompts, and the differences the figure claims, each with its own
    interval; winrates (invalids and re-asks counted) or ROUGE-L F1 (`{metric}` = rouge)."""
    input:
        judgments=PLAN.figure_eval_files,
    output:
        csv=f"{R}/tables/{{fig}}.{{metric}}.csv",
        md=f"{R}/tables/{{fig}}.{{metric}}.md",
        per_seed=f"{R}/tables/{{fig}}.{{metric}}.per_seed.csv",
        diffs=f"{R}/tables/{{fig}}.{{metric}}.diffs.csv",
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


# The report (`snakemake --report`): each figure under Figures, labelled by its title and this
# run's sentence (read off its table when the report is made), its table page under Tables
# (allroads.report_text).
from allroads import report_text as _report_text


rule figure:
    """A figure (PDF and PNG): per policy, winrate against the reference or ROUGE-L F1, the
    differences it claims, r* where the judge records it; and its table page (HTML)."""
    input:
        csv=f"{R}/tables/{{fig}}.{{metric}}.csv",
        diffs=f"{R}/tables/{{fig}}.{{metric}}.diffs.csv",
        md=f"{R}/tables/{{fig}}.{{metric}}.md",
    output:
        pdf=f"{R}/figures/{{fig}}.{{metric}}.pdf",
        png=report(
            f"{R}/figures/{{fig}}.{{metric}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=_report_text.report_labels,
        ),
        html=report(
            f"{R}/tables/{{fig}}.{{metric}}.html",
            caption="../report/table.rst",
            category="Tables",
            labels=_report_text.table_labels,
        ),
    log:
        f"{R}/logs/report/figure-{{fig}}-{{metric}}.log",
    conda:
        "../envs/report.yaml"
    params:
        kind=lambda wc: _figures.FIGURES[wc.fig]["kind"],
        policies=lambda wc: PLAN.fig_policies(wc.fig),
        labels=lambda wc: _figures.FIGURES[wc.fig]["labels"],
        title=lambda wc: _figures.title(wc.fig, wc.metric),
        caption=lambda wc: _figures.FIGURES[wc.fig]["caption"],
    script:
        "../scripts/figure.py"
