"""Evaluation glue: turn samples into comparisons against the reference and judge them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .judging import Comparison, make_judge

if TYPE_CHECKING:
    from .tasks.base import Task


def comparisons(prompts: list[dict], samples: list[dict]) -> list[Comparison]:
    """One comparison per evaluation prompt (the sample with the lowest index)."""
    by_prompt: dict[str, dict] = {}
    for s in samples:
        if s["prompt_id"] not in by_prompt or s.get("sample_idx", 0) < by_prompt[
            s["prompt_id"]
        ].get("sample_idx", 0):
            by_prompt[s["prompt_id"]] = s
    missing = [p["id"] for p in prompts if p["id"] not in by_prompt]
    if missing:
        raise ValueError(f"samples lack {len(missing)} evaluation prompts, e.g. {missing[:3]}")
    return [
        Comparison(
            id=p["id"],
            prompt_id=p["id"],
            post=p["post"],
            candidate=by_prompt[p["id"]]["completion"],
            reference=p["reference"],
        )  # fmt: skip
        for p in prompts
    ]


def judge_samples(
    judge_name: str, judge_cfg: dict, prompts: list[dict], samples: list[dict], *, seed: int,
    workdir: str | None = None, tags: dict | None = None, task: Task | None = None,
) -> list[dict]:  # fmt: skip
    """Judge rows of each prompt's sample against its reference (``task``: the oracle's and the
    labeller's hidden reward; see :func:`allroads.judging.make_judge`)."""
    comps = comparisons(prompts, samples)
    judge = make_judge(judge_name, judge_cfg, seed=seed, workdir=workdir, task=task)
    verdicts = judge.judge(comps)
    rows = []
    for c, v in zip(comps, verdicts, strict=True):
        row = v.to_row()
        row.update(candidate=c.candidate, **(tags or {}))
        rows.append(row)
    return rows
