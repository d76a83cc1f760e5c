"""Winrate tables: ties count 0.5, invalid judgments are excluded and counted.

Per seed: mean and standard error over prompts. Across seeds: mean of the per-seed winrates and
their standard error over seeds (the paper's error bars), plus the pooled prompt-level SE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd


def _se(values: pd.Series) -> float:
    n = len(values)
    return float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def per_seed_table(records: Iterable[dict]) -> pd.DataFrame:
    """``records``: judgment rows with ``size, seed, policy, score`` (score None = invalid)."""
    df = pd.DataFrame(list(records))
    if df.empty:
        raise ValueError("no judgments to tabulate")
    df["valid"] = df["score"].notna()
    # the oracle judge also records the hidden reward r* of each summary
    has_r = (
        "meta" in df and df["meta"].map(lambda m: isinstance(m, dict) and "r_candidate" in m).all()
    )
    if has_r:
        df["r_candidate"] = df["meta"].map(lambda m: m["r_candidate"])
        df["r_reference"] = df["meta"].map(lambda m: m["r_reference"])
    rows = []
    for (size, policy, seed), g in df.groupby(["size", "policy", "seed"], sort=True):
        valid = g.loc[g["valid"], "score"].astype(float)
        rows.append(
            {
                "size": size,
                "policy": policy,
                "seed": seed,
                "winrate": float(valid.mean()) if len(valid) else float("nan"),
                "se_prompts": _se(valid),
                "n_valid": int(len(valid)),
                "n_invalid": int((~g["valid"]).sum()),
            }
        )
        if has_r:
            rows[-1]["true_reward"] = float(g["r_candidate"].mean())
            rows[-1]["reference_reward"] = float(g["r_reference"].mean())
    return pd.DataFrame(rows)


def summary_table(per_seed: pd.DataFrame, policy_order: list[str] | None = None) -> pd.DataFrame:
    """One row per (size, policy): mean ± SE over seeds, pooled SE over prompts, invalid count."""
    rows = []
    for (size, policy), g in per_seed.groupby(["size", "policy"], sort=True):
        w = g["winrate"].dropna()
        n = g["n_valid"].sum()
        # pooled SE over all prompts of all seeds, from the per-seed variances
        pooled_var = ((g["se_prompts"].fillna(0) ** 2) * g["n_valid"] * (g["n_valid"] - 1)).sum()
        pooled_mean = (g["winrate"].fillna(0) * g["n_valid"]).sum() / n if n else float("nan")
        between = (g["n_valid"] * (g["winrate"].fillna(0) - pooled_mean) ** 2).sum()
        pooled_se = math.sqrt((pooled_var + between) / (n - 1) / n) if n > 1 else float("nan")
        rows.append(
            {
                "size": size,
                "policy": policy,
                "winrate": float(w.mean()) if len(w) else float("nan"),
                "se_seeds": _se(w),
                "se_prompts": pooled_se,
                "n_seeds": int(len(g)),
                "n_valid": int(n),
                "n_invalid": int(g["n_invalid"].sum()),
            }
        )
        if "true_reward" in g:
            rows[-1]["true_reward"] = float(g["true_reward"].mean())
            rows[-1]["true_reward_se"] = _se(g["true_reward"])
            rows[-1]["reference_reward"] = float(g["reference_reward"].mean())
    out = pd.DataFrame(rows)
    if policy_order:
        rank = {p: i for i, p in enumerate(policy_order)}
        out = out.sort_values(
            ["size", "policy"], key=lambda s: s.map(rank) if s.name == "policy" else s
        )
    return out.reset_index(drop=True)


def to_markdown(table: pd.DataFrame, value: str = "winrate", percent: bool = True) -> str:
    """A markdown table with ``mean ± se`` columns (no tabulate dependency)."""
    scale = 100.0 if percent else 1.0
    unit = " (%)" if percent else ""
    cols = [
        "size",
        "policy",
        f"{value}{unit} ± SE(seeds)",
        "± SE(prompts)",
        "seeds",
        "valid",
        "invalid",
    ]
    has_r = "true_reward" in table
    if has_r:
        cols += ["true reward r* ± SE(seeds)", "reference r*"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        line = (
            f"| {r['size']} | {r['policy']} | {r[value] * scale:.1f} ± {r['se_seeds'] * scale:.1f} | "
            f"{r['se_prompts'] * scale:.1f} | {r['n_seeds']} | {r['n_valid']} | {r['n_invalid']} |"
        )
        if has_r:
            line += f" {r['true_reward']:.3f} ± {r['true_reward_se']:.3f} | {r['reference_reward']:.3f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"
