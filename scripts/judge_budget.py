"""Rule judge_budget: the run's judge bill per role before any call; over max_usd -> stop."""

from allroads.io import read_jsonl, write_json
from allroads.jobs import job
from allroads.judging.budget import RunBudgetError, estimate, message, plan_passes
from allroads.two_word_data import WriterSettings

with job(snakemake) as log:
    p = snakemake.params
    # pft_val is read only where the plan prices calls on it (the two-word recipe)
    needs_val = any(s == "pft_val" for r, e in p.plan.items() for s, *_ in plan_passes(r, e)[1])
    est = estimate(
        p.judge_cfg,
        p.plan,
        read_jsonl(snakemake.input.eval_prompts, required=("post", "reference")),
        read_jsonl(snakemake.input.pft_train, required=("post",)),
        p.max_new_tokens,
        pft_val=read_jsonl(snakemake.input.pft_val, required=("post",)) if needs_val else None,
        writer_max_tokens=WriterSettings.from_mapping(getattr(p, "writer", None)).max_tokens,
    )
    log.info("%s", message(est))
    if not est["within_budget"]:
        raise RunBudgetError(
            f"judge.openai.max_usd: the run's estimated judge cost ${est['usd']:.2f} "
            f"({est['requests']:,} requests, every role) exceeds the limit ${est['max_usd']:.2f}; "
            "nothing was sent. Raise judge.openai.max_usd or judge fewer prompts"
        )
    write_json(snakemake.output[0], est)
