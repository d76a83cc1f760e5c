"""Rule judge_bon: for every RM and every N, the RM's best of the first N samples per prompt,
judged against the reference (allroads.bon). Each distinct (prompt, summary) is judged once;
one row per (RM, N, prompt) with ``policy`` = ``<generator>/<kind>@<RM size>/N<N>``."""

from allroads import bon
from allroads.io import DataError, read_jsonl, write_jsonl
from allroads.jobs import job
from allroads.judging import Comparison, make_judge
from allroads.pairs import penalize_truncated
from allroads.tasks import get_task

with job(snakemake) as log:
    w, p = snakemake.wildcards, snakemake.params
    prompts = read_jsonl(snakemake.input.prompts, required=("id", "post", "reference"))
    by_id = {r["id"]: r for r in prompts}
    samples = read_jsonl(
        snakemake.input.samples, required=("id", "prompt_id", "sample_idx", "completion")
    )
    scores = {r["id"]: r["scores"] for r in read_jsonl(snakemake.input.scores, required=("id",))}
    missing = [s["id"] for s in samples if s["id"] not in scores]
    if missing:
        raise DataError(f"{snakemake.input.scores}: no scores for sample(s) {missing[:3]}")
    truncated = [bool(s.get("truncated", False)) for s in samples]
    picks = {}  # (rm label, N) -> {prompt_id: sample}
    for label in scores[samples[0]["id"]]:
        # a sample without EOS gets the fixed score online labelling gives it (pairs.py)
        raw = [scores[s["id"]][label] for s in samples]
        sc = penalize_truncated(raw, truncated, p.truncated_score)
        for n, chosen in bon.best_of_n(samples, sc, p.n).items():
            picks[label, n] = chosen
    comps = {}
    for chosen in picks.values():
        for pid, s in chosen.items():
            cid = bon.comparison_id(pid, s["completion"])
            if cid not in comps:
                pr = by_id[pid]
                comps[cid] = Comparison(cid, pid, pr["post"], s["completion"], pr["reference"])
    task = get_task(snakemake.config["task"])
    judge = make_judge(w.judge, p.judge_cfg, seed=int(w.seed), workdir=p.workdir, task=task)
    verdicts = dict(zip(comps, judge.judge(list(comps.values())), strict=True))
    rows = []
    for (label, n), chosen in sorted(picks.items()):
        for pid, s in sorted(chosen.items()):
            v = verdicts[bon.comparison_id(pid, s["completion"])]
            row = v.to_row()
            row.update(
                id=pid, size=w.size, seed=int(w.seed), judge=w.judge, candidate=s["completion"],
                policy=bon.policy_label(w.gen, label, n), sample_idx=s["sample_idx"],
            )  # fmt: skip
            rows.append(row)
    write_jsonl(snakemake.output[0], rows)
    log.info("%d picks, %d distinct comparisons judged", len(rows), len(comps))
