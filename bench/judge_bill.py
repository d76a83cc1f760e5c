"""The judge bill of a config's plan, before any data exist (issue 21's before / after).

    PYTHONPATH=. python bench/judge_bill.py config/paper.yaml [overlay.yaml ...]

Asks the config's plan (allroads.plan, what the workflow runs) for its judge jobs per role
and the control run's (Figure 5) where there is one, and prices them with
allroads.judging.budget.estimate, the rule judge_budget's own pricing, on stand-in posts:
``--post-chars`` characters per post (TL;DR's order of magnitude) and ``--reference-chars``
per reference, ``--pft-rows`` PFT train rows. The real bill is printed by rule judge_budget
from the real posts before any call.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from allroads.judging.budget import estimate, message

ROOT = Path(__file__).resolve().parent.parent


def plans(configfiles: list[str]) -> list[tuple[str, dict, dict]]:
    """[(run, judge plan, config)] of the main run and of its control module, if any."""
    from allroads.plan import Plan
    from allroads.plan.__main__ import load

    cfg, _ = load(configfiles, [])
    plan = Plan(cfg)
    out = [("main", plan.judge_plan, cfg)]
    if plan.control:
        ctl = Plan(plan.control_config(str(ROOT), "config"), in_module=True)
        out.append(("control (Figure 5)", ctl.judge_plan, ctl.config))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("configfiles", nargs="+")
    ap.add_argument("--post-chars", type=int, default=1400)
    ap.add_argument("--reference-chars", type=int, default=150)
    ap.add_argument("--pft-rows", type=int, default=92_858)
    a = ap.parse_args()
    total = 0.0
    for run, plan, cfg in plans(a.configfiles):
        if "openai" not in cfg["judge"]["use"]:
            continue
        n_eval = cfg["task"]["n_eval_prompts"]
        # `prompt`: the formatted query (judge.openai.post: query), ~120 characters more
        post = {"post": "x" * a.post_chars, "prompt": "x" * (a.post_chars + 120),
                "reference": "y" * a.reference_chars}  # fmt: skip
        est = estimate(
            cfg["judge"]["openai"], plan, [post] * n_eval, [post] * a.pft_rows,
            cfg["task"]["max_new_tokens"], pft_val=[post] * a.pft_rows,
            writer_max_tokens=cfg["task"].get("two_word_writer", {}).get("max_tokens", 16),
        )  # fmt: skip
        total += est["usd"]
        print(f"{run}: plan {plan}\n{message(est)}")
    print(f"all runs: at most ${total:,.2f}")


if __name__ == "__main__":
    sys.exit(main())
