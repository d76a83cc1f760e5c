"""The oracle judge: compares by the toy task's hidden reward r*; equal rewards tie (0.5)."""

from __future__ import annotations

from ..toytask import true_reward
from .base import Comparison, Verdict


class OracleJudge:
    name = "oracle"

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        out = []
        for c in comparisons:
            r_cand = true_reward(c.post, c.candidate)
            r_ref = true_reward(c.post, c.reference)
            score = 1.0 if r_cand > r_ref else 0.0 if r_cand < r_ref else 0.5
            out.append(
                Verdict(
                    c.id, c.prompt_id, score, meta={"r_candidate": r_cand, "r_reference": r_ref}
                )
            )
        return out
