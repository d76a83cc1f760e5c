"""Rules sample_online and sample_eval: completions from a policy through the sampler.

Rows ``{id, prompt_id, sample_idx, completion, completion_ids, truncated}``: the token ids as
drawn (EOS included only when drawn) are what the RM scores and online DPO trains on.
"""

from allroads.io import read_jsonl, write_jsonl
from allroads.jobs import job
from allroads.sampling import derive_seed, make_sampler

with job(snakemake) as log:
    p, w = snakemake.params, snakemake.wildcards
    prompts = read_jsonl(snakemake.input.prompts, required=("id", "prompt"))
    sampler = make_sampler(p.sampler, snakemake.input.model, p.precision)
    seed = derive_seed(snakemake.rule, w.size, w.seed, w.get("gen", w.get("policy")))
    rows = sampler.sample(prompts, p.n, p.temperature, p.max_new_tokens, seed)
    n = write_jsonl(snakemake.output[0], rows)
    cut = sum(r["truncated"] for r in rows)
    log.info("%d completions for %d prompts, %d without EOS within H", n, len(prompts), cut)
