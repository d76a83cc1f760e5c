"""The one RM interface (allroads.reward_models): each kind's score on a tiny model equals a
hand computation, token by token; Best-of-N picks (allroads.bon); the held-out BT likelihood."""

from __future__ import annotations

import math

import pytest
import torch

from allroads import bon, models
from allroads import reward_models as rms
from allroads.reward_models import tokenize_completions
from allroads.tasks.facts import FactsTask

ARCH = {"hidden_size": 32, "num_layers": 2, "num_heads": 2}
PROMPTS = ["POST: bob likes cats\nTL;DR:", "POST: zoe owns boats and bob likes cats\nTL;DR:"]
COMPLETIONS = [" bob likes cats", " zoe owns"]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """Two different tiny policies (the 'DPO' one and its 'SFT' reference) and a global RM."""
    from transformers import GPTNeoXForSequenceClassification

    root = tmp_path_factory.mktemp("rms")
    tok = FactsTask.tokenizer()
    out = {}
    for name, seed in (("pol", 1), ("ref", 2)):
        models.save(models.init_tiny_model(ARCH, tok, seed=seed), tok, root / name)
        out[name] = str(root / name)
    cfg = models.init_tiny_model(ARCH, tok, seed=3).config
    cfg.num_labels = 1
    torch.manual_seed(3)
    models.save(GPTNeoXForSequenceClassification(cfg), tok, root / "rm")
    out["rm"] = str(root / "rm")
    return out


def token_ids():
    tok = FactsTask.tokenizer()
    return tok, *tokenize_completions(tok, PROMPTS, COMPLETIONS)


def hand_logp(model_dir: str, prompt: list[int], completion: list[int]) -> float:
    """Σ_t log softmax(logits)[y_t] over the completion, one sequence, no padding, a loop."""
    model = models.load_policy(model_dir, "fp32").eval()
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].double()
    total = 0.0
    for k, y in enumerate(completion):
        pos = len(prompt) + k - 1  # the logits at pos predict token pos + 1
        total += float(torch.log_softmax(logits[pos], -1)[y])
    return total


def test_local_rm_is_beta_times_summed_logprob(dirs):
    tok, p_ids, c_ids = token_ids()
    got = rms.load("local", policy_dir=dirs["pol"], beta=0.25).score(p_ids, c_ids)
    want = [0.25 * hand_logp(dirs["pol"], p, c) for p, c in zip(p_ids, c_ids, strict=True)]
    assert got == pytest.approx(want, abs=1e-4)
    assert all(c[-1] == tok.eos_token_id for c in c_ids)  # human text is scored with its EOS


def test_dpo_rm_is_beta_times_logratio_to_sft(dirs):
    _, p_ids, c_ids = token_ids()
    rm = rms.load("dpo", policy_dir=dirs["pol"], ref_dir=dirs["ref"], beta=0.1)
    got = rm.score(p_ids, c_ids)
    want = [
        0.1 * (hand_logp(dirs["pol"], p, c) - hand_logp(dirs["ref"], p, c))
        for p, c in zip(p_ids, c_ids, strict=True)
    ]
    assert got == pytest.approx(want, abs=1e-4)
    assert all(abs(x) > 1e-3 for x in got)  # two different models: a non-trivial ratio


def test_global_rm_is_the_head_on_the_last_token(dirs):
    _, p_ids, c_ids = token_ids()
    got = rms.load("global", rm_dir=dirs["rm"]).score(p_ids, c_ids)
    model = models.load_reward_model(dirs["rm"]).eval()
    want = []
    for p, c in zip(p_ids, c_ids, strict=True):  # one unpadded sequence at a time
        with torch.no_grad():
            want.append(float(model(input_ids=torch.tensor([p + c])).logits[0, 0]))
    assert got == pytest.approx(want, abs=1e-5)
    assert got[0] != pytest.approx(got[1])  # batched with padding, still per sequence


def test_score_text_tokenizes_like_the_trainers(dirs):
    _, p_ids, c_ids = token_ids()
    rm = rms.load("local", policy_dir=dirs["pol"], beta=1.0)
    assert rm.score_text(PROMPTS, COMPLETIONS) == pytest.approx(rm.score(p_ids, c_ids))


def test_repeated_sequences_score_once_and_map_back(dirs):
    _, p_ids, c_ids = token_ids()
    rm = rms.load("local", policy_dir=dirs["pol"], beta=1.0)
    one = rm.score(p_ids, c_ids)
    many = rm.score([p_ids[1], p_ids[0], p_ids[1]], [c_ids[1], c_ids[0], c_ids[1]])
    assert many == pytest.approx([one[1], one[0], one[1]], abs=1e-5)


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown reward model kind 'oracle'"):
        rms.load("oracle")
    assert set(rms.KINDS) == {"global", "local", "dpo"}


def test_bt_loglik_by_hand():
    assert rms.bt_loglik([1.0, 0.0], [0.0, 2.0]) == pytest.approx(
        (math.log(1 / (1 + math.exp(-1))) + math.log(1 / (1 + math.exp(2)))) / 2
    )
    assert rms.bt_loglik([800.0], [0.0]) == pytest.approx(0.0)  # no overflow either way
    assert rms.bt_loglik([0.0], [800.0]) == pytest.approx(-800.0)


def samples(scores_by_prompt):
    rows, scores = [], []
    for pid, scs in scores_by_prompt.items():
        for k, sc in enumerate(scs):
            rows.append({"prompt_id": pid, "sample_idx": k, "completion": f"{pid}-{k}"})
            scores.append(sc)
    return rows, scores


def test_best_of_n_sees_only_the_first_n_and_breaks_ties_low():
    rows, scores = samples({"a": [0.1, 0.5, 0.5, 0.9, 0.0], "b": [0.3, 0.3, 0.2, 0.1, 0.0]})
    # shuffled input order must not matter: the first N are the lowest sample indices
    order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5]
    picks = bon.best_of_n([rows[i] for i in order], [scores[i] for i in order], [1, 2, 3, 5])
    got = {n: {p: s["sample_idx"] for p, s in v.items()} for n, v in picks.items()}
    assert got == {
        1: {"a": 0, "b": 0},
        2: {"a": 1, "b": 0},  # b: equal scores -> the lower index
        3: {"a": 1, "b": 0},  # a: samples 1 and 2 tie -> 1
        5: {"a": 3, "b": 0},
    }


def test_best_of_n_needs_enough_samples():
    rows, scores = samples({"a": [0.1, 0.2], "b": [0.0]})
    with pytest.raises(ValueError, match="prompt 'b' has 1 samples"):
        bon.best_of_n(rows, scores, [1, 2])


def test_bon_labels_round_trip_and_select():
    lab = bon.policy_label("sft", "global@toy-s", 25)
    assert bon.parse_label(lab) == {"generator": "sft", "rm": "global", "rm_size": "toy-s", "n": 25}
    recs = [
        {"size": "toy-m", "policy": bon.policy_label(g, f"{k}@{s}", n)}
        for g in ("sft", "dpo") for k in ("global", "local") for s in ("toy-s", "toy-m")
        for n in (1, 25)
    ]  # fmt: skip
    fig10 = bon.select_rows(recs, ["toy-m"], ["sft", "dpo"], ["global", "local"], [1, 25], True)
    assert {bon.parse_label(r["policy"])["rm_size"] for r in fig10} == {"toy-m"}
    assert len(fig10) == 2 * 2 * 2
    fig4 = bon.select_rows(recs, ["toy-m"], ["sft"], ["global"], [25], False)
    assert sorted(bon.parse_label(r["policy"])["rm_size"] for r in fig4) == ["toy-m", "toy-s"]
