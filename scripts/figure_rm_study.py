"""Rule figure_rm_study: a reward-model-study figure (allroads.figures kinds bon and rm_fit:
Figure 9's held-out fit, 10's BoN against N, 4's RM size against policy size), PDF and PNG, from
its table, drawn by the entry's ``plot`` (a function of allroads.plots)."""

import pandas as pd

from allroads import plots
from allroads.jobs import job

with job(snakemake) as log:
    p = snakemake.params
    table = pd.read_csv(snakemake.input.csv)
    outs = [snakemake.output.pdf, snakemake.output.png]
    judge = snakemake.wildcards.name.partition(".")[2]
    n = int(table["n"].max()) if "n" in table else None
    title = p.plot_title.format(t=p.bon_temperature, judge=judge, n=n)
    draw = getattr(plots, p.plot)
    if p.plot == "rm_fit_bars":
        draw(table, outs)
    elif p.plot == "rm_size_bars":
        draw(table, outs, title, order=p.sizes)
    else:
        draw(table, outs, title)
    log.info("wrote %s", outs)
