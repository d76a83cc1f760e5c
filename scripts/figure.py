"""Rule figure_fig3: the winrate bar chart (PDF and PNG)."""

import pandas as pd

from allroads.jobs import job
from allroads.plots import winrate_bars

with job(snakemake) as log:
    table = pd.read_csv(snakemake.input.csv)
    winrate_bars(
        table, snakemake.params.policies, [snakemake.output.pdf, snakemake.output.png],
        title=f"Winrate vs. human reference ({snakemake.wildcards.judge} judge)",
    )  # fmt: skip
    log.info("wrote %s", list(snakemake.output))
