"""Rule data: write the task's splits (toy: generated; tldr: the hub datasets)."""

from pathlib import Path

from allroads import tasks
from allroads.jobs import job

with job(snakemake) as log:
    stats = tasks.build(
        snakemake.params.task, snakemake.params.models, Path(snakemake.output.stats).parent
    )
    log.info("splits: %s", stats)
