"""Rule base: a tiny GPT-NeoX pretrained on the toy corpus, or a snapshot of a hub model."""

from allroads import base_models
from allroads.io import atomic_dir
from allroads.jobs import job

with job(snakemake) as log, atomic_dir(snakemake.output[0]) as tmp:
    info = base_models.materialize_base(
        snakemake.params.model,
        snakemake.params.hp,
        snakemake.input.corpus,
        str(tmp),
    )
    log.info("base model: %s", info)
