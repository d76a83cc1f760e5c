"""The judge bill of a config's plan, before any data exist (issue 21's before / after).

    PYTHONPATH=. python bench/judge_bill.py config/paper.yaml [overlay.yaml ...]

Loads the workflow (Snakemake's API, no job runs) for its ``JUDGE_PLAN`` (rules/common.smk:
judge jobs per role) and the control run's (Figure 5) where there is one, and prices them with
allroads.judging.budget.estimate, the rule judge_budget's own pricing, on stand-in posts:
``--post-chars`` characters per post (TL;DR's order of magnitude) and ``--reference-chars``
per reference, ``--pft-rows`` PFT train rows. The real bill is printed by rule judge_budget
from the real posts before any call.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from allroads.judging.budget import estimate, message

ROOT = Path(__file__).resolve().parent.parent


def plans(configfiles: list[str]) -> list[tuple[str, dict, dict]]:
    """[(run, plan, config)] of the main run and of its control module, if any."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with tempfile.TemporaryDirectory() as tmp, SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(
                configfiles=[Path(f).resolve() for f in configfiles],
                config={"results": f"{tmp}/run"},
            ),
            snakefile=ROOT / "Snakefile",
        )._workflow
        g = wf.globals
        out = [("main", dict(g["JUDGE_PLAN"]), wf.config)]
        if g.get("CONTROL"):
            ctl = g["control_config"]()
            out.append(("control (Figure 5)", _control_plan(ctl), ctl))
        return out


def _control_plan(cfg: dict) -> dict:
    """The control run's plan, from a second workflow load of its config."""
    import yaml

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump({k: v for k, v in cfg.items() if k != "_source"}, f)
    try:
        return plans([f.name])[0][1]
    finally:
        Path(f.name).unlink()


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
        post = {"post": "x" * a.post_chars, "reference": "y" * a.reference_chars}
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
