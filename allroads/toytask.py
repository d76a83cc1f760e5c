"""Toy-TL;DR: a seeded, synthetic stand-in for Reddit TL;DR with a hidden ground-truth reward.

What it is
----------
A "post" is a title naming a *topic* person plus a handful of short sentences ``<subject>
<relation> <object>``, padded with filler words. The facts whose subject is the topic are
*salient*; the others are distractors. A good summary names the topic and lists its salient
facts as ``<relation> <object>`` pairs, nothing else. The hidden reward r*(post, summary)
is a cheap verifier: coverage of the salient facts, minus penalties for content absent from
the post, distractor facts, repetition and over-length. Verifying is a bag-of-bigrams check,
while generating needs the model to find the topic, pick its facts among distractors and copy
them in order: a small generation-verification gap by construction.

What it is not
--------------
Natural language. Sizes, vocabulary and noise are chosen so that the whole chain runs on a
laptop CPU in minutes; numbers from it say whether the code does what the paper does, not what
Pythia on Reddit would show.

Record schema (identical to the hub TL;DR loaders): SFT rows ``{id, prompt, post, reference}``,
preference rows ``{id, prompt, post, chosen, rejected}``. Completions start with a space. r* is
only visible to :func:`label_pair` (the labeler) and to the oracle judge.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

SUBJECTS = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yara", "zoe",
]  # fmt: skip
RELATIONS = [
    "likes", "hates", "owns", "lost", "fixed", "sold", "wants", "found", "broke", "painted",
    "borrowed", "cooked",
]  # fmt: skip
OBJECTS = [
    "cats", "bikes", "pizza", "cars", "books", "guitars", "plants", "phones", "boats", "lamps",
    "shoes", "clocks", "tables", "kites", "hats", "cakes", "drums", "maps", "rings", "chairs",
    "tents", "pens", "cups", "coins",
]  # fmt: skip
FILLERS = ["so", "um", "like", "honestly", "basically", "anyway", "well", "literally", "yeah", "ok"]
PUNCT = [".", ","]
STRUCTURE = ["SUBREDDIT:", "r/toy", "TITLE:", "about", "POST:", "TL;DR:", "Two-Word"]
EOS = "<|endoftext|>"
PAD = "<|padding|>"


def vocabulary() -> list[str]:
    """Every word a toy post, prompt or summary can contain (the tokenizer's vocabulary)."""
    return [PAD, EOS, "<unk>"] + STRUCTURE + SUBJECTS + RELATIONS + OBJECTS + FILLERS + PUNCT


# --------------------------------------------------------------------------- posts


@dataclass(frozen=True)
class Post:
    topic: str
    salient: tuple[tuple[str, str], ...]  # (relation, object) pairs of the topic, in post order
    text: str


def _make_post(rng: random.Random, n_salient: tuple[int, int], n_distract: tuple[int, int]) -> Post:
    topic = rng.choice(SUBJECTS)
    others = [s for s in SUBJECTS if s != topic]
    k = rng.randint(*n_salient)
    m = rng.randint(*n_distract)
    facts: list[tuple[str, str, str]] = []
    used: set[tuple[str, str]] = set()
    while len(facts) < k + m:
        subj = topic if len(facts) < k else rng.choice(others)
        rel, obj = rng.choice(RELATIONS), rng.choice(OBJECTS)
        if (rel, obj) in used:
            continue
        used.add((rel, obj))
        facts.append((subj, rel, obj))
    rng.shuffle(facts)
    sentences = []
    for subj, rel, obj in facts:
        words = [rng.choice(FILLERS) for _ in range(rng.randint(0, 2))] + [subj, rel, obj]
        sentences.append(" ".join(words) + " .")
    salient = tuple((r, o) for s, r, o in facts if s == topic)
    return Post(topic=topic, salient=salient, text=" ".join(sentences))


def format_prompt(post_text: str, topic: str, two_word: bool = False) -> str:
    """The standard TL;DR prompt format, on toy content."""
    tldr = "Two-Word TL;DR:" if two_word else "TL;DR:"
    return f"SUBREDDIT: r/toy\n\nTITLE: about {topic}\n\nPOST: {post_text}\n\n{tldr}"


def _parse_post(post: str) -> tuple[str | None, list[tuple[str, str, str]]]:
    """Recover (topic, facts) from a post's text; the topic is the most frequent title subject."""
    facts = []
    for sentence in post.split(" ."):
        words = [w for w in sentence.split() if w not in FILLERS]
        if len(words) == 3 and words[0] in SUBJECTS:
            facts.append((words[0], words[1], words[2]))
    return None, facts


# --------------------------------------------------------------------------- the hidden reward


def true_reward(post: str, summary: str, topic: str | None = None) -> float:
    """r*(post, summary): the hidden ground-truth reward of the toy task.

    ``post`` is the judge-visible post, whose first line is ``about <topic>``. Reward:
    +1 per salient fact covered as an adjacent ``relation object`` pair (at most once each),
    +0.25 for naming the topic first, -0.5 per distractor fact, -0.5 per word absent from the
    post, -0.25 per repeated fact, -0.1 per word beyond the length budget.
    """
    lines = post.split("\n", 1)
    if topic is None and lines[0].startswith("about "):
        topic = lines[0].split()[1]
    body = lines[1] if len(lines) > 1 and lines[0].startswith("about ") else post
    _, facts = _parse_post(body)
    salient = {(r, o) for s, r, o in facts if s == topic}
    distract = {(r, o) for s, r, o in facts if s != topic}
    post_words = set(body.split()) | ({topic} if topic else set())
    words = [w for w in summary.replace(EOS, " ").split() if w not in PUNCT]
    reward = 0.0
    if words and words[0] == topic:
        reward += 0.25
    seen: set[tuple[str, str]] = set()
    for a, b in zip(words, words[1:], strict=False):
        pair = (a, b)
        if pair in salient:
            reward += 1.0 if pair not in seen else -0.25
        elif pair in distract:
            reward += -0.5 if pair not in seen else -0.25
        seen.add(pair)
    reward -= 0.5 * sum(1 for w in words if w not in post_words)
    budget = 1 + 2 * len(salient) + 1
    reward -= 0.1 * max(0, len(words) - budget)
    return round(reward, 6)


def judge_post(post: Post) -> str:
    """The text a judge reads as the post: the title line plus the body."""
    return f"about {post.topic}\n{post.text}"


# --------------------------------------------------------------------------- summaries


def perfect_summary(post: Post) -> str:
    return " " + " ".join([post.topic] + [f"{r} {o}" for r, o in post.salient])


def reference_summary(post: Post, rng: random.Random, noise: float) -> str:
    """A near-optimal human-style reference: with probability ``noise`` it has one flaw."""
    facts = list(post.salient)
    words = [post.topic]
    if rng.random() < noise:
        flaw = rng.choice(["drop", "filler", "shuffle"])
        if flaw == "drop" and len(facts) > 1:
            facts.pop(rng.randrange(len(facts)))
        elif flaw == "filler":
            words.append(rng.choice(FILLERS))
        else:
            rng.shuffle(facts)
    words += [w for f in facts for w in f]
    return " " + " ".join(words)


def _candidate_generators(post: Post, rng: random.Random) -> dict[str, Callable[[], str]]:
    body_words = [w for w in post.text.split() if w not in PUNCT]
    facts_all = []
    for sentence in post.text.split(" ."):
        ws = [w for w in sentence.split() if w not in FILLERS]
        if len(ws) == 3:
            facts_all.append(tuple(ws))
    distractors = [(r, o) for s, r, o in facts_all if s != post.topic]

    def drop():
        keep = [f for f in post.salient if rng.random() < 0.5] or [post.salient[0]]
        return " " + " ".join([post.topic] + [w for f in keep for w in f])

    def add_distractor():
        facts = list(post.salient) + [rng.choice(distractors)]
        rng.shuffle(facts)
        return " " + " ".join([post.topic] + [w for f in facts for w in f])

    def hallucinate():
        facts = list(post.salient)
        i = rng.randrange(len(facts))
        facts[i] = (facts[i][0], rng.choice([o for o in OBJECTS if o not in body_words] or OBJECTS))
        return " " + " ".join([post.topic] + [w for f in facts for w in f])

    def repeat():
        facts = list(post.salient) + [rng.choice(post.salient)]
        return " " + " ".join([post.topic] + [w for f in facts for w in f])

    def fragment():
        n = rng.randint(4, 8)
        start = rng.randrange(max(1, len(body_words) - n))
        return " " + " ".join(body_words[start : start + n])

    def random_words():
        return " " + " ".join(rng.choice(body_words) for _ in range(rng.randint(3, 8)))

    def everything():
        return " " + " ".join([post.topic] + [f"{r} {o}" for _, r, o in facts_all])

    return {
        "perfect": lambda: perfect_summary(post),
        "drop": drop,
        "add_distractor": add_distractor,
        "hallucinate": hallucinate,
        "repeat": repeat,
        "fragment": fragment,
        "random": random_words,
        "everything": everything,
    }


# --------------------------------------------------------------------------- labels


def label_pair(
    judge_text: str, a: str, b: str, rng: random.Random, temperature: float
) -> tuple[str, str, bool]:
    """Bradley–Terry labeler on r*: returns (chosen, rejected, agrees_with_r*)."""
    ra, rb = true_reward(judge_text, a), true_reward(judge_text, b)
    z = max(-60.0, min(60.0, (ra - rb) / temperature))
    p_a = 1.0 / (1.0 + math.exp(-z))
    if rng.random() < p_a:
        return a, b, ra >= rb
    return b, a, rb >= ra


# --------------------------------------------------------------------------- the dataset


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
            post = _make_post(rng, n_sal, n_dis)
            row = {
                "id": f"{split}-{i:06d}",
                "prompt": format_prompt(post.text, post.topic, two_word),
                "post": judge_post(post),
            }
            if split.startswith("sft"):
                row["reference"] = reference_summary(post, rng, task_cfg["reference_noise"])
            else:
                gens = _candidate_generators(post, rng)
                while True:
                    ga, gb = rng.sample(sorted(gens), 2)
                    a, b = gens[ga](), gens[gb]()
                    if a != b:
                        break
                chosen, rejected, _ = label_pair(
                    row["post"], a, b, rng, task_cfg["label_temperature"]
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
    :func:`copy_document`\ s."""
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


def label_agreement(rows: list[dict]) -> float:
    """Fraction of preference rows (with unequal r*) whose chosen side has the higher r*."""
    agree = total = 0
    for row in rows:
        rc, rr = true_reward(row["post"], row["chosen"]), true_reward(row["post"], row["rejected"])
        if rc != rr:
            total += 1
            agree += rc > rr
    return agree / total if total else float("nan")
