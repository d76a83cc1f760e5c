"""The oracle judge: compares by the task's hidden reward r*; equal rewards tie (0.5)."""

from __future__ import annotations

from ..tasks.base import Task
from .base import Comparison, Verdict


class OracleJudge:
    name = "oracle"

    def __init__(self, task: Task) -> None:
        self.task = task

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        out = []
        for c in comparisons:
            r_cand = self.task.reward(c.post, c.candidate)
            r_ref = self.task.reward(c.post, c.reference)
            score = 1.0 if r_cand > r_ref else 0.0 if r_cand < r_ref else 0.5
            out.append(
                Verdict(
                    c.id, c.prompt_id, score, meta={"r_candidate": r_cand, "r_reference": r_ref}
                )
            )
        return out
