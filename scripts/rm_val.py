"""Rule rm_val: every RM kind of one (size, seed) on the held-out preference pairs (Figure 9):
Bradley–Terry log-likelihood of the labels, accuracy against the labels and against r* (a task with one)."""

import random

from allroads import diagnostics as d
from allroads import reward_models as rms
from allroads.io import read_jsonl, write_json
from allroads.jobs import job
from allroads.tasks import get_task

with job(snakemake) as log:
    inp, p = snakemake.input, snakemake.params
    val = read_jsonl(inp.pft_val, required=("prompt", "chosen", "rejected"))
    if p.val_pairs and p.val_pairs < len(val):  # a seeded subsample, the same for every RM
        keep = sorted(random.Random(p.subsample_seed).sample(range(len(val)), p.val_pairs))
        val = [val[i] for i in keep]
    task = get_task(snakemake.config["task"])
    held = d.HeldOut.from_rows(val, task.reward if task.has_reward else None)
    dirs = {"global": [inp.global_rm], "local": [inp.local_rm], "dpo": [inp.dpo, inp.sft]}
    m = {"val_pairs": len(val)}
    for kind in p.kinds:
        sc, sr = held.scores(
            rms.from_dirs(kind, dirs[kind], p.betas.get(kind), precision=p.precision)
        )
        m[f"val_{kind}_rm_loglik"] = rms.bt_loglik(sc, sr)
        m.update({f"val_{kind}_rm_{k}": v for k, v in d.score_accuracy(held, sc, sr).items()})
        log.info("%s RM: %s", kind, {k: v for k, v in m.items() if f"_{kind}_" in k})
    write_json(snakemake.output[0], m)
