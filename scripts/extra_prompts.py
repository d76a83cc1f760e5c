"""Rule extra_prompts: a seeded subset of the SFT train prompts (all of them for `all`)."""

import random

from allroads.io import read_jsonl, write_jsonl
from allroads.jobs import job

with job(snakemake) as log:
    rows = read_jsonl(snakemake.input[0], required=("id", "prompt", "post"))
    n = snakemake.params.n
    if n != "all" and int(n) < len(rows):
        idx = sorted(random.Random(snakemake.params.seed).sample(range(len(rows)), int(n)))
        rows = [rows[i] for i in idx]
    write_jsonl(snakemake.output[0], [{k: r[k] for k in ("id", "prompt", "post")} for r in rows])
    log.info("%d extra prompts from %s", len(rows), snakemake.input[0])
