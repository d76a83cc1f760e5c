"""The whole run's judge bill, estimated before any judge call (paper scale).

Every role the OpenAI judge plays in the workflow is counted: **evaluation** (each policy's
summary against the reference, Figures 3, 7, 8, and the Best-of-N picks of Figures 4 and 10),
**labelling** (picking the winner of two SFT samples, Figure 8's judged pairs; of two
gpt-4o-written two-word summaries, Figure 5's pairs) and **generation** (writing two-word
summaries with the C.1 prompt, :mod:`allroads.judging.writer`: two per PFT train and validation
prompt and one reference per evaluation prompt with ``task.two_word_recipe: judge``, else none).
The ``judge_budget`` rule runs once the data exist and before every job that calls the judge
(they take its output as input):
it prints the estimate per role and fails the run when the total exceeds
``judge.openai.max_usd``, so nothing is spent. Each judge job checks its own pending requests
against ``max_usd`` again before sending (RequestClient); cached replies cost nothing, so a rerun
of a finished run sends zero requests.

The estimate is an upper bound in the way RequestClient's is: ~4 characters per input token (+8
per message) on the real posts (the formatted queries with ``judge.openai.post: query``) and
references, a policy summary of at most H tokens of ~4 characters, ``max_tokens`` output tokens per request (the writer's own ``max_tokens`` for
generation), every request sent (no cache hit, no identical-pair skip, no re-ask), twice with
``both_orders``; Batch API prices halve it. With the two-word recipe the evaluation role is
priced against the task's own (human, longer) references, an upper bound for gpt-4o's two-word
ones, which do not exist before the run.

The plan (``allroads.plan`` ``Plan.judge_plan``) gives per role either a number of jobs, each
one pass over the role's split (evaluation: ``eval_prompts``, labelling: ``pft_train``), or
``{"jobs": J, "passes": {split: requests per post}, "rows": {split: at most this many posts}}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .openai_config import BATCH_DISCOUNT, OpenAIJudgeConfig
from .prompts import get_template
from .writer import WRITER_TEMPLATE

CHARS_PER_TOKEN = 4


class RunBudgetError(ValueError):
    """The whole run's estimated judge cost exceeds ``judge.openai.max_usd`` (nothing sent)."""


@dataclass
class RoleEstimate:
    role: str
    jobs: int
    comparisons: int
    requests: int
    input_tokens: int
    output_tokens: int
    usd: float


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0


DEFAULT_SPLIT = {"evaluation": "eval_prompts", "labelling": "pft_train", "generation": None}


def plan_passes(
    role: str, entry: int | Mapping | None
) -> tuple[int, list[tuple[str, int, int | None]]]:
    """(jobs, [(split, requests per post, row cap or None)]) of one role's plan entry."""
    if entry is None:
        return 0, []
    if isinstance(entry, int):
        split = DEFAULT_SPLIT[role]
        return entry, ([(split, entry, None)] if split and entry else [])
    rows = entry.get("rows", {})
    passes = [(s, int(k), rows.get(s)) for s, k in entry.get("passes", {}).items() if k]
    return int(entry.get("jobs", 0)), passes


def estimate_role(
    role: str, jobs: int, posts: list[str], other_chars: float, cfg: OpenAIJudgeConfig,
    summary_tokens: int, passes: list[tuple[list[str], int]] | None = None,
) -> RoleEstimate:  # fmt: skip
    """``jobs`` judge jobs, each judging one comparison per post of ``posts``: a summary of at
    most ``summary_tokens`` tokens against another of ``other_chars`` characters. ``passes``
    (``[(posts, requests per post)]``) replaces the ``jobs`` passes over ``posts``."""
    passes = [(posts, jobs)] if passes is None else passes
    template = len(get_template(cfg.template))
    extra = summary_tokens * CHARS_PER_TOKEN + other_chars
    comparisons, n_in = 0, 0.0
    for ps, k in passes:
        comparisons += k * len(ps)
        n_in += k * sum(math.ceil((template + len(p) + extra) / 4) + 8 for p in ps)
    requests = comparisons * (2 if cfg.both_orders else 1)
    n_in = math.ceil(n_in * (2 if cfg.both_orders else 1))
    n_out = cfg.max_tokens * requests
    usd = (n_in * cfg.price_input_per_mtok + n_out * cfg.price_output_per_mtok) / 1e6
    if cfg.mode == "batch":
        usd *= BATCH_DISCOUNT
    return RoleEstimate(role, jobs, comparisons, requests, n_in, n_out, usd)


def estimate_generation(
    jobs: int, passes: list[tuple[list[str], int]], cfg: OpenAIJudgeConfig, max_tokens: int
) -> RoleEstimate:
    """Writing summaries with the C.1 prompt: ``passes`` = ``[(posts, requests per post)]``,
    each request the prompt with the post, at most ``max_tokens`` output tokens."""
    requests = sum(k * len(ps) for ps, k in passes)
    n_in = sum(
        k * sum(math.ceil((len(WRITER_TEMPLATE) + len(p)) / 4) + 8 for p in ps) for ps, k in passes
    )
    n_out = max_tokens * requests
    usd = (n_in * cfg.price_input_per_mtok + n_out * cfg.price_output_per_mtok) / 1e6
    if cfg.mode == "batch":
        usd *= BATCH_DISCOUNT
    return RoleEstimate("generation", jobs, requests, requests, n_in, n_out, usd)


def estimate(
    judge_cfg: Mapping, plan: Mapping[str, int | Mapping], eval_prompts: list[dict],
    pft_train: list[dict], max_new_tokens: int, *, pft_val: list[dict] | None = None,
    writer_max_tokens: int = 0,
) -> dict:  # fmt: skip
    """The run's estimate: ``plan`` = judge jobs per role (``evaluation``: judgment files of
    ``eval_prompts``; ``labelling``: judged-pair files over ``pft_train``; ``generation``:
    summary writing), or per-split passes (see the module doc). ``writer_max_tokens``: the
    summary writer's reply limit (generation)."""
    cfg = OpenAIJudgeConfig.from_mapping(judge_cfg)
    splits = {"eval_prompts": eval_prompts, "pft_train": pft_train, "pft_val": pft_val}

    def posts(split: str, cap: int | None, key: str = "post") -> list[str]:
        rows = splits[split]
        if rows is None:
            raise ValueError(f"the judge plan needs the {split} split, which was not given")
        rows = rows if cap is None else rows[:cap]
        if any(key not in r for r in rows):
            raise ValueError(f"the judge plan's {split} rows lack {key!r} (judge.openai.post)")
        return [r[key] for r in rows]

    # what the judge reads as the post (judge.openai.post); the writer always reads the post
    shown = "prompt" if cfg.post == "query" else "post"

    roles = []
    for role, other_chars in (
        ("evaluation", _mean(len(r["reference"]) for r in eval_prompts)),
        ("labelling", max_new_tokens * CHARS_PER_TOKEN),
    ):
        jobs, passes = plan_passes(role, plan.get(role))
        roles.append(
            estimate_role(
                role,
                jobs,
                [],
                other_chars,
                cfg,
                max_new_tokens,
                passes=[(posts(s, cap, shown), k) for s, k, cap in passes],
            )  # fmt: skip
        )
    jobs, passes = plan_passes("generation", plan.get("generation"))
    roles.append(
        estimate_generation(
            jobs, [(posts(s, cap), k) for s, k, cap in passes], cfg, writer_max_tokens
        )
    )
    total = sum(r.usd for r in roles)
    return {
        "model": cfg.model,
        "batch": cfg.mode == "batch",
        "roles": [asdict(r) for r in roles],
        "requests": sum(r.requests for r in roles),
        "usd": total,
        "max_usd": cfg.max_usd,
        "within_budget": cfg.max_usd is None or total <= cfg.max_usd,
    }


def message(est: dict) -> str:
    price = " at Batch API prices" if est["batch"] else ""
    lines = [f"openai judge ({est['model']}), the whole run before any call{price}:"]
    for r in est["roles"]:
        what = "summaries" if r["role"] == "generation" else "comparisons"
        lines.append(
            f"  {r['role']}: {r['jobs']} jobs, {r['comparisons']:,} {what}, "
            f"{r['requests']:,} requests, ~{r['input_tokens']:,} input + at most "
            f"{r['output_tokens']:,} output tokens = at most ${r['usd']:.2f}"
        )
    limit = "no limit" if est["max_usd"] is None else f"max_usd ${est['max_usd']:.2f}"
    lines.append(f"  total: {est['requests']:,} requests, at most ${est['usd']:.2f} ({limit})")
    return "\n".join(lines)
