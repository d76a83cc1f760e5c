"""The toy task's hidden reward r*, its labeler's noise, and determinism."""

import random

import pytest

from allroads import tasks, toytask
from allroads.io import read_jsonl

POST = "about trent\nso trent hates maps . rupert owns phones . um trent sold boats . erin cooked hats ."
CFG = dict(
    splits=dict(sft_train=50, sft_val=5, sft_test=5, pft_train=3000, pft_val=5),
    salient_facts=[2, 3], distractor_facts=[3, 4], reference_noise=0.3, label_temperature=1.1,
)  # fmt: skip


def test_reward_by_hand():
    r = toytask.true_reward
    assert r(POST, " trent hates maps sold boats") == pytest.approx(2.25)  # both facts + topic
    assert r(POST, " trent hates maps") == pytest.approx(1.25)  # one fact missing
    assert r(POST, " hates maps sold boats") == pytest.approx(2.0)  # no topic
    assert r(POST, " trent hates maps owns phones") == pytest.approx(0.75)  # distractor fact
    assert r(POST, " trent hates maps hates maps") == pytest.approx(1.0)  # repetition
    assert r(POST, " trent hates cats") == pytest.approx(-0.25)  # 'cats' not in the post
    assert r(POST, " trent hates maps sold boats" + " so" * 5) == pytest.approx(
        2.25 - 0.4
    )  # too long
    assert r(POST, "") == 0.0


def test_perfect_summary_is_optimal_among_generators():
    rng = random.Random(0)
    for _ in range(200):
        post = toytask._make_post(rng, (2, 3), (3, 4))
        text = toytask.judge_post(post)
        best = toytask.true_reward(text, toytask.perfect_summary(post))
        for gen in toytask._candidate_generators(post, rng).values():
            assert toytask.true_reward(text, gen()) <= best


def test_label_noise_like_human_agreement():
    rows = toytask.build_splits(CFG, seed=1)["pft_train"]
    agreement = toytask.label_agreement(rows)
    assert 0.65 <= agreement <= 0.80, agreement  # TL;DR human agreement is ~70-75%


def test_noise_free_labeler_agrees():
    rows = toytask.build_splits(dict(CFG, label_temperature=1e-3), seed=1)["pft_train"]
    assert toytask.label_agreement(rows) == 1.0


def test_same_seed_same_data_other_seed_differs():
    a, b, c = (toytask.build_splits(CFG, seed=s) for s in (3, 3, 4))
    assert a == b
    assert a["sft_train"] != c["sft_train"]


def test_schema_of_records():
    splits = toytask.build_splits(CFG, seed=0)
    assert set(splits["sft_train"][0]) == {"id", "prompt", "post", "reference"}
    assert set(splits["pft_train"][0]) == {"id", "prompt", "post", "chosen", "rejected"}
    row = splits["sft_train"][0]
    assert row["prompt"].startswith("SUBREDDIT: r/toy\n\nTITLE: about ") and row["prompt"].endswith(
        "\n\nTL;DR:"
    )
    assert row["reference"].startswith(" ")


def test_pretraining_corpus_mixes_copy_documents(tmp_path):
    task = {"kind": "toy", "seed": 7, "n_eval_prompts": 5,
            "toy": dict(CFG, pretrain=400, pretrain_copy_fraction=0.5)}  # fmt: skip
    tasks.build(task, {}, tmp_path)
    rows = read_jsonl(tmp_path / "pretrain.jsonl")
    assert len(rows) == 400 and len({r["id"] for r in rows}) == 400
    copies = [r for r in rows if r["reference"] == " " + r["post"]]
    assert 150 <= len(copies) <= 250  # ~half
    for r in copies:
        words = r["post"].split()
        assert len(set(words)) == len(words) and r["prompt"].endswith(r["post"] + "\n\nTL;DR:")
    # the rest are task posts with references, none of them also in a split of the task
    split_posts = {r["post"] for s in tasks.SPLITS for r in read_jsonl(tmp_path / f"{s}.jsonl")}
    task_docs = [r for r in rows if r not in copies]
    assert task_docs and all(r["post"].startswith("about ") for r in task_docs)
    assert not split_posts & {r["post"] for r in task_docs}
