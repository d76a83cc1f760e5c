"""Rule diagnose: did the RM, offline DPO and online sampling of one (size, seed) learn?"""

from allroads import diagnostics as d
from allroads.io import read_jsonl, write_json
from allroads.jobs import job
from allroads.tasks import get_task

with job(snakemake) as log:
    inp, p = snakemake.input, snakemake.params
    task = get_task(snakemake.config["task"])
    reward = task.reward if task.has_reward else None
    val = read_jsonl(inp.pft_val, required=("prompt", "chosen", "rejected", "post"))
    held = d.HeldOut.from_rows(val, reward)
    m = d.held_out_metrics(  # rm_acc_labels, rm_acc_rstar, <policy>_implicit_acc
        held,
        rms={"rm": inp.rm},
        policies=dict(zip(p.offline, inp.offline, strict=True)),
        sft=inp.sft,
        precision=p.precision,
    )
    checks = task.check_pairs(val) if held.has_truth else None
    if checks is not None:
        m.update(  # rm_check_<kind>, <policy>_check_<kind>: which of r*'s checks each learned
            d.check_metrics(
                checks,
                rms={"rm": inp.rm},
                policies=dict(zip(p.offline, inp.offline, strict=True)),
                sft=inp.sft,
                precision=p.precision,
            )
        )
    if held.has_truth:
        n = len(val)
        m["label_acc_rstar"] = d.agreement_with_truth(
            [1.0] * n, [0.0] * n, held.true_chosen, held.true_rejected
        )
    posts = {r["id"]: r["post"] for r in read_jsonl(inp.pft_train, required=("id", "post"))}
    for gen, s_path, p_path in zip(p.generators, inp.samples, inp.pairs, strict=True):
        om = d.online_metrics(
            read_jsonl(s_path), read_jsonl(p_path), posts, reward, task.slip_kind, task.slips
        )
        m.update({f"online_{gen}_{k}": v for k, v in om.items()})
    for name, path in zip(p.trained, inp.trained, strict=True):
        m[f"steps_{name}"] = d.optimizer_steps(path)
    if reward:
        evals = {r["id"]: r["post"] for r in read_jsonl(inp.eval_prompts, required=("id", "post"))}
        for name, path in zip(p.policies, inp.eval_samples, strict=True):
            rows = read_jsonl(path, required=("prompt_id", "completion"))
            m[f"eval_rstar_{name}"] = sum(
                reward(evals[r["prompt_id"]], r["completion"]) for r in rows
            ) / len(rows)
    write_json(snakemake.output[0], m)
    log.info("diagnostics: %s", m)
