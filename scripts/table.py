"""Rule table: a figure's table (CSV + markdown) and the differences between policies, with
paired-bootstrap intervals over prompts (allroads.winrate), from the judgments or, for metric
`rouge`, the ROUGE-L F1 scores (a mean like a winrate; column `rouge_l`)."""

from allroads import winrate
from allroads.io import atomic_path, read_jsonl, write_text
from allroads.jobs import job

with job(snakemake) as log:
    p = snakemake.params
    records = [
        r
        for path in snakemake.input.judgments
        for r in read_jsonl(path, required=("size", "seed", "policy", "prompt_id", "score"))
    ]
    per_seed = winrate.per_seed_table(records)
    boot = winrate.bootstrap(records, p.bootstrap["resamples"], p.bootstrap["seed"])
    level = p.bootstrap["level"]
    summary = winrate.summary_table(per_seed, p.policies, boot, level)
    diffs = winrate.differences_table(boot, p.comparisons, level)
    value = "winrate"
    if snakemake.wildcards.get("metric") == "rouge":
        value = "rouge_l"
        summary = summary.rename(columns={"winrate": value})
        per_seed = per_seed.rename(columns={"winrate": value})
    for df, path in ((per_seed, "per_seed"), (summary, "csv"), (diffs, "diffs")):
        with atomic_path(getattr(snakemake.output, path)) as tmp:
            df.to_csv(tmp, index=False)
    md = winrate.to_markdown(summary, diffs, value=value)
    write_text(snakemake.output.md, md)
    log.info("\n%s", md)
