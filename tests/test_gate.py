"""The gate's ranker metrics on hand-made samples whose r* is known."""

import math

import pytest

from allroads.gate import ranker_gate

REWARD = {" a": 1.0, " b": 0.5, " c": 0.0, " d": 0.0}
POSTS = {"p1": "post", "p2": "post"}


def reward(post, completion):
    return REWARD[completion]


def samples():
    rows = []
    for pid, texts in (("p1", [" a", " b", " c"]), ("p2", [" c", " d", " c"])):
        rows += [{"prompt_id": pid, "sample_idx": i, "completion": c, "truncated": False}
                 for i, c in enumerate(texts)]  # fmt: skip
    return rows


def test_a_perfect_ranker_gains_what_the_oracle_gains():
    s = samples()
    m = ranker_gate(s, [reward("", r["completion"]) for r in s], POSTS, reward)
    assert m["rstar_agree"] == 1.0 and m["bok_gain_share"] == pytest.approx(1.0)
    assert m["rstar_tie_share"] == 0.5  # p2's samples all have r* 0: no headroom
    assert m["tie_share"] == 0.5  # p2's top and bottom score alike
    assert m["bok_rstar_oracle"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["bok_rstar_mean"] == pytest.approx((0.5 + 0.0) / 2)


def test_a_reversed_ranker_loses_and_a_constant_one_ties_everywhere():
    s = samples()
    rev = ranker_gate(s, [-reward("", r["completion"]) for r in s], POSTS, reward)
    assert rev["rstar_agree"] == 0.0 and rev["bok_gain_share"] == pytest.approx(-1.0)
    const = ranker_gate(s, [0.0] * len(s), POSTS, reward)
    assert const["tie_share"] == 1.0 and math.isnan(const["rstar_agree"])


def test_a_truncated_sample_is_never_the_pick():
    s = samples()
    s[0]["truncated"] = True  # p1's best sample ran out of tokens
    m = ranker_gate(s, [reward("", r["completion"]) for r in s], POSTS, reward)
    assert m["bok_rstar_pick"] == pytest.approx((0.5 + 0.0) / 2)
    assert not math.isnan(m["bok_gain_share"])
