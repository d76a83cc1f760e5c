"""The gate's ranker metrics on hand-made samples whose r* is known."""

import math

import pytest

from allroads.gate import gate_metrics, ranker_gate

REWARD = {" a": 1.0, " b": 0.5, " c": 0.0, " d": 0.0}
POSTS = {"p1": "post", "p2": "post"}


def reward(post, completion):
    return REWARD[completion]


IDS = {" a": [1], " b": [2], " c": [3], " d": [4]}  # the completions' tokens as drawn
PROMPT_IDS = {"p1": [10, 11], "p2": [20]}


def samples():
    rows = []
    for pid, texts in (("p1", [" a", " b", " c"]), ("p2", [" c", " d", " c"])):
        rows += [{"prompt_id": pid, "sample_idx": i, "completion": c, "completion_ids": IDS[c],
                  "truncated": False} for i, c in enumerate(texts)]  # fmt: skip
    return rows


class TokenRanker:
    """A ranker over token ids (the interface of allroads.reward_models): ``sign`` · r* of the
    completion its ids spell; it records the (prompt, completion) tokens it was given."""

    def __init__(self, sign: float):
        self.sign, self.seen = sign, []
        self.text = {tuple(v): k for k, v in IDS.items()}

    def score(self, prompt_ids, completion_ids):
        self.seen += [(tuple(p), tuple(c)) for p, c in zip(prompt_ids, completion_ids, strict=True)]
        return [self.sign * reward("", self.text[tuple(c)]) for c in completion_ids]


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


def test_the_diagnostics_gate_scores_each_sample_on_its_prompt_and_names_each_ranker():
    """Rule diagnose's gate: a ranker equal to r* gets agreement 1 and the oracle's whole gain,
    its reverse agreement 0 and the negative gain; each sample is scored as drawn, after the
    tokens of its own prompt."""
    s = samples()
    made = {"rm": TokenRanker(1.0), "dpo": TokenRanker(-1.0)}
    m = gate_metrics(s, PROMPT_IDS, POSTS, reward, {k: lambda k=k: made[k] for k in made})
    metrics = ranker_gate(s, [0.0] * len(s), POSTS, reward)
    assert set(m) == {f"gate_{r}_{k}" for r in ("rm", "dpo") for k in metrics}
    assert m["gate_rm_rstar_agree"] == 1.0 and m["gate_rm_bok_gain_share"] == pytest.approx(1.0)
    assert m["gate_dpo_rstar_agree"] == 0.0
    assert m["gate_dpo_bok_gain_share"] == pytest.approx(-1.0)
    assert m["gate_rm_rstar_tie_share"] == m["gate_dpo_rstar_tie_share"] == 0.5
    want = [(tuple(PROMPT_IDS[r["prompt_id"]]), tuple(r["completion_ids"])) for r in s]
    assert made["rm"].seen == made["dpo"].seen == want


def test_label_onlines_scores_give_the_gate_the_rows_scoring_again_gives():
    """Rule diagnose reads the scores label_online ranked the SFT's samples by (its scores
    file, truncation penalty applied) instead of scoring them with the global RM again: the
    gate's rows are the same, a truncated sample included, and its pick is label_online's."""
    from allroads.pairs import online_pairs, scores_of

    s = samples()
    s[0]["truncated"] = True  # p1's best sample: the penalty decides
    scored = gate_metrics(s, PROMPT_IDS, POSTS, reward, {"rm": lambda: TokenRanker(1.0)})
    raw = TokenRanker(1.0).score(
        [PROMPT_IDS[r["prompt_id"]] for r in s], [r["completion_ids"] for r in s]
    )
    prompts = {p: {"prompt": "", "post": POSTS[p]} for p in POSTS}
    pairs, _, rows = online_pairs(s, raw, prompts, PROMPT_IDS, -1.0)  # label_online's
    read = gate_metrics(s, PROMPT_IDS, POSTS, reward, {}, ranked={"rm": scores_of(s, rows)})
    assert read == scored
    picks = [reward("", p["chosen"]) for p in pairs]
    assert read["gate_rm_bok_rstar_pick"] == pytest.approx(sum(picks) / len(picks)) == 0.25
