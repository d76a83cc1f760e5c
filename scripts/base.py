"""Rule base: a tiny GPT-NeoX pretrained on the task's corpus, or a snapshot of a hub model."""

from allroads import base_models
from allroads.io import atomic_dir
from allroads.jobs import job
from allroads.tasks import get_task

with job(snakemake) as log, atomic_dir(snakemake.output[0]) as tmp:
    info = base_models.materialize_base(
        snakemake.params.model,
        snakemake.params.hp,
        snakemake.input.corpus,
        str(tmp),
        tokenizer=get_task(snakemake.config["task"]).tokenizer(),
    )
    log.info("base model: %s", info)
