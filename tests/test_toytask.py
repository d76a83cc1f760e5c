"""The toy task's hidden reward r*, its labeler's noise, and determinism."""

import random

import pytest

from allroads import bradley_terry, tasks, toytask
from allroads.io import read_jsonl

POST = "about trent\nso trent hates maps . rupert owns phones . um trent sold boats . erin cooked hats ."
CFG = dict(
    splits=dict(sft_train=50, sft_val=5, sft_test=5, pft_train=3000, pft_val=5),
    salient_facts=[2, 3], distractor_facts=[3, 5], reference_noise=0.3, label_temperature=1.3,
)  # fmt: skip


def test_reward_by_hand():
    r = toytask.true_reward
    # 'hates' comes before 'sold' in RELATIONS: the canonical order is hates, sold
    assert r(POST, " trent hates maps sold boats") == pytest.approx(2.75)  # facts+order+topic
    assert r(POST, " trent sold boats hates maps") == pytest.approx(2.25)  # out of order
    assert r(POST, " trent hates maps") == pytest.approx(1.25)  # one fact missing
    assert r(POST, " hates maps sold boats") == pytest.approx(2.5)  # no topic
    assert r(POST, " trent hates maps owns phones") == pytest.approx(0.75)  # distractor fact
    assert r(POST, " trent hates maps hates maps") == pytest.approx(1.0)  # repetition
    assert r(POST, " trent hates cats") == pytest.approx(-0.25)  # 'cats' not in the post
    assert r(POST, " trent hates maps sold boats" + " so" * 5) == pytest.approx(
        2.75 - 0.4
    )  # too long
    assert r(POST, "") == 0.0


def test_two_word_reward_by_hand():
    r, post = (
        toytask.true_reward,
        "about trent (two words)\nso trent hates maps . rupert owns phones .",
    )
    assert r(post, " hates maps") == pytest.approx(1.0)
    assert r(post, " owns phones") == pytest.approx(-0.5)  # the distractor's fact
    assert r(post, " trent hates maps") == pytest.approx(0.5)  # three words, no topic bonus
    assert r(post, " hates cats") == pytest.approx(-0.5)  # not in the post


@pytest.mark.parametrize("two_word", [False, True])
def test_perfect_summary_is_optimal_among_generators(two_word):
    rng = random.Random(0)
    sal = (1, 1) if two_word else (2, 3)
    for _ in range(200):
        post = toytask.make_post(rng, sal, (3, 5))
        text = toytask.judge_post(post, two_word)
        best = toytask.true_reward(text, toytask.perfect_summary(post, two_word))
        for name, gen in toytask.candidate_writers(post, rng, two_word).items():
            assert toytask.true_reward(text, gen()) <= best, name


def test_generation_needs_the_canonical_order_and_verification_sees_it():
    """The default variant rewards the canonical order, which the post does not give: copying
    the topic's facts in the order of the post loses reward on a good share of posts."""
    rng = random.Random(1)
    worse = 0
    for _ in range(300):
        post = toytask.make_post(rng, (2, 3), (3, 5))
        text = toytask.judge_post(post)
        in_post_order = " " + " ".join([post.topic] + [w for f in post.salient for w in f])
        worse += toytask.true_reward(text, in_post_order) < toytask.true_reward(
            text, toytask.perfect_summary(post)
        )
    assert worse > 150


def _canonical_share(rows) -> float:
    """Share of references with 2+ of the topic's facts that list them in the canonical order."""
    hits = total = 0
    for row in rows:
        rels = [w for w in row["reference"].split() if w in toytask.RANK]
        if len(rels) >= 2:
            total += 1
            hits += rels == sorted(rels, key=toytask.RANK.get)
    return hits / total


def test_shuffled_references_do_not_reveal_the_canonical_order():
    """reference_order: shuffled: the demonstrations list the topic's facts in the writers' own
    order, so SFT cannot learn the canonical order from them (about 1/2 of the 2-fact and 1/6 of
    the 3-fact references are canonical by chance), while the preference labels still reward it;
    canonical references are canonical but for the reference noise."""
    cfg = dict(CFG, splits=dict(CFG["splits"], sft_train=2000, pft_train=5))
    canon = toytask.build_splits(cfg, seed=0)["sft_train"]
    shuf = toytask.build_splits(dict(cfg, reference_order="shuffled"), seed=0)["sft_train"]
    assert _canonical_share(canon) > 0.85
    assert 0.2 < _canonical_share(shuf) < 0.45
    assert (
        toytask.build_splits(dict(cfg, reference_order="canonical"), seed=0)["sft_train"] == canon
    )
    assert canon[0]["post"] == shuf[0]["post"]  # the order is drawn after the post


@pytest.mark.parametrize("two_word", [False, True])
def test_check_pairs_each_isolate_one_check_of_rstar(two_word):
    """Each minimal pair is the perfect summary against one slip of its kind, which r* ranks
    lower: reversing the order costs the order bonus only, a dropped fact one fact, and so on.
    The control's single fact has no order to reverse."""
    cfg = dict(CFG, splits=dict(CFG["splits"], pft_val=60), two_word=two_word)
    if two_word:
        cfg["salient_facts"] = [1, 1]
    val = toytask.build_splits(cfg, seed=0)["pft_val"]
    pairs = toytask.check_pairs(val)
    assert pairs == toytask.check_pairs(val)  # seeded by the row id
    kinds = {r["kind"] for r in pairs}
    assert kinds == (set(toytask.CHECKS) - {"order"} if two_word else set(toytask.CHECKS))
    for r in pairs:
        good, bad = r["chosen"].split(), r["rejected"].split()
        assert toytask.true_reward(r["post"], r["chosen"]) > toytask.true_reward(
            r["post"], r["rejected"]
        )
        if r["kind"] == "order":
            assert sorted(good) == sorted(bad) and good[0] == bad[0]  # same words, topic first
            assert toytask.true_reward(r["post"], r["chosen"]) - toytask.true_reward(
                r["post"], r["rejected"]
            ) == pytest.approx(0.5 * ((len(good) - 1) // 2 - 1))  # the order bonus alone
        elif r["kind"] == "drop":
            assert len(bad) == len(good) - 2
        elif r["kind"] == "repeat":
            assert bad[: len(good)] == good and len(bad) == len(good) + 2
        else:  # distractor, wrong_object: one fact replaced, same length
            assert len(bad) == len(good) and sum(
                a != b for a, b in zip(good, bad, strict=True)
            ) in (1, 2)


def test_slip_kind_names_what_two_summaries_differ_in():
    """By hand on POST (topic facts: hates maps, sold boats; distractors: owns phones, cooked
    hats), then on every minimal pair of check_pairs, which must come out as its own kind
    (a wrong object that happens to be a distractor's fact is a distractor)."""
    k = toytask.slip_kind
    good = " trent hates maps sold boats"
    assert k(POST, good, " trent sold boats hates maps") == "order"
    assert k(POST, good, " trent hates maps") == "drop"
    assert k(POST, good, " trent hates maps owns phones") == "distractor"
    assert k(POST, good, " trent hates maps sold hats") == "wrong_object"
    assert k(POST, good, good + " sold boats") == "repeat"
    assert k(POST, good, good + " owns phones") == "added_distractor"
    assert k(POST, good, " trent hates cats sold boats") == "other"  # 'cats' not in the post
    assert k(POST, " trent hates maps", " trent hates maps owns phones") == "added_distractor"
    val = toytask.build_splits(dict(CFG, splits=dict(CFG["splits"], pft_val=60)), 0)["pft_val"]
    for r in toytask.check_pairs(val):
        got = k(r["post"], r["chosen"], r["rejected"])
        if r["kind"] == "wrong_object" and got == "distractor":
            # a topic fact (+1) swapped for a distractor's (-0.5), and maybe an order bonus
            loss = toytask.true_reward(r["post"], r["chosen"]) - toytask.true_reward(
                r["post"], r["rejected"]
            )
            assert round(loss, 6) in (1.5, 2.0), r
        else:
            assert got == r["kind"], r


def test_control_variant_is_two_words_with_a_two_word_prompt():
    cfg = dict(CFG, salient_facts=[1, 1], two_word=True)
    splits = toytask.build_splits(cfg, seed=0)
    for row in splits["sft_train"]:
        topic = row["post"].split()[1]
        assert row["prompt"].endswith("Two-Word TL;DR: " + topic)  # the lookup's anchor
        assert row["post"].split("\n")[0].endswith("(two words)")
        assert len(row["reference"].split()) == 2
    assert bradley_terry.label_agreement(toytask.true_reward, splits["pft_train"]) > 0.6


def test_label_noise_like_human_agreement():
    rows = toytask.build_splits(CFG, seed=1)["pft_train"]
    agreement = bradley_terry.label_agreement(toytask.true_reward, rows)
    assert 0.65 <= agreement <= 0.80, agreement  # TL;DR human agreement is ~70-75%


def test_labeller_ranker_prefers_as_the_preference_labeler_does():
    """online.ranker: labeller: for two samples, the top one is the better by r* with the
    labeler's probability sigmoid(Δr*/τ); the draw is fixed by its key."""
    good, bad = " trent hates maps sold boats", " trent hates maps"  # r* 2.75 against 1.25
    tau, n = 1.3, 4000
    wins = 0
    for i in range(n):
        keys = [f"0:p{i}:0", f"0:p{i}:1"]
        sg, sb = bradley_terry.labeller_scores(
            toytask.true_reward, [POST, POST], [good, bad], keys, tau
        )
        wins += sg > sb
        assert bradley_terry.labeller_scores(
            toytask.true_reward, [POST, POST], [good, bad], keys, tau
        ) == [sg, sb]
    p = 1 / (1 + 2.718281828459045 ** (-(2.75 - 1.25) / tau))  # 0.760
    assert abs(wins / n - p) < 4 * (p * (1 - p) / n) ** 0.5, (wins / n, p)
    other = bradley_terry.labeller_scores(toytask.true_reward, [POST], [good], ["1:p0:0"], tau)
    assert other != bradley_terry.labeller_scores(
        toytask.true_reward, [POST], [good], ["0:p0:0"], tau
    )  # seed matters


def test_noise_free_labeler_agrees():
    rows = toytask.build_splits(dict(CFG, label_temperature=1e-3), seed=1)["pft_train"]
    assert bradley_terry.label_agreement(toytask.true_reward, rows) == 1.0


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


def test_default_pretraining_never_shows_the_task_answer(tmp_path):
    """With the facts config the tiny models pretrain on copying only: no document pairs a
    task post with its summary, so what SFT and preference training add is measurable."""
    import configs

    toy = dict(configs.load(configs.FACTS)["task"]["toy"], pretrain=300)
    tasks.build({"kind": "toy", "seed": 3, "n_eval_prompts": 5, "toy": toy}, {}, tmp_path)
    rows = read_jsonl(tmp_path / "pretrain.jsonl")
    assert len(rows) == 300
    assert all(r["reference"] == " " + r["post"] for r in rows)  # copy documents only
    assert not any(r["post"].startswith("about ") for r in rows)
