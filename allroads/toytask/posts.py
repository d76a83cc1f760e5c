"""The facts toy's words and posts: the vocabulary, a post and its facts, the prompt, the
judge-visible post (a header line naming the topic, then the body) and reading them back."""

from __future__ import annotations

import random
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
UNK = "<unk>"


def vocabulary() -> list[str]:
    """Every word a toy post, prompt or summary can contain (the tokenizer's vocabulary)."""
    return [PAD, EOS, UNK] + STRUCTURE + SUBJECTS + RELATIONS + OBJECTS + FILLERS + PUNCT


@dataclass(frozen=True)
class Post:
    topic: str
    salient: tuple[tuple[str, str], ...]  # (relation, object) pairs of the topic, in post order
    text: str


def make_post(rng: random.Random, n_salient: tuple[int, int], n_distract: tuple[int, int]) -> Post:
    topic = rng.choice(SUBJECTS)
    others = [s for s in SUBJECTS if s != topic]
    k = rng.randint(*n_salient)
    m = rng.randint(*n_distract)
    facts: list[tuple[str, str, str]] = []
    used: set[tuple[str, str]] = set()
    salient_rels: set[str] = set()
    while len(facts) < k + m:
        subj = topic if len(facts) < k else rng.choice(others)
        rel, obj = rng.choice(RELATIONS), rng.choice(OBJECTS)
        if (rel, obj) in used or (subj == topic and rel in salient_rels):
            continue  # the topic's relations are distinct: its canonical order is strict
        used.add((rel, obj))
        if subj == topic:
            salient_rels.add(rel)
        facts.append((subj, rel, obj))
    rng.shuffle(facts)
    sentences = []
    for subj, rel, obj in facts:
        words = [rng.choice(FILLERS) for _ in range(rng.randint(0, 2))] + [subj, rel, obj]
        sentences.append(" ".join(words) + " .")
    salient = tuple((r, o) for s, r, o in facts if s == topic)
    return Post(topic=topic, salient=salient, text=" ".join(sentences))


def format_prompt(post_text: str, topic: str, two_word: bool = False) -> str:
    """The standard TL;DR prompt format, on toy content.

    The two-word prompt ends with the topic's name (``Two-Word TL;DR: <topic>``): in the default
    variant the summary's first word, the topic, is the token from which a small model looks
    the topic's facts up; a two-word summary ``<relation> <object>`` has no such token, and
    without it a 3-layer model cannot find the fact at all (measured: SFT r* -0.14 of 0.78).
    Ending the prompt on it keeps writing exactly as hard as checking, which is the control."""
    if two_word:
        return f"SUBREDDIT: r/toy\n\nTITLE: about {topic}\n\nPOST: {post_text}\n\nTwo-Word TL;DR: {topic}"
    return f"SUBREDDIT: r/toy\n\nTITLE: about {topic}\n\nPOST: {post_text}\n\nTL;DR:"


def parse_post(post: str) -> list[tuple[str, str, str]]:
    """The ``(subject, relation, object)`` facts of a post body."""
    facts = []
    for sentence in post.split(" ."):
        words = [w for w in sentence.split() if w not in FILLERS]
        if len(words) == 3 and words[0] in SUBJECTS:
            facts.append((words[0], words[1], words[2]))
    return facts


def canonical(facts) -> list[tuple[str, str]]:
    """``(relation, object)`` facts in the canonical summary order: by relation, as in RELATIONS."""
    return sorted(facts, key=lambda f: RANK.get(f[0], len(RELATIONS)))


RANK = {r: i for i, r in enumerate(RELATIONS)}
TWO_WORD_MARK = "(two words)"


def judge_post(post: Post, two_word: bool = False) -> str:
    """The text a judge reads as the post: the header line (what was asked) plus the body."""
    return f"about {post.topic}{' ' + TWO_WORD_MARK if two_word else ''}\n{post.text}"


def read_judge_post(post: str) -> tuple[str | None, bool, str]:
    """``(topic, two_word, body)`` of a judge-visible post (:func:`judge_post`): the topic named
    by its header line ``about <topic>`` (None without a header), whether the header marks the
    two-word control, and the body."""
    lines = post.split("\n", 1)
    if len(lines) > 1 and lines[0].startswith("about "):
        return lines[0].split()[1], lines[0].endswith(TWO_WORD_MARK), lines[1]
    return None, False, post


def say(words) -> str:
    """A completion of ``words``: a leading space, then the words."""
    return " " + " ".join(words)
