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
only visible to the labeller (:mod:`allroads.bradley_terry`) and to the oracle judge; the task
interface (:class:`allroads.tasks.facts.FactsTask`) hands it to them.

Modules: :mod:`~allroads.toytask.posts` (words, posts, prompts, the judge-visible post),
:mod:`~allroads.toytask.reward` (r*), :mod:`~allroads.toytask.writers` (summaries, pairs,
splits, pretraining corpus), :mod:`~allroads.toytask.checks` (minimal pairs, slip kinds). This
package does not import :mod:`allroads.tasks`.
"""

from .checks import CHECKS, SLIPS, check_pairs, slip_kind
from .posts import (
    EOS,
    PAD,
    RANK,
    UNK,
    Post,
    canonical,
    format_prompt,
    judge_post,
    make_post,
    read_judge_post,
    vocabulary,
)
from .reward import Terms, reward_terms, true_reward
from .writers import (
    build_splits,
    candidate_writers,
    copy_document,
    perfect_summary,
    pretraining_corpus,
    reference_summary,
)

__all__ = [
    "CHECKS", "EOS", "PAD", "RANK", "SLIPS", "UNK", "Post", "Terms", "build_splits",
    "candidate_writers", "canonical", "check_pairs", "copy_document", "format_prompt",
    "judge_post", "make_post", "perfect_summary", "pretraining_corpus", "read_judge_post",
    "reference_summary", "reward_terms", "slip_kind", "true_reward", "vocabulary",
]  # fmt: skip
