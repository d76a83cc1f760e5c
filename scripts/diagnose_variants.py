"""Rule diagnose_variants: did the variants' data and models of one (size, seed) learn?
(allroads.diagnostics: the variants' own global RMs and offline DPO policies on the held-out
pairs as the default chain's, their pairs, online pairs and optimizer steps.)"""

from allroads import diagnostics as d
from allroads.io import read_json, read_jsonl, write_json
from allroads.jobs import job
from allroads.tasks import get_task

with job(snakemake) as log:
    inp, p = snakemake.input, snakemake.params
    task = get_task(snakemake.config["task"])
    reward = task.reward if task.has_reward else None
    pft = {r["id"]: r for r in read_jsonl(inp.pft_train, required=("id", "post", "chosen"))}
    m = {}
    for variant, path in zip(p.pair_variants, inp.pair_stats, strict=True):
        st = read_json(path)
        m[f"pairs_{variant}_tie_share"] = st["tied"] / max(1, st["prompts"])
        for k in ("mean_rouge_chosen", "mean_rouge_rejected", "label_agreement_with_r*", "invalid"):
            if k in st:
                m[f"pairs_{variant}_{k.replace('*', 'star')}"] = st[k]
    for gen, s_path, p_path in zip(p.generators, inp.samples, inp.pairs, strict=True):
        pairs = read_jsonl(p_path)
        om = d.variant_online_metrics(read_jsonl(s_path), pairs, pft, reward, p.rouge[gen])
        m.update({f"online_{gen}_{k}": v for k, v in om.items()})
    for name, path in zip(p.models, inp.models, strict=True):
        m[f"steps_{name}"] = d.optimizer_steps(path)
    val = read_jsonl(inp.pft_val, required=("prompt", "chosen", "rejected", "post"))
    m.update(  # V.global_rm_acc_labels, V.global_rm_acc_rstar, V.<dpo|dpo2x>_implicit_acc
        d.held_out_metrics(
            d.HeldOut.from_rows(val, reward),
            rms=dict(zip(p.rms, inp.rms, strict=True)),
            policies=dict(zip(p.offline, inp.offline, strict=True)),
            sft=inp.sft,
            precision=p.precision,
        )
    )
    write_json(snakemake.output[0], m)
    log.info("variant diagnostics: %s", m)
