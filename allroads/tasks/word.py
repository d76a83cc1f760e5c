"""A synthetic word-level task whose content lives in one module of its own (the facts toy's
:mod:`allroads.toytask`, the path task's :mod:`allroads.pathtask`): its splits, pretraining
corpus, hidden reward r*, minimal check pairs and slip kinds, reached through the interface the
same way for every such task. A subclass names its ``content`` module and says how its options
become the module's settings (:meth:`WordTask.settings`); the tokenizer (its vocabulary) stays
its own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ..io import write_jsonl
from .base import SPLITS, Task

PRETRAIN_SEED_OFFSET = 1_000_003  # the pretraining corpus: a disjoint stream from another seed


class WordTask(Task):
    content: ModuleType  # build_splits, pretraining_corpus, true_reward, check_pairs, slip_kind
    has_reward = True

    def settings(self) -> dict[str, Any]:
        """The content module's settings: the task's options (a subclass adds its switches)."""
        return dict(self.options)

    def write_splits(self, out_dir: Path, models_cfg: Mapping[str, Any]) -> dict[str, list[dict]]:
        splits = self.content.build_splits(self.settings(), self.seed)
        for name in SPLITS:
            write_jsonl(Path(out_dir) / f"{name}.jsonl", splits[name])
        return splits

    def pretraining_corpus(self) -> list[dict]:
        opts = self.settings()
        return self.content.pretraining_corpus(
            opts, opts["pretrain"], self.seed + PRETRAIN_SEED_OFFSET
        )

    def reward(self, post: str, completion: str) -> float:
        return self.content.true_reward(post, completion)

    @property
    def label_temperature(self) -> float:
        return self.settings()["label_temperature"]

    def check_pairs(self, rows: list[dict]) -> list[dict]:
        return self.content.check_pairs(rows)

    def slip_kind(self, post: str, a: str, b: str) -> str:
        return self.content.slip_kind(post, a, b)
