"""Rule table_fig3: winrate table (CSV + markdown) from the judgments."""

from allroads import winrate
from allroads.io import atomic_path, read_jsonl, write_text
from allroads.jobs import job

with job(snakemake) as log:
    records = [
        r for path in snakemake.input.judgments for r in read_jsonl(path, required=("score",))
    ]
    per_seed = winrate.per_seed_table(records)
    summary = winrate.summary_table(per_seed, snakemake.params.policies)
    with atomic_path(snakemake.output.per_seed) as tmp:
        per_seed.to_csv(tmp, index=False)
    with atomic_path(snakemake.output.csv) as tmp:
        summary.to_csv(tmp, index=False)
    write_text(snakemake.output.md, winrate.to_markdown(summary))
    log.info("\n%s", winrate.to_markdown(summary))
