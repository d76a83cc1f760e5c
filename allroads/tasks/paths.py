"""The shortest-path toy (``task.kind: paths``; :mod:`allroads.pathtask`) and its first-hop
control (``task.paths.first_hop: true``, or ``task.two_word: true``, the workflow's control
switch) behind the task interface. Options: ``task.paths`` over :data:`pathtask.DEFAULTS`.

r* reads the graph and its weights from the post's header (:func:`allroads.pathtask.read_post`),
so the graph fixed by ``task.paths.graph_seed`` travels with every record."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import pathtask
from ..io import write_jsonl
from .base import SPLITS, Task
from .facts import PRETRAIN_SEED_OFFSET


class PathsTask(Task):
    kind = "paths"
    options_key = "paths"
    has_reward = True
    slips = pathtask.SLIPS

    def _options(self) -> dict[str, Any]:
        return dict(self.options, first_hop=self.options.get("first_hop", False) or self.two_word)

    def write_splits(self, out_dir: Path, models_cfg: Mapping[str, Any]) -> dict[str, list[dict]]:
        splits = pathtask.build_splits(self._options(), self.seed)
        for name in SPLITS:
            write_jsonl(Path(out_dir) / f"{name}.jsonl", splits[name])
        return splits

    def pretraining_corpus(self) -> list[dict]:
        opts = pathtask.settings(self._options())
        return pathtask.pretraining_corpus(opts, opts["pretrain"], self.seed + PRETRAIN_SEED_OFFSET)

    def tokenizer(self):
        """The word-level tokenizer over the graph's nodes (:func:`pathtask.vocabulary`), the
        same for the task and its control."""
        from ..models import word_tokenizer

        return word_tokenizer(
            pathtask.vocabulary(self.options), eos=pathtask.EOS, pad=pathtask.PAD, unk=pathtask.UNK
        )

    def reward(self, post: str, completion: str) -> float:
        return pathtask.true_reward(post, completion)

    @property
    def label_temperature(self) -> float:
        return pathtask.settings(self._options())["label_temperature"]

    def check_pairs(self, rows: list[dict]) -> list[dict]:
        return pathtask.check_pairs(rows)

    def slip_kind(self, post: str, a: str, b: str) -> str:
        return pathtask.slip_kind(post, a, b)
