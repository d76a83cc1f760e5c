"""Rule label_online: rank each prompt's samples by the global RM; top/bottom -> a pair."""

from allroads.io import read_jsonl, write_json, write_jsonl
from allroads.jobs import job
from allroads.pairs import score_with_rm, select_pairs

with job(snakemake) as log:
    prompts = {r["id"]: r for r in read_jsonl(snakemake.input.prompts, required=("id", "prompt"))}
    samples = read_jsonl(
        snakemake.input.samples, required=("prompt_id", "sample_idx", "completion")
    )
    scores = score_with_rm(
        snakemake.input.rm,
        [prompts[s["prompt_id"]]["prompt"] for s in samples],
        [s["completion"] for s in samples],
        snakemake.params.precision,
        snakemake.params.batch_size,
    )
    pairs, stats = select_pairs(samples, scores)
    for pair in pairs:
        pair["prompt"] = prompts[pair["id"]]["prompt"]
        pair["post"] = prompts[pair["id"]]["post"]
    write_jsonl(snakemake.output.pairs, pairs)
    write_json(snakemake.output.stats, stats)
    log.info("pairs: %s", stats)
