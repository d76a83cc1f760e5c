"""What the facts toy's diagnostics ask of r*: minimal pairs that test one of its checks each
(:func:`check_pairs`) and which check tells two samples apart (:func:`slip_kind`)."""

from __future__ import annotations

import random

from .posts import canonical, parse_post, read_judge_post, say
from .reward import reward_terms, true_reward

CHECKS = ("order", "drop", "distractor", "wrong_object", "repeat")


def check_pairs(rows: list[dict]) -> list[dict]:
    """Minimal pairs that test one check of r* each: for every row (``id``, ``prompt``,
    ``post``), the perfect summary (``chosen``) against the same summary with one slip
    (``rejected``), tagged ``kind``:

    - ``order``: the topic's facts in reverse canonical order (posts with 2+ facts);
    - ``drop``: one fact left out; ``distractor``: one fact replaced by a distractor's fact;
    - ``wrong_object``: one fact's object replaced by another object of the post;
    - ``repeat``: one fact said twice.

    The slip is drawn from ``random.Random(row id)``; a pair is kept only where r* prefers the
    perfect side. Scoring both sides with a model tells which of r*'s checks it has learned:
    the verifier's (global RM) against the generator's (a DPO policy's implicit reward)."""
    out = []
    for row in rows:
        topic, two_word, body = read_judge_post(row["post"])
        facts = parse_post(body)
        sal = canonical([(r, o) for s, r, o in facts if s == topic])
        dis = [(r, o) for s, r, o in facts if s != topic]
        rng = random.Random(row["id"])
        i = rng.randrange(len(sal))
        objects = [o for _, _, o in facts if o != sal[i][1]] or [sal[i][1]]  # else: no slip
        slips = {
            "order": sal[::-1],
            "drop": sal[:i] + sal[i + 1 :],
            "distractor": sal[:i] + [rng.choice(dis)] + sal[i + 1 :] if dis else sal,
            "wrong_object": sal[:i] + [(sal[i][0], rng.choice(objects))] + sal[i + 1 :],
            "repeat": sal + [sal[i]],
        }
        lead = [] if two_word else [topic]
        good = say(lead + [w for f in (sal[:1] if two_word else sal) for w in f])
        for kind in CHECKS:
            bad = say(lead + [w for f in slips[kind] for w in f])
            if true_reward(row["post"], good) > true_reward(row["post"], bad):
                out.append({**{k: row[k] for k in ("id", "prompt", "post")}, "kind": kind,
                            "chosen": good, "rejected": bad})  # fmt: skip
    return out


SLIPS = ("order", "drop", "distractor", "wrong_object", "repeat", "added_distractor", "other")


def _slip_terms(post: str, summary: str) -> dict[str, int]:
    """The terms of r* (:func:`~allroads.toytask.reward.reward_terms`) that tell slips apart:
    facts of the topic and of others said (first mentions and repeats alike), words absent
    from the post, length, any repeated word pair, facts in order, the topic first."""
    t = reward_terms(post, summary)
    return {
        "salient": len(t.covered),
        "distractor": t.distractors + t.distractor_repeats,
        "absent": t.absent,
        "length": t.length,
        "repeat": t.repeats,
        "in_order": t.in_order,
        "topic_first": int(t.topic_first),
    }


def slip_kind(post: str, a: str, b: str) -> str:
    """Which of r*'s checks tells summaries ``a`` and ``b`` apart, in the terms of
    :data:`CHECKS` (one of :data:`SLIPS`): what two samples of one policy differ in. A swap of
    a topic fact for a distractor's is ``distractor``, one topic fact fewer (and shorter)
    ``drop``, a topic fact against a non-fact of the same length ``wrong_object``, the same
    facts in another order ``order``, a repeated fact ``repeat``, an extra distractor's fact
    ``added_distractor``; anything else (several slips at once, words absent from the post, the
    topic not named first) is ``other``."""
    pa, pb = _slip_terms(post, a), _slip_terms(post, b)
    diff = frozenset(k for k in pa if pa[k] != pb[k])
    if "repeat" in diff:
        return "repeat"
    return {
        frozenset({"in_order"}): "order",
        frozenset({"salient", "length"}): "drop",
        frozenset({"salient", "in_order", "length"}): "drop",
        frozenset({"salient", "distractor"}): "distractor",
        frozenset({"salient", "distractor", "in_order"}): "distractor",
        frozenset({"salient"}): "wrong_object",
        frozenset({"salient", "in_order"}): "wrong_object",
        frozenset({"distractor", "length"}): "added_distractor",
    }.get(diff, "other")
