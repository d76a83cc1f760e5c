"""Rule figure_rm_study: Figure 9 (held-out fit of each RM), 10 (BoN against N) or 4 (RM size
against policy size), PDF and PNG, from its table."""

import pandas as pd

from allroads import plots
from allroads.jobs import job

with job(snakemake) as log:
    name = snakemake.wildcards.name
    table = pd.read_csv(snakemake.input.csv)
    outs = [snakemake.output.pdf, snakemake.output.png]
    fig, _, judge = name.partition(".")
    t = snakemake.params.bon_temperature
    if fig == "fig9":
        plots.rm_fit_bars(table, outs)
    elif fig == "fig10":
        plots.bon_curves(table, outs, f"Best-of-N (T = {t}), {judge} judge")
    else:
        n = int(table["n"].max())
        title = f"Best-of-{n} (T = {t}) by global RM size, {judge} judge"
        plots.rm_size_bars(table, outs, title, order=snakemake.params.sizes)
    log.info("wrote %s", outs)
