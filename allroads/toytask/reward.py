"""The facts toy's hidden reward r*: one reading of a summary against its post
(:func:`reward_terms`, every count r* adds up) and their sum (:func:`true_reward`). The
diagnostics' slip kinds (:mod:`allroads.toytask.checks`) compare the same terms."""

from __future__ import annotations

from typing import NamedTuple

from .posts import EOS, PUNCT, RANK, parse_post, read_judge_post


class Terms(NamedTuple):
    """What r* reads of one summary of a judge-visible post (:func:`reward_terms`)."""

    two_word: bool  # the post's header marks the two-word control
    topic_first: bool  # the summary's first word is the topic
    covered: tuple[str, ...]  # relations of the topic's facts said, first mention, in order
    in_order: int  # consecutive covered facts in canonical (RELATIONS) order
    salient_repeats: int  # a topic's fact said again
    distractors: int  # other people's facts said (first mention)
    distractor_repeats: int  # ... said again
    absent: int  # words absent from the post
    length: int  # words, without EOS and punctuation
    budget: int  # the length r* allows: topic + 2 words per topic fact + 1; two-word: 2
    repeats: int  # adjacent word pairs said before, facts or not


def reward_terms(post: str, summary: str) -> Terms:
    """Every count r* adds up for ``summary`` of the judge-visible ``post`` (a header line
    ``about <topic>``, ``about <topic> (two words)`` in the control, then the body): the
    summary's adjacent word pairs read once against the topic's and the other people's
    ``(relation, object)`` facts."""
    topic, two_word, body = read_judge_post(post)
    facts = parse_post(body)
    salient = {(r, o) for s, r, o in facts if s == topic}
    distract = {(r, o) for s, r, o in facts if s != topic}
    post_words = set(body.split()) | ({topic} if topic else set())
    words = [w for w in summary.replace(EOS, " ").split() if w not in PUNCT]
    seen: set[tuple[str, str]] = set()
    covered: list[str] = []
    salient_repeats = distractors = distractor_repeats = repeats = 0
    for pair in zip(words, words[1:], strict=False):
        again = pair in seen
        if pair in salient:
            if again:
                salient_repeats += 1
            else:
                covered.append(pair[0])
        elif pair in distract:
            if again:
                distractor_repeats += 1
            else:
                distractors += 1
        repeats += again
        seen.add(pair)
    return Terms(
        two_word=two_word,
        topic_first=bool(words) and words[0] == topic,
        covered=tuple(covered),
        in_order=sum(RANK[a] < RANK[b] for a, b in zip(covered, covered[1:], strict=False)),
        salient_repeats=salient_repeats,
        distractors=distractors,
        distractor_repeats=distractor_repeats,
        absent=sum(1 for w in words if w not in post_words),
        length=len(words),
        budget=2 if two_word else 2 + 2 * len(salient),
        repeats=repeats,
    )


def true_reward(post: str, summary: str) -> float:
    """r*(post, summary): the hidden ground-truth reward of the toy task, a sum of local checks
    over the summary's adjacent word pairs (:func:`reward_terms`):

    - +1 per salient fact covered as an adjacent ``relation object`` bigram (once each);
    - +0.5 per consecutive pair of covered salient facts in canonical (RELATIONS) order;
    - +0.25 for naming the topic first (not in the two-word variant);
    - -0.5 per distractor fact, -0.5 per word absent from the post, -0.25 per repeated fact;
    - -0.1 per word beyond the length budget (1 + 2·#salient + 1 words; two-word: 2 words,
      -0.5 per extra word).
    """
    t = reward_terms(post, summary)
    # multiples of 0.25 (exact in floating point), then the length penalty
    reward = 0.25 * (t.topic_first and not t.two_word) + len(t.covered) + 0.5 * t.in_order
    reward -= 0.25 * t.salient_repeats + 0.5 * t.distractors + 0.25 * t.distractor_repeats
    reward -= 0.5 * t.absent
    reward -= (0.5 if t.two_word else 0.1) * max(0, t.length - t.budget)
    return round(reward, 6)
