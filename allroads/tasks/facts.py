"""The facts toy (``task.kind: toy``; :mod:`allroads.toytask`) and, with ``task.two_word``, its
two-word control, behind the task interface. Options: ``task.toy``."""

from __future__ import annotations

from typing import Any

from .. import toytask
from .word import WordTask


class FactsTask(WordTask):
    kind = "toy"
    options_key = "toy"
    content = toytask
    slips = toytask.SLIPS

    def settings(self) -> dict[str, Any]:
        return dict(self.options, two_word=self.two_word)

    @staticmethod
    def tokenizer():
        """The word-level tokenizer over :func:`allroads.toytask.vocabulary` (the same for
        every config of the task)."""
        from ..models import word_tokenizer

        return word_tokenizer(
            toytask.vocabulary(), eos=toytask.EOS, pad=toytask.PAD, unk=toytask.UNK
        )
