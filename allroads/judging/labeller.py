"""A task's labeller as a judge: Bradley–Terry on the hidden reward r*.

The same noisy labeller that wrote the toy task's preference data (:mod:`allroads.bradley_terry`, at
the task's :attr:`~allroads.tasks.Task.label_temperature`) plays gpt-4o's labelling role where the toy task needs a judge
to pick a winner between two samples (Figure 8): the candidate wins with probability
sigmoid((r*(candidate) − r*(other)) / T). Each comparison draws from its own seeded stream, so
labels do not depend on the order or the batch they come in.
"""

from __future__ import annotations

import hashlib
import random

from ..bradley_terry import p_first
from ..tasks.base import Task
from .base import Comparison, Verdict


class LabellerJudge:
    name = "labeller"

    def __init__(self, task: Task, temperature: float, seed: int) -> None:
        self.task = task
        self.temperature = float(temperature)
        self.seed = int(seed)

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        out = []
        for c in comparisons:
            r_cand = self.task.reward(c.post, c.candidate)
            r_ref = self.task.reward(c.post, c.reference)
            p_cand = p_first(r_cand, r_ref, self.temperature)
            key = hashlib.sha256(f"labeller\x1f{self.seed}\x1f{c.id}".encode()).digest()
            u = random.Random(int.from_bytes(key[:8], "little")).random()
            score = 1.0 if u < p_cand else 0.0
            meta = {"r_candidate": r_cand, "r_reference": r_ref, "p_candidate": p_cand}
            out.append(Verdict(c.id, c.prompt_id, score, meta=meta))
        return out
