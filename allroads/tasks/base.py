"""The task interface: everything the workflow asks of a task, so that no script or rule asks
which task it runs.

A task is built from the config's ``task`` section by :func:`allroads.tasks.get_task` (the
registry, keyed by ``task.kind``; ``task.two_word`` selects a task's control variant where it
has one). Building it is cheap and loads nothing: a toy task derives whatever it fixes (e.g. a
graph) from its options and ``task.seed``, so every job rebuilds the same object from the
config and r* may depend on it, not only on the post's text.

Every task gives

- its data: :meth:`Task.write_splits` writes the five splits (``sft_train, sft_val, sft_test,
  pft_train, pft_val``) in the shared record schema (SFT rows ``{id, prompt, post,
  reference}``, preference rows ``{id, prompt, post, chosen, rejected}``, completions starting
  with a space) and :meth:`Task.pretraining_corpus` the tiny base models' documents (empty for
  a task whose models come pretrained from the hub);
- the judge-visible post: the records' ``post`` field, the only text a judge (and r*) reads
  besides the completion; a task writes into it whatever its reward needs from the prompt;
- its tokenizer, where it builds one (:meth:`Task.tokenizer`; None: the hub models' own).

A task with a hidden reward (:attr:`Task.has_reward`) adds r* (:meth:`Task.reward`) and the
Bradley–Terry labeller on it (:attr:`Task.label_temperature`, :meth:`Task.labeller_scores`);
the oracle and labeller judges, the oracle and labeller rankers and every r* diagnostic use
those. Optional diagnostics, each None where the task has none: :meth:`Task.check_pairs`
(minimal pairs, one of r*'s checks each) and :attr:`Task.slips` with :meth:`Task.slip_kind`
(what two samples of one policy differ in); :attr:`Task.strata` with :meth:`Task.stratum` (the
gap figure's knob per prompt, allroads.gap).

A new task is a subclass in its own module of this package (e.g. ``paths.py``), one entry of
:data:`allroads.tasks.registry.TASKS` and its ``task.kind`` (and options key) in
schemas/config.schema.yaml (tests/test_tasks.py checks the two agree). Its content (grammar,
writers, r*) may live in a standalone module (``allroads/toytask/``, ``allroads/pathtask.py``)
that does not import this package; a task whose r* needs more than the post's text (a graph
fixed by its options and ``task.seed``) builds that in ``__init__`` and reads it in
:meth:`Task.reward`. Everything that needs r* is handed the task object, never the function.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from .. import bradley_terry

SPLITS = ("sft_train", "sft_val", "sft_test", "pft_train", "pft_val")  # every task writes these


class TaskError(ValueError):
    """A task was asked for something it does not have (e.g. r* of a task without one)."""


class Task(ABC):
    """One task, built from the config's ``task`` section."""

    kind: ClassVar[str]  # its ``task.kind``
    options_key: ClassVar[str | None] = None  # ``task.<options_key>``: its own options
    has_reward: ClassVar[bool] = False  # a hidden reward r* (oracle, labeller, r* metrics)
    slips: ClassVar[tuple[str, ...] | None] = None  # the kinds :meth:`slip_kind` returns
    strata: ClassVar[str | None] = None  # what :meth:`stratum` measures (an axis label)

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.cfg = dict(cfg)
        self.seed = int(cfg["seed"])
        self.two_word = bool(cfg.get("two_word", False))  # the control variant

    @property
    def options(self) -> dict[str, Any]:
        """The task's own options, ``task.<options_key>``."""
        if self.options_key is None:
            return {}
        if self.options_key not in self.cfg:
            raise TaskError(
                f"config key task.{self.options_key}: required by task.kind {self.kind!r}"
            )
        return self.cfg[self.options_key]

    # ------------------------------------------------------------------ data

    @abstractmethod
    def write_splits(self, out_dir: Path, models_cfg: Mapping[str, Any]) -> dict[str, list[dict]]:
        """Write ``{out_dir}/{split}.jsonl`` for the five splits; return their rows.
        ``models_cfg``: the config's ``models`` (a hub task truncates with their tokenizer)."""

    def pretraining_corpus(self) -> list[dict]:
        """The tiny base models' pretraining documents (``{id, prompt, post, reference}``)."""
        return []

    def tokenizer(self):
        """The tokenizer this task's tiny models use (a ``transformers`` tokenizer), or None
        where the models bring their own (hub checkpoints)."""
        return None

    # ------------------------------------------------------------------ the hidden reward

    def reward(self, post: str, completion: str) -> float:
        """r*(post, completion) on a record's judge-visible ``post``."""
        raise TaskError(f"task {self.kind!r} has no hidden reward r*")

    @property
    def label_temperature(self) -> float | None:
        """The Bradley–Terry temperature of the task's labeller (None without r*)."""
        return None

    def labeller_scores(
        self, posts: list[str], completions: list[str], keys: list[str]
    ) -> list[float]:
        """The labeller as a ranker of samples (:func:`allroads.bradley_terry.labeller_scores`)."""
        if self.label_temperature is None:
            raise TaskError(f"task {self.kind!r} has no labeller (no hidden reward r*)")
        return bradley_terry.labeller_scores(
            self.reward, posts, completions, keys, self.label_temperature
        )

    # ------------------------------------------------------------------ optional diagnostics

    def check_pairs(self, rows: list[dict]) -> list[dict] | None:
        """Minimal pairs testing one of r*'s checks each, from preference rows (``id, prompt,
        post``): rows ``{id, prompt, post, kind, chosen, rejected}``; None: no such pairs."""
        return None

    def slip_kind(self, post: str, a: str, b: str) -> str | None:
        """Which of :attr:`slips` tells completions ``a`` and ``b`` apart (None: no slips)."""
        return None

    def stratum(self, post: str) -> int:
        """The post's value of the task's gap knob, an ordered integer (e.g. the shortest
        route's length): the gap figure's strata (allroads.gap). Only where :attr:`strata`."""
        raise TaskError(
            f"task.kind {self.kind!r} has no strata (Task.stratum): the gap figure needs a task "
            "whose prompts have a gap knob, e.g. task.kind paths"
        )
