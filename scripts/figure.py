"""Rule figure: a figure's bar chart (PDF and PNG): winrates, or ROUGE-L F1 (metric rouge)."""

import pandas as pd

from allroads.jobs import job
from allroads.plots import winrate_bars

with job(snakemake) as log:
    table = pd.read_csv(snakemake.input.csv)
    rouge = "rouge_l" in table
    winrate_bars(
        table.rename(columns={"rouge_l": "winrate"}),
        snakemake.params.policies,
        [snakemake.output.pdf, snakemake.output.png],
        title=snakemake.params.title,
        labels=snakemake.params.labels,
        ylabel="ROUGE-L F1 vs. preferred completion (×100)" if rouge else None,
        reference_line=not rouge,
    )
    log.info("wrote %s", list(snakemake.output))
