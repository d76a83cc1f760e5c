"""The facts toy's writers: perfect and human-style reference summaries, the pool of summary
writers whose outputs the labeller compares (preference pairs), the splits and the tiny models'
pretraining corpus."""

from __future__ import annotations

import random
from collections.abc import Callable

from ..bradley_terry import label_pair
from .posts import (
    FILLERS,
    OBJECTS,
    PUNCT,
    RELATIONS,
    SUBJECTS,
    Post,
    canonical,
    format_prompt,
    judge_post,
    make_post,
    parse_post,
    say,
)
from .reward import true_reward


def perfect_summary(post: Post, two_word: bool = False) -> str:
    facts = canonical(post.salient)
    if two_word:
        return say(facts[0])
    return say([post.topic] + [w for f in facts for w in f])


def reference_summary(
    post: Post, rng: random.Random, noise: float, two_word: bool = False, order: str = "canonical"
) -> str:
    """A human-style reference: with probability ``noise`` it has one flaw.

    ``order``: ``canonical`` lists the topic's facts in the canonical order; ``shuffled`` in an
    order of the writer's own (a seeded permutation): writers who were never told the hidden
    preference for the canonical order, which only the preference labels (and r*) reveal."""
    if two_word:
        if rng.random() < noise:  # a plausible slip: the right relation, a wrong object
            rel = canonical(post.salient)[0][0]
            return say([rel, rng.choice([w for w in post.text.split() if w in OBJECTS])])
        return perfect_summary(post, two_word=True)
    facts = canonical(post.salient)
    if order == "shuffled":
        rng.shuffle(facts)
    words = [post.topic]
    if rng.random() < noise:
        flaw = rng.choice(["drop", "filler", "shuffle"])
        if flaw == "drop" and len(facts) > 1:
            facts.pop(rng.randrange(len(facts)))
        elif flaw == "filler":
            words.append(rng.choice(FILLERS))
        else:
            facts = list(post.salient)  # the order of the post, not the canonical one
            rng.shuffle(facts)
    words += [w for f in facts for w in f]
    return say(words)


def candidate_writers(
    post: Post, rng: random.Random, two_word: bool = False
) -> dict[str, Callable[[], str]]:
    """The pool of summary writers whose outputs the labeler compares (PFT pairs)."""
    body_words = [w for w in post.text.split() if w not in PUNCT]
    facts_all = parse_post(post.text)
    distractors = [(r, o) for s, r, o in facts_all if s != post.topic]
    objects = [w for w in body_words if w in OBJECTS]
    absent = [o for o in OBJECTS if o not in body_words] or OBJECTS

    if two_word:
        (rel, obj) = canonical(post.salient)[0]
        return {
            "perfect": lambda: say([rel, obj]),
            "distractor": lambda: say(rng.choice(distractors)),
            "wrong_object": lambda: say([rel, rng.choice(objects)]),
            "hallucinate": lambda: say([rel, rng.choice(absent)]),
            "topic_relation": lambda: say([post.topic, rel]),
            "random": lambda: say(rng.sample(body_words, 2)),
            "three_words": lambda: say([post.topic, rel, obj]),
        }

    def with_facts(facts):
        return say([post.topic] + [w for f in facts for w in f])

    def drop():
        keep = [f for f in canonical(post.salient) if rng.random() < 0.5]
        return with_facts(keep or [canonical(post.salient)[0]])

    def add_distractor():
        facts = canonical(post.salient)
        facts.insert(rng.randint(0, len(facts)), rng.choice(distractors))
        return with_facts(facts)

    def hallucinate():
        facts = canonical(post.salient)
        i = rng.randrange(len(facts))
        facts[i] = (facts[i][0], rng.choice(absent))
        return with_facts(facts)

    def repeat():
        facts = canonical(post.salient)
        return with_facts(facts + [rng.choice(facts)])

    def swap_distractor():  # a near miss: one of the topic's facts replaced by another's
        facts = canonical(post.salient)
        facts[rng.randrange(len(facts))] = rng.choice(distractors)
        return with_facts(facts)

    def wrong_object():  # a near miss: a relation of the topic with an object from the post
        facts = canonical(post.salient)
        i = rng.randrange(len(facts))
        facts[i] = (facts[i][0], rng.choice([o for o in objects if o != facts[i][1]] or objects))
        return with_facts(facts)

    def shuffled():
        facts = list(post.salient)
        rng.shuffle(facts)
        return with_facts(facts)

    def fragment():
        n = rng.randint(4, 8)
        start = rng.randrange(max(1, len(body_words) - n))
        return say(body_words[start : start + n])

    def random_words():
        return say(rng.choice(body_words) for _ in range(rng.randint(3, 8)))

    def everything():
        return with_facts([(r, o) for _, r, o in facts_all])

    return {
        "perfect": lambda: perfect_summary(post),
        "post_order": lambda: with_facts(post.salient),
        "shuffled": shuffled,
        "swap_distractor": swap_distractor,
        "wrong_object": wrong_object,
        "drop": drop,
        "add_distractor": add_distractor,
        "hallucinate": hallucinate,
        "repeat": repeat,
        "fragment": fragment,
        "random": random_words,
        "everything": everything,
    }


def build_splits(task_cfg: dict, seed: int) -> dict[str, list[dict]]:
    """All splits of the toy task, as record lists. Deterministic in ``seed``."""
    rng = random.Random(seed)
    sizes = task_cfg["splits"]
    n_sal = tuple(task_cfg["salient_facts"])
    n_dis = tuple(task_cfg["distractor_facts"])
    two_word = task_cfg.get("two_word", False)
    out: dict[str, list[dict]] = {}
    for split in ("sft_train", "sft_val", "sft_test", "pft_train", "pft_val"):
        rows = []
        for i in range(sizes[split]):
            post = make_post(rng, n_sal, n_dis)
            row = {
                "id": f"{split}-{i:06d}",
                "prompt": format_prompt(post.text, post.topic, two_word),
                "post": judge_post(post, two_word),
            }
            if split.startswith("sft"):
                row["reference"] = reference_summary(
                    post, rng, task_cfg["reference_noise"], two_word,
                    task_cfg.get("reference_order", "canonical"),
                )  # fmt: skip
            else:
                gens = candidate_writers(post, rng, two_word)
                while True:
                    ga, gb = rng.sample(sorted(gens), 2)
                    a, b = gens[ga](), gens[gb]()
                    if a != b:
                        break
                chosen, rejected, _ = label_pair(
                    true_reward, row["post"], a, b, rng, task_cfg["label_temperature"]
                )
                row["chosen"], row["rejected"] = chosen, rejected
            rows.append(row)
        out[split] = rows
    return out


def copy_document(rng: random.Random, two_word: bool = False) -> dict:
    """A pretraining-only document: a list of distinct content words, copied after ``TL;DR:``.

    A tiny model trained on the task's own documents alone settles on "copy the most recent
    fact" and never learns to look a fact up by its subject (measured here: SFT r* 0.28 of
    ~1.6, 4% winrate). Copying lists of distinct words makes previous-token and induction
    attention pay off at every position; the models then reuse it to fetch the topic's facts.
    This is the toy stand-in for what Pythia's pretraining brings for free.
    """
    words = rng.sample(SUBJECTS + RELATIONS + OBJECTS, rng.randint(6, 14))
    prompt = format_prompt(" ".join(words), rng.choice(SUBJECTS), two_word)
    return {"prompt": prompt, "post": " ".join(words), "reference": " " + " ".join(words)}


def pretraining_corpus(task_cfg: dict, n: int, seed: int) -> list[dict]:
    """``n`` documents for the tiny base models, disjoint from every split (its own seed):
    posts with noisy references, a ``pretrain_copy_fraction`` of them replaced by
    :func:`copy_document` documents."""
    cfg = dict(task_cfg, splits={"sft_train": n, "sft_val": 0, "sft_test": 0, "pft_train": 0,
                                 "pft_val": 0})  # fmt: skip
    rows = build_splits(cfg, seed)["sft_train"]
    rng = random.Random(seed)
    frac = task_cfg.get("pretrain_copy_fraction", 0.0)
    out = []
    for i, row in enumerate(rows):
        if rng.random() < frac:
            row = copy_document(rng, task_cfg.get("two_word", False))
        out.append({"id": f"pretrain-{i:06d}", **row})
    return out
