"""The shortest-path toy (``task.kind: paths``; :mod:`allroads.pathtask`) and its first-hop
control (``task.paths.first_hop: true``, or ``task.two_word: true``, the workflow's control
switch) behind the task interface. Options: ``task.paths`` over :data:`pathtask.DEFAULTS`.

r* reads the graph and its weights from the post's header (:func:`allroads.pathtask.read_post`),
so the graph fixed by ``task.paths.graph_seed`` travels with every record."""

from __future__ import annotations

from typing import Any

from .. import pathtask
from .word import WordTask


class PathsTask(WordTask):
    kind = "paths"
    options_key = "paths"
    content = pathtask
    slips = pathtask.SLIPS
    strata = "dist(s, t), the shortest route's length"

    def settings(self) -> dict[str, Any]:
        first_hop = self.options.get("first_hop", False) or self.two_word
        return pathtask.settings(dict(self.options, first_hop=first_hop))

    def stratum(self, post: str) -> int:
        """dist(s, t): the edges on a shortest route of the post's query (the gap figure)."""
        q = pathtask.read_post(post)
        return q.graph.dist[q.s][q.t]

    def tokenizer(self):
        """The word-level tokenizer over the graph's nodes (:func:`pathtask.vocabulary`), the
        same for the task and its control."""
        from ..models import word_tokenizer

        return word_tokenizer(
            pathtask.vocabulary(self.options), eos=pathtask.EOS, pad=pathtask.PAD, unk=pathtask.UNK
        )
