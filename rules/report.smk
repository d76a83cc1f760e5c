rule table:
    """A figure's table (allroads.figures): per policy mean ± SE over seeds and paired-bootstrap
    95% intervals over prompts, and the differences the figure claims, each with its own
    interval; winrates (invalids and re-asks counted) or ROUGE-L F1 (`{metric}` = rouge)."""
    input:
        judgments=figure_eval_files,
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
        policies=lambda wc: figure_policies(wc.fig),
        comparisons=lambda wc: figure_comparisons(wc.fig),
        caption=lambda wc: figure_caption(wc.fig),
        bootstrap=BOOTSTRAP,
    script:
        "../scripts/table.py"


# ---- the report (`snakemake --report`): each figure under Figures, labelled by its title and
# this run's sentence (allroads.report_text, read off its table when the report is made), and
# its table page under Tables. The report lists labels sorted as text: report_text.sort_label.
from allroads import report_text as _report_text


def figure_kind(fig):
    """winrate | rouge | bon | rm_fit (allroads.report_text.SENTENCES)."""
    if fig in _figures.FIGURES:
        entry = _figures.FIGURES[fig]
        return entry.get("kind", "rouge" if entry["metric"] == "rouge" else "winrate")
    return _figures.RM_STUDY[fig].get("kind", "rm_fit" if fig == "fig9" else "bon")


def rm_study_title(name):
    """Figure 9's title, or Figure 4's or 10's with its judge (file stem ``fig10.oracle``)."""
    fig, _, judge = name.partition(".")
    title = _figures.RM_STUDY[fig]["title"]
    return f"{title} ({judge} judge)" if judge else title


def report_labels(wildcards, input, params):
    """A figure's report labels: its title, and this run's sentence read off its table."""
    sentence = _report_text.this_run(
        params.kind, input.csv, input.get("diffs"), params.get("labels")
    )
    return {"figure": _report_text.sort_label(params.title), "this run": sentence}


def table_labels(wildcards, params):
    """A table page's report label: its figure's title."""
    return {"table": _report_text.sort_label(params.title)}


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
            labels=report_labels,
        ),
        html=report(
            f"{R}/tables/{{fig}}.{{metric}}.html",
            caption="../report/table.rst",
            category="Tables",
            labels=table_labels,
        ),
    log:
        f"{R}/logs/report/figure-{{fig}}-{{metric}}.log",
    conda:
        "../envs/report.yaml"
    params:
        kind=lambda wc: figure_kind(wc.fig),
        policies=lambda wc: figure_policies(wc.fig),
        labels=lambda wc: figure_labels(wc.fig),
        title=lambda wc: figure_title(wc.fig, wc.metric),
        caption=lambda wc: figure_caption(wc.fig),
    script:
        "../scripts/figure.py"
