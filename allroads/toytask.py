"""Toy-TL;DR: a seeded, synthetic stand-in for Reddit TL;DR with a hidden ground-truth reward.

What it is
----------
A "post" is a title naming a *topic* person plus a handful of short sentences ``<subject>
<relation> <object>``, padded with filler words. The facts whose subject is the topic are
*salient*; the others are distractors. A good summary names the topic and lists its salient
facts as ``<relation> <object>`` pairs in the *canonical order* (the order of
:data:`RELATIONS`, not the order of the post), nothing else.

The hidden reward r*(post, summary) is a sum of cheap local checks: +1 per salient fact
covered (an adjacent ``relation object`` bigram), +0.5 per consecutive pair of covered facts in
canonical order, +0.25 for naming the topic first, minus penalties for distractor facts, words
absent from the post, repetition and over-length. Every check looks at one or two adjacent
bigrams and the post. Generating a good summary is a multi-step computation: find the topic's
facts among the distractors, then emit them sorted by relation (find the smallest, then the
next, ...), then stop. That is the generation-verification gap of the default variant.

The control variant (``two_word: true``, Figure 5's analogue) has no such gap: one salient fact,
a two-word summary ``<relation> <object>`` and a horizon of a few tokens. Writing it and checking
it are the same single lookup, a bandit-like problem where the paper predicts online ≈ offline.

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

import random
from collections.abc import Callable
from dataclasses import dataclass

from . import bradley_terry

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


def _parse_post(post: str) -> list[tuple[str, str, str]]:
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


# --------------------------------------------------------------------------- the hidden reward


def read_judge_post(post: str) -> tuple[str | None, bool, str]:
    """``(topic, two_word, body)`` of a judge-visible post (:func:`judge_post`): the topic named
    by its header line ``about <topic>`` (None without a header), whether the header marks the
    two-word control, and the body."""
    lines = post.split("\n", 1)
    if len(lines) > 1 and lines[0].startswith("about "):
        return lines[0].split()[1], lines[0].endswith(TWO_WORD_MARK), lines[1]
    return None, False, post


def _scored(post: str, summary: str, topic: str | None = None):
    """What r* reads (:func:`true_reward`, :func:`slip_kind`): ``(topic, two_word, salient,
    distract, post_words, words)``: the topic (the header's unless given), the topic's and the
    other people's ``(relation, object)`` facts, the words of the post, and the summary's words
    without EOS and punctuation."""
    named, two_word, body = read_judge_post(post)
    topic = named if topic is None else topic
    facts = _parse_post(body)
    salient = {(r, o) for s, r, o in facts if s == topic}
    distract = {(r, o) for s, r, o in facts if s != topic}
    post_words = set(body.split()) | ({topic} if topic else set())
    words = [w for w in summary.replace(EOS, " ").split() if w not in PUNCT]
    return topic, two_word, salient, distract, post_words, words


def true_reward(post: str, summary: str, topic: str | None = None) -> float:
    """r*(post, summary): the hidden ground-truth reward of the toy task.

    ``post`` is the judge-visible post: a header line ``about <topic>`` (``about <topic> (two
    words)`` in the control variant), then the body. A sum of local checks over the summary's
    adjacent word pairs:

    - +1 per salient fact covered as an adjacent ``relation object`` bigram (once each);
    - +0.5 per consecutive pair of covered salient facts in canonical (RELATIONS) order;
    - +0.25 for naming the topic first (not in the two-word variant);
    - -0.5 per distractor fact, -0.5 per word absent from the post, -0.25 per repeated fact;
    - -0.1 per word beyond the length budget (1 + 2·#salient + 1 words; two-word: 2 words,
      -0.5 per extra word).
    """
    topic, two_word, salient, distract, post_words, words = _scored(post, summary, topic)
    reward = 0.0
    if words and words[0] == topic and not two_word:
        reward += 0.25
    seen: set[tuple[str, str]] = set()
    covered: list[str] = []  # relations of the covered salient facts, in summary order
    for a, b in zip(words, words[1:], strict=False):
        pair = (a, b)
        if pair in salient:
            if pair in seen:
                reward -= 0.25
            else:
                reward += 1.0
                covered.append(a)
        elif pair in distract:
            reward += -0.5 if pair not in seen else -0.25
        seen.add(pair)
    reward += 0.5 * sum(RANK[a] < RANK[b] for a, b in zip(covered, covered[1:], strict=False))
    reward -= 0.5 * sum(1 for w in words if w not in post_words)
    if two_word:
        reward -= 0.5 * max(0, len(words) - 2)
    else:
        reward -= 0.1 * max(0, len(words) - (2 + 2 * len(salient)))
    return round(reward, 6)


def judge_post(post: Post, two_word: bool = False) -> str:
    """The text a judge reads as the post: the header line (what was asked) plus the body."""
    return f"about {post.topic}{' ' + TWO_WORD_MARK if two_word else ''}\n{post.text}"


# --------------------------------------------------------------------------- summaries


def _say(words) -> str:
    return " " + " ".join(words)


def perfect_summary(post: Post, two_word: bool = False) -> str:
    facts = canonical(post.salient)
    if two_word:
        return _say(facts[0])
    return _say([post.topic] + [w for f in facts for w in f])


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
            return _say([rel, rng.choice([w for w in post.text.split() if w in OBJECTS])])
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
    return _say(words)


def _candidate_generators(
    post: Post, rng: random.Random, two_word: bool = False
) -> dict[str, Callable[[], str]]:
    """The pool of summary writers whose outputs the labeler compares (PFT pairs)."""
    body_words = [w for w in post.text.split() if w not in PUNCT]
    facts_all = _parse_post(post.text)
    distractors = [(r, o) for s, r, o in facts_all if s != post.topic]
    objects = [w for w in body_words if w in OBJECTS]
    absent = [o for o in OBJECTS if o not in body_words] or OBJECTS

    if two_word:
        (rel, obj) = canonical(post.salient)[0]
        return {
            "perfect": lambda: _say([rel, obj]),
            "distractor": lambda: _say(rng.choice(distractors)),
            "wrong_object": lambda: _say([rel, rng.choice(objects)]),
            "hallucinate": lambda: _say([rel, rng.choice(absent)]),
            "topic_relation": lambda: _say([post.topic, rel]),
            "random": lambda: _say(rng.sample(body_words, 2)),
            "three_words": lambda: _say([post.topic, rel, obj]),
        }

    def with_facts(facts):
        return _say([post.topic] + [w for f in facts for w in f])

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
        return _say(body_words[start : start + n])

    def random_words():
        return _say(rng.choice(body_words) for _ in range(rng.randint(3, 8)))

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


# --------------------------------------------------------------------------- minimal pairs

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
        facts = _parse_post(body)
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
        good = _say(lead + [w for f in (sal[:1] if two_word else sal) for w in f])
        for kind in CHECKS:
            bad = _say(lead + [w for f in slips[kind] for w in f])
            if true_reward(row["post"], good) > true_reward(row["post"], bad):
                out.append({**{k: row[k] for k in ("id", "prompt", "post")}, "kind": kind,
                            "chosen": good, "rejected": bad})  # fmt: skip
    return out


SLIPS = ("order", "drop", "distractor", "wrong_object", "repeat", "added_distractor", "other")


def _summary_parts(post: str, summary: str) -> dict[str, int]:
    """The counts r* adds up (see :func:`true_reward`) for one summary of a judge-visible post."""
    topic, _, salient, distract, post_words, words = _scored(post, summary)
    bigrams = list(zip(words, words[1:], strict=False))
    covered = list(dict.fromkeys(b for b in bigrams if b in salient))
    ranks = [RANK[r] for r, _ in covered]
    return {
        "salient": len(covered),
        "distractor": sum(b in distract for b in bigrams),
        "absent": sum(w not in post_words for w in words),
        "length": len(words),
        "repeat": len(bigrams) - len(set(bigrams)),
        "in_order": sum(a < b for a, b in zip(ranks, ranks[1:], strict=False)),
        "topic_first": int(bool(words) and words[0] == topic),
    }


def slip_kind(post: str, a: str, b: str) -> str:
    """Which of r*'s checks tells summaries ``a`` and ``b`` apart, in the terms of
    :data:`CHECKS` (one of :data:`SLIPS`): what two samples of one policy differ in. A swap of
    a topic fact for a distractor's is ``distractor``, one topic fact fewer (and shorter)
    ``drop``, a topic fact against a non-fact of the same length ``wrong_object``, the same
    facts in another order ``order``, a repeated fact ``repeat``, an extra distractor's fact
    ``added_distractor``; anything else (several slips at once, words absent from the post, the
    topic not named first) is ``other``."""
    pa, pb = _summary_parts(post, a), _summary_parts(post, b)
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


# --------------------------------------------------------------------------- labels


def label_pair(
    judge_text: str, a: str, b: str, rng: random.Random, temperature: float
) -> tuple[str, str, bool]:
    """Bradley–Terry labeler on r*: returns (chosen, rejected, agrees_with_r*)."""
    return bradley_terry.label_pair(true_reward, judge_text, a, b, rng, temperature)


def labeller_scores(
    judge_texts: list[str], completions: list[str], keys: list[str], temperature: float
) -> list[float]:
    """The labeler as a ranker of many samples (:func:`allroads.bradley_terry.labeller_scores`
    on r*): the top/bottom of a prompt's samples are what a verifier as noisy as the
    preference labels would pick (``online.ranker: labeller``)."""
    return bradley_terry.labeller_scores(true_reward, judge_texts, completions, keys, temperature)


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
                "post": judge_post(post, two_word),
            }
            if split.startswith("sft"):
                row["reference"] = reference_summary(
                    post, rng, task_cfg["reference_noise"], two_word,
                    task_cfg.get("reference_order", "canonical"),
                )  # fmt: skip
            else:
                gens = _candidate_generators(post, rng, two_word)
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


def label_agreement(rows: list[dict]) -> float:
    """Fraction of preference rows (with unequal r*) whose chosen side has the higher r*."""
    return bradley_terry.label_agreement(true_reward, rows)
