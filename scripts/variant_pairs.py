"""Rule variant_pairs: a variant's preference pairs from the SFT's shared online samples
(allroads.rouge: ROUGE-L top / bottom; allroads.judged_pairs: two samples, judge picks)."""

from allroads.io import DataError, read_jsonl, write_json, write_jsonl
from allroads.jobs import job

with job(snakemake) as log:
    p, w = snakemake.params, snakemake.wildcards
    prompts = {
        r["id"]: r
        for r in read_jsonl(snakemake.input.prompts, required=("id", "prompt", "post", "chosen"))
    }
    path = snakemake.input.samples
    samples = read_jsonl(path, required=("prompt_id", "sample_idx", "completion"))
    for i, s in enumerate(samples, 1):
        if s["prompt_id"] not in prompts:
            raise DataError(f"{path}:{i}: prompt_id {s['prompt_id']!r} is not in the PFT prompts")
    if p.kind == "rouge":
        from allroads.rouge import rouge_pairs

        rows, stats = rouge_pairs(samples, prompts)
    else:
        from allroads.judged_pairs import judged_pairs
        from allroads.judging import make_judge
        from allroads.tasks import get_task

        task = get_task(snakemake.config["task"])
        judge = make_judge(p.judge, p.judge_cfg, seed=int(w.seed), workdir=p.workdir, task=task)
        rows, stats = judged_pairs(samples, prompts, judge)
    write_jsonl(snakemake.output.pairs, rows)
    write_json(snakemake.output.stats, stats)
    log.info("%s pairs: %s", p.kind, stats)
