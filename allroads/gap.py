"""The online–offline gap against the task's gap knob (issue 20, beyond the paper).

Figure 3 pools every evaluation prompt. Here the same evaluation samples are split by the
task's gap knob per prompt (:meth:`allroads.tasks.base.Task.stratum`; the shortest-path task:
dist(s, t), the length of the route to write) and, per stratum, each of ``eval.comparisons``
[policy, baseline] gets the paired difference in mean r* (same prompt, same seed), averaged
over prompts then seeds, with a 95% paired-bootstrap interval over the stratum's prompts (the
same resample for every seed and policy: :func:`allroads.winrate.bootstrap`, reused as is) and
the per-seed means. The control run (config ``control``) is one more, pooled point.

The strata are post-hoc strata of one run's evaluation prompts, not a sweep of the knob: every
policy was trained on the same mixture of distances, and a stratum's prompts differ from
another's in more than the knob. Adjacent knob values are merged, low to high, until each
stratum has ``gap.min_prompts`` prompts (:func:`strata`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from . import winrate
from .io import DataError, read_jsonl
from .tasks import Task

CAPTION = (
    "The online–offline gap in mean r* per stratum of the task's gap knob: the paired "
    "difference policy − baseline on the same evaluation prompt and seed, averaged over the "
    "stratum's prompts then the seeds (dots: 95% paired-bootstrap interval over prompts; small "
    "crosses: each seed's mean). The strata are post-hoc strata of one run's evaluation prompts, "
    "not a sweep of the knob: every policy was trained on one mixture of queries. The control run "
    "(its own r* scale, its own axis) is pooled over its prompts."
)


@dataclass(frozen=True)
class Stratum:
    lo: int
    hi: int
    label: str

    def __contains__(self, value: int) -> bool:
        return self.lo <= value <= self.hi


def strata(values: Iterable[int], min_prompts: int) -> list[Stratum]:
    """Strata of the knob ``values`` (one per prompt): adjacent values merged, low to high,
    until each stratum holds ``min_prompts``; a shorter tail joins the last stratum (labelled
    ``≥lo``). Fewer than ``min_prompts`` in all: one stratum."""
    counts = Counter(values)
    if not counts:
        raise ValueError("no prompts to stratify")
    groups: list[list[int]] = []  # [lo, hi, n]
    cur: list[int] | None = None
    for v in sorted(counts):
        cur = [v, v, 0] if cur is None else cur
        cur[1], cur[2] = v, cur[2] + counts[v]
        if cur[2] >= min_prompts:
            groups.append(cur)
            cur = None
    if cur is not None:
        if groups:
            groups[-1][1], groups[-1][2] = cur[1], groups[-1][2] + cur[2]
        else:
            groups.append(cur)
    out = []
    for i, (lo, hi, _) in enumerate(groups):
        label = str(lo) if lo == hi else (f"≥{lo}" if i == len(groups) - 1 else f"{lo}–{hi}")
        out.append(Stratum(lo, hi, label))
    return out


def read_scores(
    task: Task, prompts_path: str, files: Sequence[tuple[str, int, str, str]]
) -> tuple[dict[str, str], list[dict]]:
    """The posts of the evaluation prompts (``{id: post}``) and r* of every evaluation
    sample: ``files`` are ``(size, seed, policy, samples file)``; rows ``{size, seed, policy,
    prompt_id, score}``, score the mean r* of the prompt's samples (one, at evaluation)."""
    posts = {r["id"]: r["post"] for r in read_jsonl(prompts_path, required=("id", "post"))}
    rows = []
    for size, seed, policy, path in files:
        by_prompt: dict[str, list[float]] = defaultdict(list)
        for i, s in enumerate(read_jsonl(path, required=("prompt_id", "completion"))):
            if s["prompt_id"] not in posts:
                raise DataError(
                    f"{path}: row {i + 1}: prompt_id {s['prompt_id']!r} is not in {prompts_path}"
                )
            by_prompt[s["prompt_id"]].append(task.reward(posts[s["prompt_id"]], s["completion"]))
        rows += [
            {"size": size, "seed": seed, "policy": policy, "prompt_id": p, "score": sum(r) / len(r)}
            for p, r in by_prompt.items()
        ]
    return posts, rows


def gap_table(
    records: Sequence[dict],
    comparisons: Sequence[Sequence[str]],
    stratum_of: Mapping[str, int] | None = None,
    min_prompts: int = 1,
    resamples: int = winrate.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = winrate.DEFAULT_LEVEL,
    run: str = "task",
) -> pd.DataFrame:
    """One row per (size, stratum, comparison whose two policies were evaluated): ``diff`` the
    mean over seeds of the per-seed mean paired difference, ``ci_low``/``ci_high`` its
    paired-bootstrap interval over the stratum's prompts, ``p_le_0``, ``se_seeds`` over the
    per-seed differences, ``seed_<s>`` each seed's, ``mean_policy``/``mean_baseline`` the two
    means. ``stratum_of``: prompt id -> knob value (None: one stratum, ``all``)."""
    df = pd.DataFrame(list(records))
    if stratum_of is None:
        groups = [(Stratum(-1, -1, "all"), df)]
    else:
        knob = df["prompt_id"].map(stratum_of)
        prompts = df.drop_duplicates("prompt_id")
        groups = [
            (s, df[knob.between(s.lo, s.hi)])
            for s in strata(prompts["prompt_id"].map(stratum_of), min_prompts)
        ]
    rows = []
    for order, (st, sub) in enumerate(groups):
        recs = sub.to_dict("records")
        boot = winrate.bootstrap(recs, resamples, seed)
        diffs = winrate.differences_table(boot, comparisons, level)
        per_seed = winrate.per_seed_table(recs).pivot(
            index=["size", "seed"], columns="policy", values="winrate"
        )
        for d in diffs.to_dict("records"):
            ps = per_seed.loc[d["size"]]
            delta = ps[d["policy"]] - ps[d["baseline"]]
            rows.append(
                {
                    "run": run,
                    "size": d["size"],
                    "stratum": st.label,
                    "order": order,
                    "lo": st.lo if stratum_of is not None else None,
                    "hi": st.hi if stratum_of is not None else None,
                    **{k: d[k] for k in ("policy", "baseline", "diff", "ci_low", "ci_high")},
                    **{k: d[k] for k in ("ci_level", "p_le_0", "n_prompts", "resamples")},
                    "se_seeds": winrate.se(delta),
                    "n_seeds": int(delta.notna().sum()),
                    "mean_policy": float(ps[d["policy"]].mean()),
                    "mean_baseline": float(ps[d["baseline"]].mean()),
                    **{f"seed_{s}": float(v) for s, v in delta.items()},
                }
            )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, knob: str, labels: Mapping[str, str]) -> str:
    """The gap table: a row per (run, size, stratum, comparison)."""
    seeds = [c for c in table.columns if c.startswith("seed_")]
    lvl = f"{table['ci_level'].iloc[0] * 100:.0f}%"
    head = ["run", "size", knob, "prompts", "policy − baseline", "Δ mean r*", f"{lvl} CI",
            "± SE(seeds)", "per seed", "share of draws Δ ≤ 0", "mean r* (policy / baseline)"]  # fmt: skip
    lines = [CAPTION, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.to_dict("records"):
        name = (
            f"{labels.get(r['policy'], r['policy'])} − {labels.get(r['baseline'], r['baseline'])}"
        )
        per = ", ".join(f"{r[c]:+.3f}" for c in seeds if not math.isnan(r[c]))
        se = "n/a" if math.isnan(r["se_seeds"]) else f"{r['se_seeds']:.3f}"
        lines.append(
            f"| {r['run']} | {r['size']} | {r['stratum']} | {r['n_prompts']} | {name} | "
            f"{r['diff']:+.3f} | [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] | {se} | {per} | "
            f"{r['p_le_0']:.3f} | {r['mean_policy']:.3f} / {r['mean_baseline']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def runs(plan, control) -> list[dict]:
    """What the figure reads, per run: this run's (``task``) and its control run's
    (``control``; ``control``: the control run's Plan, or None): the task config, the
    evaluation prompts, the samples files ``(size, seed, policy, path)`` of the policies its
    ``eval.comparisons`` name, those comparisons, and its label. A task without strata is a one-line error."""
    from .tasks import get_task

    task = get_task(plan.config["task"])  # cheap: loads nothing
    if task.strata is None:
        task.stratum("")  # its one-line TaskError, naming the task
    out = []
    for run, p in (("task", plan), ("control", control)):
        if p is None:
            continue
        evaluated = p.config["eval"]["policies"]
        policies = [x for c in p.config["eval"]["comparisons"] for x in c if x in evaluated]
        files = [
            (size, seed, policy, p.eval_file("samples", policy, size, seed))
            for size in p.sizes
            for seed in p.seeds
            for policy in dict.fromkeys(policies)
        ]
        label = "control run: " + p.R.rstrip("/").rsplit("/", 1)[-1] if run == "control" else run
        out.append(
            dict(run=run, task=p.config["task"], prompts=p.data("eval_prompts"), files=files,
                 comparisons=p.config["eval"]["comparisons"], label=label)
        )  # fmt: skip
    return out
