"""Rule figure_rm_study: a reward-model-study figure (allroads.figures kinds bon and rm_fit:
Figure 9's held-out fit, 10's BoN against N, 4's RM size against policy size), PDF and PNG, from
its table, drawn by the entry's ``plot`` (a function of allroads.plots); and its table page for
the report (HTML)."""

import pandas as pd

from allroads import plots, report_text
from allroads.io import write_text
from allroads.jobs import job

with job(snakemake) as log:
    p, i = snakemake.params, snakemake.input
    table = pd.read_csv(i.csv)
    outs = [snakemake.output.pdf, snakemake.output.png]
    title = p.plot_title.format(title=p.title, t=p.bon_temperature)
    draw = getattr(plots, p.plot)
    if p.plot == "rm_size_bars":
        draw(table, outs, title, p.sizes)
    else:
        draw(table, outs, title)
    sentence = report_text.this_run(p.kind, i.csv)
    page = report_text.table_page(p.title, p.caption, sentence, open(i.md).read(), [i.csv])
    write_text(snakemake.output.html, page)
    log.info("%s\nwrote %s", sentence, list(snakemake.output))
