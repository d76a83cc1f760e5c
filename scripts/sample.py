"""Rules sample_online and sample_eval: completions from a policy through the sampler."""

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
    log.info("%d completions for %d prompts", n, len(prompts))
