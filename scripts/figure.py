"""Rule figure: a figure (PDF and PNG) of policies' winrates, or ROUGE-L F1 (kind rouge), with
the paired differences it claims and r*; and its table page for the report (HTML)."""

import pandas as pd

from allroads import plots, report_text
from allroads.io import write_text
from allroads.jobs import job

with job(snakemake) as log:
    p, i = snakemake.params, snakemake.input
    rouge = p.kind == "rouge"
    plots.paired_figure(
        pd.read_csv(i.csv),
        pd.read_csv(i.diffs),
        p.policies,
        [snakemake.output.pdf, snakemake.output.png],
        title=p.title,
        labels=p.labels,
        value="rouge_l" if rouge else "winrate",
        xlabel="ROUGE-L F1 vs. preferred completion (×100)"
        if rouge
        else "winrate vs. reference (%)",
        reference=None if rouge else 50.0,
        unit="ROUGE-L F1 points" if rouge else "points",
    )
    sentence = report_text.this_run(p.kind, i.csv, i.diffs, p.labels)
    page = report_text.table_page(p.title, p.caption, sentence, open(i.md).read(), [i.csv, i.diffs])
    write_text(snakemake.output.html, page)
    log.info("%s\nwrote %s", sentence, list(snakemake.output))
