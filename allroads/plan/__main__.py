"""``python -m allroads.plan [--configfile FILE ...] [--config KEY=VALUE ...]``: what a run will
build (jobs per rule, the figures and their files) and what its OpenAI judge calls cost.

The config is selected as the workflow selects it (config.yaml unless files are named, merged
in order; ``--config`` values read as YAML) and validated the same way. The judge bill is
priced (allroads.judging.budget) once the task's data exist under ``<results>/data/``;
before that it lists the judge jobs per role.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ..config import ConfigError, apply_cli_config, config_source, merge_overlay, validate
from . import Plan

ROOT = Path(__file__).resolve().parents[2]


def load(configfiles: list[str], overrides: list[str]) -> tuple[dict, str]:
    files = configfiles or [str(ROOT / "config.yaml")]
    cfg: dict = {}
    for f in files:
        merge_overlay(cfg, yaml.safe_load(Path(f).read_text()) or {})
    source = config_source(configfiles)
    validate(cfg, source=source, cli=apply_cli_config(cfg, overrides))
    return cfg, source


def judge_bill(plan: Plan) -> str:
    """The priced bill when the data exist, else the judge jobs per role."""
    if not any(plan.judge_plan.values()):
        return "openai judge: not called by this run"
    from ..io import read_jsonl
    from ..judging.budget import estimate, message

    files = {s: Path(plan.raw_data(s)) for s in ("eval_prompts", "pft_train", "pft_val")}
    if not all(f.exists() for f in files.values()):
        roles = ", ".join(f"{r}: {e}" for r, e in plan.judge_plan.items())
        return (
            f"openai judge jobs per role ({roles}); priced once the data exist "
            f"(snakemake {plan.raw_data('eval_prompts')})"
        )
    rows = {s: read_jsonl(f) for s, f in files.items()}
    writer = plan.config["task"]["two_word_writer"].get("max_tokens", 16)
    est = estimate(
        plan.config["judge"].get("openai", {}),
        plan.judge_plan,
        rows["eval_prompts"],
        rows["pft_train"],
        plan.config["task"]["max_new_tokens"],
        pft_val=rows["pft_val"],
        writer_max_tokens=writer,
    )
    return message(est)


def describe(plan: Plan) -> str:
    counts = plan.job_counts()
    lines = [
        f"results: {plan.R}",
        f"sizes: {', '.join(plan.sizes)}; seeds: {plan.seeds}; variant seeds: "
        f"{plan.variant_seeds}; judges: {', '.join(plan.judges)}",
        "figures:",
    ]
    for fig in plan.figures:
        where = " (the control run)" if fig not in plan.built else ""
        lines.append(f"  {fig} [{plan.fig_kind(fig)}]{where}: ")
        lines[-1] += ", ".join(Path(t).name for t in plan.figure_targets(fig) if "figures/" in t)
    lines.append(f"jobs per rule ({sum(counts.values())} in all):")
    width = max(map(len, counts))
    lines += [f"  {rule:<{width}}  {n}" for rule, n in sorted(counts.items())]
    lines.append(judge_bill(plan))
    if plan.control:  # Figure 5's run has its own bill (rule control_judge_budget)
        control = Plan(plan.control_config(str(ROOT), "config"), in_module=True)
        lines.append(f"the control run ({plan.control_r}): {judge_bill(control)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m allroads.plan", description=__doc__.split("\n")[0])
    ap.add_argument("--configfile", nargs="+", default=[], help="config file(s), merged in order")
    ap.add_argument("--config", nargs="+", default=[], help="KEY=VALUE overrides (YAML values)")
    a = ap.parse_args(argv)
    try:
        cfg, _ = load(a.configfile, a.config)
    except (ConfigError, OSError) as e:
        print(e, file=sys.stderr)
        return 1
    print(describe(Plan(cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
