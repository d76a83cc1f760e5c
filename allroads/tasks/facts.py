"""The facts toy (``task.kind: toy``; :mod:`allroads.toytask`) and, with ``task.two_word``, its
two-word control, behind the task interface. Options: ``task.toy``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import toytask
from ..io import write_jsonl
from .base import SPLITS, Task

PRETRAIN_SEED_OFFSET = 1_000_003  # the pretraining corpus: a disjoint stream from another seed


class FactsTask(Task):
    kind = "toy"
    options_key = "toy"
    has_reward = True
    slips = toytask.SLIPS

    def _options(self) -> dict[str, Any]:
        return dict(self.options, two_word=self.two_word)

    def write_splits(self, out_dir: Path, models_cfg: Mapping[str, Any]) -> dict[str, list[dict]]:
        splits = toytask.build_splits(self._options(), self.seed)
        for name in SPLITS:
            write_jsonl(Path(out_dir) / f"{name}.jsonl", splits[name])
        return splits

    def pretraining_corpus(self) -> list[dict]:
        opts = self._options()
        return toytask.pretraining_corpus(opts, opts["pretrain"], self.seed + PRETRAIN_SEED_OFFSET)

    @staticmethod
    def tokenizer():
        """The word-level tokenizer over :func:`allroads.toytask.vocabulary` (the same for
        every config of the task)."""
        from ..models import word_tokenizer

        return word_tokenizer(
            toytask.vocabulary(), eos=toytask.EOS, pad=toytask.PAD, unk=toytask.UNK
        )

    def reward(self, post: str, completion: str) -> float:
        return toytask.true_reward(post, completion)

    @property
    def label_temperature(self) -> float:
        return self.options["label_temperature"]

    def check_pairs(self, rows: list[dict]) -> list[dict]:
        return toytask.check_pairs(rows)

    def slip_kind(self, post: str, a: str, b: str) -> str:
        return toytask.slip_kind(post, a, b)
