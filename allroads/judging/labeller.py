"""The toy task's labeller as a judge: Bradley–Terry on the hidden reward r*.

The same noisy labeller that wrote the default preference data (toytask.label_pair, temperature
``task.toy.label_temperature``) plays gpt-4o's labelling role where the toy task needs a judge
to pick a winner between two samples (Figure 8): the candidate wins with probability
sigmoid((r*(candidate) − r*(other)) / T). Each comparison draws from its own seeded stream, so
labels do not depend on the order or the batch they come in.
"""

from __future__ import annotations

import hashlib
import math
import random

from ..toytask import true_reward
from .base import Comparison, Verdict


class LabellerJudge:
    name = "labeller"

    def __init__(self, temperature: float, seed: int) -> None:
        self.temperature = float(temperature)
        self.seed = int(seed)

    def judge(self, comparisons: list[Comparison]) -> list[Verdict]:
        out = []
        for c in comparisons:
            r_cand = true_reward(c.post, c.candidate)
            r_ref = true_reward(c.post, c.reference)
            z = max(-60.0, min(60.0, (r_cand - r_ref) / self.temperature))
            p_cand = 1.0 / (1.0 + math.exp(-z))
            key = hashlib.sha256(f"labeller\x1f{self.seed}\x1f{c.id}".encode()).digest()
            u = random.Random(int.from_bytes(key[:8], "little")).random()
            score = 1.0 if u < p_cand else 0.0
            meta = {"r_candidate": r_cand, "r_reference": r_ref, "p_candidate": p_cand}
            out.append(Verdict(c.id, c.prompt_id, score, meta=meta))
        return out
