"""Best-of-N: an RM's pick among the first N samples of each prompt, and the tables of
Figures 4 and 10 built from the judged picks.

One sample set per (policy, prompts, n, T) serves every RM and every N: for N < n the
candidates are the N samples with the lowest ``sample_idx`` (the first N drawn), so the pick
for a larger N never ignores a sample the smaller N saw. Standard library and pandas only: the
judge and table jobs never import torch.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence


def best_of_n(samples: list[dict], scores: Sequence[float], ns: Sequence[int]):
    """``{N: {prompt_id: sample}}``: per prompt, the highest-scoring of its first N samples
    (lowest ``sample_idx``); equal scores go to the lower index. A prompt with fewer than
    max(ns) samples is an error naming it."""
    by_prompt: dict[str, list[tuple[int, float, dict]]] = defaultdict(list)
    for s, sc in zip(samples, scores, strict=True):
        by_prompt[s["prompt_id"]].append((int(s["sample_idx"]), float(sc), s))
    need = max(ns)
    out: dict[int, dict[str, dict]] = {n: {} for n in ns}
    for pid, items in sorted(by_prompt.items()):
        items.sort(key=lambda t: t[0])
        if len(items) < need:
            raise ValueError(f"prompt {pid!r} has {len(items)} samples, Best-of-{need} needs more")
        for n in ns:
            best = max(items[:n], key=lambda t: t[1])  # max keeps the first of equal scores
            out[n][pid] = best[2]
    return out


def comparison_id(prompt_id: str, text: str) -> str:
    """One judged comparison per distinct (prompt, summary): the picks of many RMs and Ns
    repeat each other, and the judge (and its reply cache) sees each pair once."""
    return f"{prompt_id}|{hashlib.sha1(text.encode()).hexdigest()[:16]}"


def policy_label(gen: str, rm_label: str, n: int) -> str:
    """The ``policy`` column of a BoN judgment: generator, RM (``kind@size``) and N."""
    return f"{gen}/{rm_label}/N{n}"


def parse_label(label: str) -> dict:
    gen, rm, n = label.split("/")
    kind, rm_size = rm.split("@")
    return {"generator": gen, "rm": kind, "rm_size": rm_size, "n": int(n[1:])}


def select_rows(records: list[dict], sizes, generators, kinds, ns, same_size: bool):
    """The judgment rows one figure uses: Figure 10 (``same_size``: RM size = policy size),
    Figure 4 (every global RM size)."""
    out = []
    for r in records:
        lab = parse_label(r["policy"])
        if (
            r["size"] in sizes
            and lab["generator"] in generators
            and lab["rm"] in kinds
            and lab["n"] in ns
            and (not same_size or lab["rm_size"] == r["size"])
        ):
            out.append(r)
    return out


def expand_labels(table):
    """Split a winrate table's ``policy`` label into generator, rm, rm_size, n columns."""
    import pandas as pd

    parts = pd.DataFrame([parse_label(p) for p in table["policy"]], index=table.index)
    out = pd.concat([table.drop(columns="policy"), parts], axis=1)
    first = ["size", "generator", "rm", "rm_size", "n"]
    out = out[first + [c for c in out.columns if c not in first]]
    return out.sort_values(first).reset_index(drop=True)


def to_markdown(table, title: str) -> str:
    has_r = "true_reward" in table
    cols = ["policy size", "generator", "RM", "RM size", "N", "winrate (%) ± SE(seeds)"]
    cols += ["95% CI (prompts)", "seeds", "invalid"] + (["r* ± SE(seeds)"] if has_r else [])
    lines = [title, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        line = (
            f"| {r['size']} | {r['generator']} | {r['rm']} | {r['rm_size']} | {r['n']} | "
            f"{100 * r['winrate']:.1f} ± {100 * r['se_seeds']:.1f} | "
            f"[{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}] | {r['n_seeds']} | "
            f"{r['n_invalid']} |"
        )
        if has_r:
            line += f" {r['true_reward']:.3f} ± {r['true_reward_se']:.3f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"
