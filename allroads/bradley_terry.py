"""The toy tasks' noisy labeller: Bradley–Terry preferences on a hidden reward r*.

One concept shared by every task with a hidden reward (the facts task, the shortest-path task):
a labeller that prefers completion ``a`` over ``b`` with probability
sigmoid((r*(a) − r*(b)) / temperature), its many-sample form (a Plackett–Luce ranking) and the
labels' agreement with r*. Each function takes the task's ``reward(post, completion) -> float``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

Reward = Callable[[str, str], float]


def p_first(ra: float, rb: float, temperature: float) -> float:
    """P(the labeller prefers the completion of reward ``ra`` over that of ``rb``)."""
    z = max(-60.0, min(60.0, (ra - rb) / temperature))
    return 1.0 / (1.0 + math.exp(-z))


def label_pair(
    reward: Reward, judge_text: str, a: str, b: str, rng: random.Random, temperature: float
) -> tuple[str, str, bool]:
    """One labelled pair: ``(chosen, rejected, agrees_with_r*)`` (one draw from ``rng``)."""
    ra, rb = reward(judge_text, a), reward(judge_text, b)
    if rng.random() < p_first(ra, rb, temperature):
        return a, b, ra >= rb
    return b, a, rb >= ra


def labeller_scores(
    reward: Reward,
    judge_texts: list[str],
    completions: list[str],
    keys: list[str],
    temperature: float,
) -> list[float]:
    """The labeller as a ranker of many samples: r*/temperature + Gumbel(0, 1) noise per sample,
    drawn from ``random.Random(key)`` (deterministic per key; label_online keys it by seed, prompt
    and completion text, so copies of one text tie as they do under an RM).

    Sorting these scores draws a Plackett–Luce ranking with weights exp(r*/temperature); for two
    samples the first is preferred with probability sigmoid((r_a − r_b)/temperature), exactly
    :func:`label_pair`. So the top/bottom of a prompt's samples are what a verifier as noisy as
    the preference labels would pick (``online.ranker: labeller``)."""
    out = []
    for text, completion, key in zip(judge_texts, completions, keys, strict=True):
        u = random.Random(key).random()
        gumbel = -math.log(-math.log(max(u, 1e-300)))
        out.append(reward(text, completion) / temperature + gumbel)
    return out


def label_agreement(reward: Reward, rows: list[dict]) -> float:
    """Fraction of preference rows (with unequal r*) whose chosen side has the higher r*."""
    agree = total = 0
    for row in rows:
        rc, rr = reward(row["post"], row["chosen"]), reward(row["post"], row["rejected"])
        if rc != rr:
            total += 1
            agree += rc > rr
    return agree / total if total else float("nan")
