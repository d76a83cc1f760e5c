"""Rule score_bon: every RM that ranks one BoN sample set scores every sample (the tokens as
drawn, allroads.reward_models). Rows ``{id, prompt_id, sample_idx, scores: {kind@size: r}}``."""

from allroads import reward_models as rms
from allroads.io import DataError, read_jsonl, write_jsonl
from allroads.jobs import job
from allroads.models import load_tokenizer
from allroads.sampling import encode_prompt

with job(snakemake) as log:
    p = snakemake.params
    prompts = {r["id"]: r for r in read_jsonl(snakemake.input.prompts, required=("id", "prompt"))}
    path = snakemake.input.samples
    samples = read_jsonl(path, required=("id", "prompt_id", "sample_idx", "completion_ids"))
    for i, s in enumerate(samples, 1):
        if s["prompt_id"] not in prompts:
            raise DataError(f"{path}:{i}: prompt_id {s['prompt_id']!r} is not an eval prompt")
    tok = load_tokenizer(snakemake.input.policy)  # the prompt tokens the samples followed
    p_ids = {pid: encode_prompt(tok, prompts[pid]["prompt"]) for pid in prompts}
    prompt_ids = [p_ids[s["prompt_id"]] for s in samples]
    completion_ids = [s["completion_ids"] for s in samples]
    scores = {}
    for spec in p.rms:
        rm = rms.from_dirs(
            spec["kind"], spec["dirs"], spec["beta"], precision=p.precision, batch_size=p.batch_size
        )
        if rm.tokenizer.get_vocab() != tok.get_vocab():  # an RM of another family
            raise DataError(f"RM {spec['dirs'][0]} does not share the policy's tokenizer")
        scores[spec["label"]] = rm.score(prompt_ids, completion_ids)
        del rm
        log.info("scored %d samples with the %s RM", len(samples), spec["label"])
    rows = [
        {
            "id": s["id"],
            "prompt_id": s["prompt_id"],
            "sample_idx": s["sample_idx"],
            "scores": {k: v[i] for k, v in scores.items()},
        }
        for i, s in enumerate(samples)
    ]
    write_jsonl(snakemake.output[0], rows)
