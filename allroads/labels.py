"""The Bradley–Terry labeller on a task's hidden reward r*: who writes a toy task's preference
labels, ranks samples as a noisy verifier (``online.ranker: labeller``) and judges pairs
(:class:`allroads.judging.labeller.LabellerJudge`).

Any task with a hidden reward (:attr:`allroads.tasks.Task.has_reward`) labels through these
functions, with its own r* and temperature (``task.<options>.label_temperature``): summary ``a``
is preferred to ``b`` with probability sigmoid((r*(a) − r*(b)) / temperature).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

Reward = Callable[[str, str], float]  # r*(judge-visible post, completion)


def preference(r_a: float, r_b: float, temperature: float) -> float:
    """P(a preferred to b) = sigmoid((r_a − r_b) / temperature), the exponent clipped at ±60."""
    z = max(-60.0, min(60.0, (r_a - r_b) / temperature))
    return 1.0 / (1.0 + math.exp(-z))


def label_pair(
    reward: Reward, post: str, a: str, b: str, rng: random.Random, temperature: float
) -> tuple[str, str, bool]:
    """One Bradley–Terry label of ``a`` against ``b``: ``(chosen, rejected, agrees_with_r*)``."""
    ra, rb = reward(post, a), reward(post, b)
    if rng.random() < preference(ra, rb, temperature):
        return a, b, ra >= rb
    return b, a, rb >= ra


def labeller_scores(
    reward: Reward, posts: list[str], completions: list[str], keys: list[str], temperature: float
) -> list[float]:
    """The labeller as a ranker of many samples: r*/temperature + Gumbel(0, 1) noise per sample,
    drawn from ``random.Random(key)`` (deterministic per key; label_online keys it by seed, prompt
    and completion text, so copies of one text tie as they do under an RM).

    Sorting these scores draws a Plackett–Luce ranking with weights exp(r*/temperature); for two
    samples the first is preferred with probability sigmoid((r_a − r_b)/temperature), exactly
    :func:`label_pair`. So the top/bottom of a prompt's samples are what a verifier as noisy as
    the preference labels would pick (``online.ranker: labeller``)."""
    out = []
    for post, completion, key in zip(posts, completions, keys, strict=True):
        u = random.Random(key).random()
        gumbel = -math.log(-math.log(max(u, 1e-300)))
        out.append(reward(post, completion) / temperature + gumbel)
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
