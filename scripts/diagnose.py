"""Rule diagnose: did the RM, offline DPO and online sampling of one (size, seed) learn?"""

from allroads import diagnostics as d
from allroads.io import read_jsonl, write_json
from allroads.jobs import job
from allroads.models import load_tokenizer
from allroads.pairs import append_eos, scores_of
from allroads.sampling import encode_prompt
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
    train = read_jsonl(inp.pft_train, required=("id", "prompt", "post"))
    posts = {r["id"]: r["post"] for r in train}
    for gen, s_path, p_path in zip(p.generators, inp.samples, inp.pairs, strict=True):
        om = d.online_metrics(
            read_jsonl(s_path), read_jsonl(p_path), posts, reward, task.slip_kind, task.slips
        )
        m.update({f"online_{gen}_{k}": v for k, v in om.items()})
    if reward and "sft" in p.generators:  # the gate: can a ranker pick the SFT's better samples?
        from allroads.gate import gate_metrics
        from allroads.reward_models import from_dirs

        tok = load_tokenizer(inp.rm)  # the samples as label_online ranks them
        i = p.generators.index("sft")
        samples = read_jsonl(inp.samples[i])
        if p.append_eos:
            samples = append_eos(samples, tok.eos_token_id)
        ranked, rankers = {}, {}
        if p.ranker == "global_rm":  # the scores label_online ranked these samples by
            rows = read_jsonl(inp.scores[i], required=("id", "scores"))
            ranked["rm"] = scores_of(samples, rows, inp.scores[i])
        else:  # another ranker made the pairs: the global RM scores the samples here
            rankers["rm"] = lambda: from_dirs("global", [inp.rm], precision=p.precision,
                                              batch_size=p.batch_size)  # fmt: skip
        if "dpo" in p.offline:  # its implicit reward, at its training β
            dpo = inp.offline[p.offline.index("dpo")]
            rankers["dpo"] = lambda: from_dirs("dpo", [dpo, inp.sft], beta=p.dpo_beta)
        prompt_ids = {r["id"]: encode_prompt(tok, r["prompt"]) for r in train}
        m.update(  # gate_<rm|dpo>_<metric> (allroads.gate)
            gate_metrics(samples, prompt_ids, posts, reward, rankers, p.truncated_score, ranked)
        )
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
