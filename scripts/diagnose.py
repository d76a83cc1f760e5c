"""Rule diagnose: did the RM, offline DPO and online sampling of one (size, seed) learn?"""

from allroads import diagnostics as d
from allroads.io import read_jsonl, write_json
from allroads.jobs import job
from allroads.reward_models import GlobalRM

with job(snakemake) as log:
    inp, p = snakemake.input, snakemake.params
    reward = None
    if p.task_kind == "toy":
        from allroads.toytask import true_reward as reward
    val = read_jsonl(inp.pft_val, required=("prompt", "chosen", "rejected", "post"))
    prompts = [r["prompt"] for r in val]
    chosen, rejected = [r["chosen"] for r in val], [r["rejected"] for r in val]
    m = {}
    rm = GlobalRM(inp.rm, p.precision)
    sc, sr = rm.score_text(prompts, chosen), rm.score_text(prompts, rejected)
    del rm
    m["rm_acc_labels"] = d.pair_accuracy(sc, sr)
    if reward:
        tc = [reward(r["post"], r["chosen"]) for r in val]
        tr = [reward(r["post"], r["rejected"]) for r in val]
        m["rm_acc_rstar"] = d.agreement_with_truth(sc, sr, tc, tr)
        m["label_acc_rstar"] = d.agreement_with_truth([1.0] * len(val), [0.0] * len(val), tc, tr)
    sft_c, sft_r = d.text_logps(inp.sft, prompts, chosen, rejected)
    for name, path in zip(p.offline, inp.offline, strict=True):
        pc, pr = d.text_logps(path, prompts, chosen, rejected)
        m[f"{name}_implicit_acc"] = d.pair_accuracy(
            [a - b for a, b in zip(pc, sft_c, strict=True)],
            [a - b for a, b in zip(pr, sft_r, strict=True)],
        )
    posts = {r["id"]: r["post"] for r in read_jsonl(inp.pft_train, required=("id", "post"))}
    for gen, s_path, p_path in zip(p.generators, inp.samples, inp.pairs, strict=True):
        om = d.online_metrics(read_jsonl(s_path), read_jsonl(p_path), posts, reward)
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
