"""Rule label_online: rank each prompt's samples by the global RM (or `online.ranker`'s
ranker); top/bottom -> a pair.

Samples and prompts may come from several files (a prompt-augmentation variant: the PFT train
prompts' default sample set plus the extra SFT train prompts' samples).

The RM scores exactly the sampled tokens (``completion_ids``); a sample that reached H tokens
without EOS gets the fixed ``online.truncated_score`` instead (pairs.online_pairs; null:
its RM score), and with ``online.append_eos`` EOS is appended to its tokens first, for the RM
and in the pair (pairs.append_eos, as the authors). Each pair carries the token ids online DPO
trains on: ``prompt_ids`` (sampling.encode_prompt, the tokens the generator was conditioned
on), ``chosen_ids`` and ``rejected_ids`` as drawn (plus that EOS). Every sample's score goes to
``scores`` (one row per prompt, pairs.score_rows), which rule diagnose's gate reads.
"""

from allroads.io import DataError, read_jsonl, write_json, write_jsonl
from allroads.jobs import job
from allroads.models import load_tokenizer
from allroads.pairs import append_eos, online_pairs
from allroads.sampling import encode_prompt
from allroads.tasks import get_task

with job(snakemake) as log:
    # the PFT train prompts, plus a prompt-augmentation variant's extra SFT train prompts
    prompts = {
        r["id"]: r
        for path in snakemake.input.prompts
        for r in read_jsonl(path, required=("id", "prompt"))
    }
    samples = []
    for path in snakemake.input.samples:
        rows = read_jsonl(
            path, required=("prompt_id", "sample_idx", "completion", "completion_ids", "truncated")
        )
        for i, s in enumerate(rows, 1):
            if s["prompt_id"] not in prompts:
                raise DataError(f"{path}:{i}: prompt_id {s['prompt_id']!r} is not in the prompts")
        samples += rows
    tok = load_tokenizer(snakemake.input.rm)
    eos_appended = getattr(snakemake.params, "append_eos", False)  # online.append_eos
    if eos_appended:
        samples = append_eos(samples, tok.eos_token_id)
    prompt_ids = {pid: encode_prompt(tok, prompts[pid]["prompt"]) for pid in prompts}
    if snakemake.params.ranker == "oracle":  # control: the task's r* ranks the samples, no RM
        task = get_task(snakemake.config["task"])
        raw = [task.reward(prompts[s["prompt_id"]]["post"], s["completion"]) for s in samples]
    elif snakemake.params.ranker == "labeller":  # control: r* as noisy as the labels
        raw = get_task(snakemake.config["task"]).labeller_scores(
            [prompts[s["prompt_id"]]["post"] for s in samples],
            [s["completion"] for s in samples],
            # one draw per distinct text of a prompt: copies of a sample tie, as under an RM
            [f"{snakemake.wildcards.seed}:{s['prompt_id']}:{s['completion']}" for s in samples],
        )
    else:  # the global RM, or beta * sum log pi of the local RM (reference-free DPO)
        from allroads.config import local_rm_beta
        from allroads.reward_models import from_dirs

        kind = "local" if snakemake.params.ranker == "local_rm" else "global"
        # beta = 1/H from the config (not a param: the default ranker's jobs keep their params)
        rm = from_dirs(
            kind, [snakemake.input.rm], local_rm_beta(snakemake.config) if kind == "local" else None,
            precision=snakemake.params.precision, batch_size=snakemake.params.batch_size,
        )  # fmt: skip
        raw = rm.score(
            [prompt_ids[s["prompt_id"]] for s in samples],
            [s["completion_ids"] for s in samples],
        )
    pairs, stats, scores = online_pairs(
        samples, raw, prompts, prompt_ids, snakemake.params.truncated_score, eos_appended
    )
    write_jsonl(snakemake.output.pairs, pairs)
    write_jsonl(snakemake.output.scores, scores)  # every sample's score (pairs.score_rows)
    write_json(snakemake.output.stats, stats)
    log.info("pairs: %s", stats)
