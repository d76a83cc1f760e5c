"""Rule figure_rm_study: Figure 9 (held-out fit of each RM), 10 (BoN against N) or 4 (RM size
against policy size), PDF and PNG, from its table; and its table page for the report (HTML)."""

import pandas as pd

from allroads import plots, report_text
from allroads.io import write_text
from allroads.jobs import job

with job(snakemake) as log:
    p, i = snakemake.params, snakemake.input
    table = pd.read_csv(i.csv)
    outs = [snakemake.output.pdf, snakemake.output.png]
    if p.kind == "rm_fit":
        plots.rm_fit_bars(table, outs, p.title)
    elif table["n"].nunique() > 1:  # Figure 10: against N
        plots.bon_curves(table, outs, f"{p.title}, samples at T = {p.bon_temperature}")
    else:  # Figure 4: one N, every RM size
        plots.rm_size_bars(table, outs, f"{p.title}, samples at T = {p.bon_temperature}", p.sizes)
    sentence = report_text.this_run(p.kind, i.csv)
    page = report_text.table_page(p.title, p.caption, sentence, open(i.md).read(), [i.csv])
    write_text(snakemake.output.html, page)
    log.info("%s\nwrote %s", sentence, list(snakemake.output))
