"""Rule table_bon: Figure 10 (BoN winrate against N per generator and RM kind) or Figure 4 (the
global RM's size against the policy's at the largest N): mean ± SE over seeds and paired
bootstrap intervals over prompts (allroads.winrate), r* on the toy task."""

from allroads import bon, winrate
from allroads.io import atomic_path, read_jsonl, write_text
from allroads.jobs import job

with job(snakemake) as log:
    p, w = snakemake.params, snakemake.wildcards
    records = [
        r
        for path in snakemake.input.judgments
        for r in read_jsonl(path, required=("size", "seed", "policy", "prompt_id", "score"))
    ]
    g = p.grid  # the figure's Best-of-N grid (allroads.plan.Plan.bon_spec)
    records = bon.select_rows(
        records, g["sizes"], g["generators"], g["kinds"], g["n"], g["same_size"]
    )
    per_seed = winrate.per_seed_table(records)
    boot = winrate.bootstrap(records, p.bootstrap["resamples"], p.bootstrap["seed"])
    table = bon.expand_labels(winrate.summary_table(per_seed, None, boot, p.bootstrap["level"]))
    with atomic_path(snakemake.output.csv) as tmp:
        table.to_csv(tmp, index=False)
    md = bon.to_markdown(table, f"{p.table_title}, {w.judge} judge")
    write_text(snakemake.output.md, md)
    log.info("\n%s", md)
