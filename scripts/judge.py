"""Rule judge: each policy summary against the human reference, one row per prompt."""

from allroads.evaluation import judge_samples
from allroads.io import read_jsonl, write_jsonl
from allroads.jobs import job
from allroads.tasks import get_task

with job(snakemake) as log:
    w = snakemake.wildcards
    rows = judge_samples(
        w.judge,
        snakemake.params.judge_cfg,
        read_jsonl(snakemake.input.prompts, required=("id", "post", "reference")),
        read_jsonl(snakemake.input.samples, required=("prompt_id", "completion")),
        seed=int(w.seed),
        workdir=snakemake.params.workdir,
        tags={"size": w.size, "seed": int(w.seed), "policy": w.policy, "judge": w.judge},
        task=get_task(snakemake.config["task"]),
    )
    write_jsonl(snakemake.output[0], rows)
    valid = [r["score"] for r in rows if r["score"] is not None]
    log.info("%d judged, %d invalid, winrate %.3f", len(rows), len(rows) - len(valid),
             sum(valid) / max(1, len(valid)))  # fmt: skip
