"""The whole run's judge bill, estimated before any judge call (paper scale).

Every role the OpenAI judge plays in the workflow is counted: **evaluation** (each policy's
summary against the reference, Figures 3, 7, 8, and the Best-of-N picks of Figures 4 and 10),
**labelling** (picking the winner of two SFT
samples, Figure 8's judged pairs) and **generation** (writing summaries: none in the workflow
yet, counted as 0 so the line is there when a role is added). The ``judge_budget`` rule runs
once the data exist and before every job that calls the judge (they take its output as input):
it prints the estimate per role and fails the run when the total exceeds
``judge.openai.max_usd``, so nothing is spent. Each judge job checks its own pending requests
against ``max_usd`` again before sending (OpenAIJudge); cached replies cost nothing, so a rerun
of a finished run sends zero requests.

The estimate is an upper bound in the way OpenAIJudge's is: ~4 characters per input token (+8
per message) on the real posts and references, a policy summary of at most H tokens of ~4
characters, ``max_tokens`` output tokens per request, every request sent (no cache hit, no
identical-pair skip), twice with ``both_orders``; Batch API prices halve it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .openai_judge import BATCH_DISCOUNT, OpenAIJudgeConfig
from .prompts import get_template

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


def estimate_role(
    role: str, jobs: int, posts: list[str], other_chars: float, cfg: OpenAIJudgeConfig,
    summary_tokens: int,
) -> RoleEstimate:  # fmt: skip
    """``jobs`` judge jobs, each judging one comparison per post of ``posts``: a summary of at
    most ``summary_tokens`` tokens against another of ``other_chars`` characters."""
    template = len(get_template(cfg.template))
    per_request = _mean(
        math.ceil((template + len(p) + summary_tokens * CHARS_PER_TOKEN + other_chars) / 4) + 8
        for p in posts
    )
    comparisons = jobs * len(posts)
    requests = comparisons * (2 if cfg.both_orders else 1)
    n_in = math.ceil(per_request * requests)
    n_out = cfg.max_tokens * requests
    usd = (n_in * cfg.price_input_per_mtok + n_out * cfg.price_output_per_mtok) / 1e6
    if cfg.mode == "batch":
        usd *= BATCH_DISCOUNT
    return RoleEstimate(role, jobs, comparisons, requests, n_in, n_out, usd)


def estimate(
    judge_cfg: Mapping, plan: Mapping[str, int], eval_prompts: list[dict], pft_train: list[dict],
    max_new_tokens: int,
) -> dict:  # fmt: skip
    """The run's estimate: ``plan`` = judge jobs per role (``evaluation``: judgment files of
    ``eval_prompts``; ``labelling``: judged-pair files over ``pft_train``; ``generation``)."""
    cfg = OpenAIJudgeConfig.from_mapping(judge_cfg)
    roles = [
        estimate_role(
            "evaluation",
            plan.get("evaluation", 0),
            [r["post"] for r in eval_prompts],
            _mean(len(r["reference"]) for r in eval_prompts),
            cfg,
            max_new_tokens,
        ),  # fmt: skip
        estimate_role(
            "labelling",
            plan.get("labelling", 0),
            [r["post"] for r in pft_train],
            max_new_tokens * CHARS_PER_TOKEN,
            cfg,
            max_new_tokens,
        ),  # fmt: skip
        RoleEstimate("generation", plan.get("generation", 0), 0, 0, 0, 0, 0.0),
    ]
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
        lines.append(
            f"  {r['role']}: {r['jobs']} jobs, {r['comparisons']:,} comparisons, "
            f"{r['requests']:,} requests, ~{r['input_tokens']:,} input + at most "
            f"{r['output_tokens']:,} output tokens = at most ${r['usd']:.2f}"
        )
    limit = "no limit" if est["max_usd"] is None else f"max_usd ${est['max_usd']:.2f}"
    lines.append(f"  total: {est['requests']:,} requests, at most ${est['usd']:.2f} ({limit})")
    return "\n".join(lines)
