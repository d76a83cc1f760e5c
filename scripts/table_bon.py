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
    records = bon.select_rows(records, p.sizes, p.generators, p.kinds, p.n, p.same_size)
    per_seed = winrate.per_seed_table(records)
    boot = winrate.bootstrap(records, p.bootstrap["resamples"], p.bootstrap["seed"])
    table = bon.expand_labels(winrate.summary_table(per_seed, None, boot, p.bootstrap["level"]))
    with atomic_path(snakemake.output.csv) as tmp:
        table.to_csv(tmp, index=False)
    title = {
        "fig10": "Figure 10: Best-of-N winrate against the reference (RM size = policy size)",
        "fig4": f"Figure 4: Best-of-{max(p.n)} winrate, global RM size x policy size",
    }[w.fig]
    md = bon.to_markdown(table, f"{title}, {w.judge} judge")
    write_text(snakemake.output.md, md)
    log.info("\n%s", md)
