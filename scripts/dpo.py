"""Rules offline_dpo and online_dpo: the same DPO, differing only in data and reference."""

from allroads import training
from allroads.io import atomic_dir, read_jsonl, write_json
from allroads.jobs import job

with job(snakemake) as log, atomic_dir(snakemake.output[0]) as tmp:
    inp, params = snakemake.input, snakemake.params
    init = inp.get("init", inp.get("sft"))
    ref = inp.get("ref", inp.get("sft"))
    hp = dict(params.hp)
    if params.epochs:
        hp["epochs"] = params.epochs
    rows = read_jsonl(inp.train, required=("prompt", "chosen", "rejected"))
    log.info(
        "DPO from %s, reference %s at T=%s, %d pairs", init, ref, params.ref_temperature, len(rows)
    )
    metrics = training.train_dpo(
        init, rows, hp, int(snakemake.wildcards.seed), params.precision, str(tmp),
        ref_dir=ref, ref_temperature=params.ref_temperature,
    )  # fmt: skip
    write_json(tmp / "train_metrics.json", metrics)
    log.info("train loss %s", metrics.get("train_loss"))
