"""Winrate tables: ties count 0.5, invalid judgments are excluded and counted.

Per seed: mean over prompts (and its SE, prompts being independent within one seed). Across
seeds: the mean of the per-seed winrates and their standard error over seeds (the paper's
error bars), plus a **paired bootstrap over prompts** for 95% intervals.

Why a bootstrap and not a pooled SE: every seed and every policy is judged on the *same*
evaluation prompts, so their scores are correlated through the prompts (an easy prompt is won
by every policy in every seed). Pooling seeds as if they were independent prompts understates
the uncertainty of a winrate, and comparing two policies' separate intervals overstates that
of their difference. :func:`bootstrap` resamples prompts with replacement, the same resample
for every seed and every policy, recomputes each policy's winrate (mean over seeds of the
per-seed winrate) and each difference between two policies on it, and reads percentile
intervals off the draws. It treats the seeds as given: their spread is the SE(seeds) column.
numpy has no paired multi-column bootstrap over a shared unit (scipy.stats.bootstrap resamples
each sample on its own, or needs equal-length paired samples per statistic), hence ~20 lines.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 2000
DEFAULT_LEVEL = 0.95
# Figure 3's claims: online DPO beats offline DPO at the same number of gradient steps
# (online-sft vs dpo, online-dpo vs dpo2x), and the RM improves the DPO policy (online-dpo vs dpo)
DEFAULT_COMPARISONS = (("online-sft", "dpo"), ("online-dpo", "dpo2x"), ("online-dpo", "dpo"))


def se(values: pd.Series) -> float:
    """Standard error of the mean of ``values`` (sample s.d. / sqrt(n)) over its non-missing
    entries; NaN with fewer than two."""
    v = values.dropna()
    return float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")


def _frame(records: Iterable[dict]) -> pd.DataFrame:
    df = pd.DataFrame(list(records))
    if df.empty:
        raise ValueError("no judgments to tabulate")
    df["valid"] = df["score"].notna()
    return df


def _format_retries(meta) -> int:
    return int(meta.get("format_retries", 0) or 0) if isinstance(meta, dict) else 0


def per_seed_table(records: Iterable[dict]) -> pd.DataFrame:
    """``records``: judgment rows with ``size, seed, policy, score`` (score None = invalid)."""
    df = _frame(records)
    # the oracle judge also records the hidden reward r* of each summary
    has_r = (
        "meta" in df and df["meta"].map(lambda m: isinstance(m, dict) and "r_candidate" in m).all()
    )
    if has_r:
        df["r_candidate"] = df["meta"].map(lambda m: m["r_candidate"])
        df["r_reference"] = df["meta"].map(lambda m: m["r_reference"])
    df["format_retries"] = df["meta"].map(_format_retries) if "meta" in df else 0
    rows = []
    for (size, policy, seed), g in df.groupby(["size", "policy", "seed"], sort=True):
        valid = g.loc[g["valid"], "score"].astype(float)
        rows.append(
            {
                "size": size,
                "policy": policy,
                "seed": seed,
                "winrate": float(valid.mean()) if len(valid) else float("nan"),
                "se_prompts": se(valid),
                "n_valid": int(len(valid)),
                "n_invalid": int((~g["valid"]).sum()),
                "n_retried": int((g["format_retries"] > 0).sum()),
                "n_retries": int(g["format_retries"].sum()),
            }
        )
        if has_r:
            rows[-1]["true_reward"] = float(g["r_candidate"].mean())
            rows[-1]["reference_reward"] = float(g["r_reference"].mean())
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- bootstrap


@dataclass
class Bootstrap:
    """Bootstrap draws of one model size: ``draws[b, j]`` = winrate of ``policies[j]`` on
    resample b; ``point[j]`` = the winrate on the prompts as judged."""

    size: str
    policies: list[str]
    point: np.ndarray
    draws: np.ndarray
    n_prompts: int

    def interval(self, values: np.ndarray, level: float) -> tuple[float, float]:
        a = (1 - level) / 2 * 100
        lo, hi = np.nanpercentile(values, [a, 100 - a])
        return float(lo), float(hi)


def score_array(df: pd.DataFrame) -> tuple[list, list, list, np.ndarray]:
    """(prompts, seeds, policies, S) with S[prompt, seed, policy] the score, NaN if invalid or
    missing. Duplicate judgments of one (seed, policy, prompt) are an error."""
    dup = df.duplicated(["seed", "policy", "prompt_id"])
    if dup.any():
        r = df[dup].iloc[0]
        raise ValueError(
            f"two judgments of prompt {r['prompt_id']!r} for policy {r['policy']!r}, seed "
            f"{r['seed']} (size {r['size']}): each judgment file must be judged once"
        )
    prompts = sorted(df["prompt_id"].unique())
    seeds = sorted(df["seed"].unique())
    policies = sorted(df["policy"].unique())
    s = np.full((len(prompts), len(seeds), len(policies)), np.nan)
    pi = {p: i for i, p in enumerate(prompts)}
    si = {x: i for i, x in enumerate(seeds)}
    qi = {x: i for i, x in enumerate(policies)}
    v = df[df["valid"]]
    s[v["prompt_id"].map(pi), v["seed"].map(si), v["policy"].map(qi)] = v["score"].astype(float)
    return prompts, seeds, policies, s


def winrate_draws(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Winrates under prompt weights: ``scores`` (P, seeds, policies) with NaN = invalid,
    ``counts`` (B, P) how often each prompt is drawn. Returns (B, policies): per seed the mean of
    the valid drawn scores, then the mean over seeds."""
    valid = ~np.isnan(scores)
    p, n_seeds, n_pol = scores.shape
    sums = counts @ np.where(valid, scores, 0.0).reshape(p, -1)
    n = counts @ valid.reshape(p, -1).astype(float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a seed with no valid drawn prompt
        per_seed = (sums / n).reshape(-1, n_seeds, n_pol)
        return np.nanmean(per_seed, axis=1)


def bootstrap(
    records: Iterable[dict], resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> dict[str, Bootstrap]:
    """Paired bootstrap over prompts, one per model size (see the module docstring).

    Each resample draws P prompts with replacement (multinomial counts) and weights every
    seed's and every policy's judgment of a prompt by its count: prompts are resampled jointly
    across seeds and policies. Deterministic in ``seed``.
    """
    df = _frame(records)
    if "prompt_id" not in df:
        raise ValueError("judgment rows lack prompt_id: the bootstrap resamples prompts")
    rng = np.random.default_rng(seed)
    out = {}
    for size, g in df.groupby("size", sort=True):
        prompts, _, policies, s = score_array(g)
        p = len(prompts)
        counts = rng.multinomial(p, np.full(p, 1.0 / p), size=resamples).astype(float)
        point = winrate_draws(s, np.ones((1, p)))[0]
        out[size] = Bootstrap(size, policies, point, winrate_draws(s, counts), p)
    return out


# --------------------------------------------------------------------------- tables


def summary_table(
    per_seed: pd.DataFrame,
    policy_order: list[str] | None = None,
    boot: dict[str, Bootstrap] | None = None,
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """One row per (size, policy): mean ± SE over seeds, the bootstrap interval over prompts
    (``ci_low``, ``ci_high``; with ``boot``), valid / invalid / re-asked counts, r*."""
    rows = []
    for (size, policy), g in per_seed.groupby(["size", "policy"], sort=True):
        w = g["winrate"].dropna()
        rows.append(
            {
                "size": size,
                "policy": policy,
                "winrate": float(w.mean()) if len(w) else float("nan"),
                "se_seeds": se(w),
                "n_seeds": int(len(g)),
                "n_valid": int(g["n_valid"].sum()),
                "n_invalid": int(g["n_invalid"].sum()),
                "n_retried": int(g["n_retried"].sum()) if "n_retried" in g else 0,
                "n_retries": int(g["n_retries"].sum()) if "n_retries" in g else 0,
            }
        )
        if boot is not None:
            b = boot[size]
            lo, hi = b.interval(b.draws[:, b.policies.index(policy)], level)
            rows[-1].update(ci_low=lo, ci_high=hi, ci_level=level)
        if "true_reward" in g:
            rows[-1]["true_reward"] = float(g["true_reward"].mean())
            rows[-1]["true_reward_se"] = se(g["true_reward"])
            rows[-1]["reference_reward"] = float(g["reference_reward"].mean())
    out = pd.DataFrame(rows)
    if policy_order:
        rank = {p: i for i, p in enumerate(policy_order)}
        out = out.sort_values(
            ["size", "policy"], key=lambda s: s.map(rank) if s.name == "policy" else s
        )
    return out.reset_index(drop=True)


def differences_table(
    boot: dict[str, Bootstrap],
    comparisons: Sequence[Sequence[str]] = DEFAULT_COMPARISONS,
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """Winrate(policy) − winrate(baseline) with its own paired-bootstrap interval, for every
    comparison whose two policies were judged; ``p_le_0`` = share of draws with Δ ≤ 0."""
    rows = []
    for size, b in boot.items():
        for policy, baseline in comparisons:
            if policy not in b.policies or baseline not in b.policies:
                continue
            i, j = b.policies.index(policy), b.policies.index(baseline)
            d = b.draws[:, i] - b.draws[:, j]
            lo, hi = b.interval(d, level)
            rows.append(
                {
                    "size": size,
                    "policy": policy,
                    "baseline": baseline,
                    "diff": float(b.point[i] - b.point[j]),
                    "ci_low": lo,
                    "ci_high": hi,
                    "ci_level": level,
                    "p_le_0": float(np.mean(d[~np.isnan(d)] <= 0)),
                    "n_prompts": b.n_prompts,
                    "resamples": len(d),
                }
            )
    cols = ["size", "policy", "baseline", "diff", "ci_low", "ci_high", "ci_level", "p_le_0"]
    return pd.DataFrame(rows, columns=cols + ["n_prompts", "resamples"])


def to_markdown(
    table: pd.DataFrame,
    diffs: pd.DataFrame | None = None,
    value: str = "winrate",
    percent: bool = True,
) -> str:
    """Markdown tables (no tabulate dependency): winrates with their intervals, then the
    differences between policies."""
    scale = 100.0 if percent else 1.0
    unit = " (%)" if percent else ""
    has_ci = "ci_low" in table
    level = f"{table['ci_level'].iloc[0] * 100:.0f}%" if has_ci else ""
    cols = ["size", "policy", f"{value}{unit} ± SE(seeds)"]
    cols += [f"{level} CI (paired bootstrap, prompts)"] if has_ci else []
    cols += ["seeds", "valid", "invalid", "re-asked"]
    has_r = "true_reward" in table
    if has_r:
        cols += ["true reward r* ± SE(seeds)", "reference r*"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        line = f"| {r['size']} | {r['policy']} | {r[value] * scale:.1f} ± "
        line += "n/a |" if math.isnan(r["se_seeds"]) else f"{r['se_seeds'] * scale:.1f} |"
        if has_ci:
            line += f" [{r['ci_low'] * scale:.1f}, {r['ci_high'] * scale:.1f}] |"
        line += f" {r['n_seeds']} | {r['n_valid']} | {r['n_invalid']} | {r.get('n_retried', 0)} |"
        if has_r:
            se = r["true_reward_se"]
            line += f" {r['true_reward']:.3f} ± {'n/a' if math.isnan(se) else f'{se:.3f}'} |"
            line += f" {r['reference_reward']:.3f} |"
        lines.append(line)
    out = "\n".join(lines) + "\n"
    if diffs is not None and len(diffs):
        pts = " (points)" if percent else ""
        lvl = f"{diffs['ci_level'].iloc[0] * 100:.0f}%"
        out += (
            f"\nDifferences, paired bootstrap over prompts ({int(diffs['resamples'].iloc[0])} "
            f"resamples, {int(diffs['n_prompts'].iloc[0])} prompts, same resample for every seed "
            f"and policy):\n\n"
            f"| size | policy − baseline | Δ {value}{pts} | {lvl} CI | share of draws Δ ≤ 0 |\n"
            "|---|---|---|---|---|\n"
        )
        for r in diffs.to_dict("records"):
            out += (
                f"| {r['size']} | {r['policy']} − {r['baseline']} | {r['diff'] * scale:+.1f} | "
                f"[{r['ci_low'] * scale:+.1f}, {r['ci_high'] * scale:+.1f}] | {r['p_le_0']:.3f} |\n"
            )
    return out
