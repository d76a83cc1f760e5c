"""Rule global_rm: Bradley–Terry reward model on the SFT backbone."""

from allroads import training
from allroads.io import atomic_dir, read_jsonl, write_json
from allroads.jobs import job

with job(snakemake) as log, atomic_dir(snakemake.output[0]) as tmp:
    rows = read_jsonl(snakemake.input.train, required=("prompt", "chosen", "rejected"))
    metrics = training.train_global_rm(
        snakemake.input.sft, rows, snakemake.params.hp, int(snakemake.wildcards.seed),
        snakemake.params.precision, str(tmp),
    )  # fmt: skip
    write_json(tmp / "train_metrics.json", metrics)
    log.info("train loss %s", metrics.get("train_loss"))
