"""Rule judge_budget: the run's judge bill per role before any call; over max_usd -> stop."""

from allroads.io import read_jsonl, write_json
from allroads.jobs import job
from allroads.judging.budget import RunBudgetError, estimate, message

with job(snakemake) as log:
    p = snakemake.params
    est = estimate(
        p.judge_cfg,
        p.plan,
        read_jsonl(snakemake.input.eval_prompts, required=("post", "reference")),
        read_jsonl(snakemake.input.pft_train, required=("post",)),
        p.max_new_tokens,
    )
    log.info("%s", message(est))
    if not est["within_budget"]:
        raise RunBudgetError(
            f"judge.openai.max_usd: the run's estimated judge cost ${est['usd']:.2f} "
            f"({est['requests']:,} requests, every role) exceeds the limit ${est['max_usd']:.2f}; "
            "nothing was sent. Raise judge.openai.max_usd or judge fewer prompts"
        )
    write_json(snakemake.output[0], est)
