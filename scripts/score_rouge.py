"""Rule score_rouge: ROUGE-L F1 of each policy sample against the preferred completion."""

from allroads.io import read_jsonl, write_jsonl
from allroads.jobs import job
from allroads.rouge import score_samples

with job(snakemake) as log:
    w = snakemake.wildcards
    rows = score_samples(
        read_jsonl(snakemake.input.prompts, required=("id", "chosen")),
        read_jsonl(snakemake.input.samples, required=("prompt_id", "sample_idx", "completion")),
        tags={"size": w.size, "seed": int(w.seed), "policy": w.policy, "judge": "rouge"},
    )
    write_jsonl(snakemake.output[0], rows)
    log.info(
        "%d scored, mean ROUGE-L F1 %.4f", len(rows), sum(r["score"] for r in rows) / len(rows)
    )
