"""Judges: the ``oracle`` (the task's hidden ground-truth reward r*), ``openai``, and the
task's noisy ``labeller`` on r* (labels pairs of samples where the paper asks gpt-4o: Figure 8).
The oracle and the labeller need a task with r* (:attr:`allroads.tasks.Task.has_reward`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Comparison, Judge, Verdict
from .labeller import LabellerJudge
from .oracle import OracleJudge

if TYPE_CHECKING:
    from ..tasks.base import Task

__all__ = ["Comparison", "Judge", "Verdict", "OracleJudge", "LabellerJudge", "make_judge"]


def make_judge(
    name: str,
    judge_cfg: dict[str, Any],
    *,
    seed: int,
    workdir: str | None = None,
    task: Task | None = None,
) -> Judge:
    """Build the judge called ``name`` from the config's ``judge`` section; the oracle and the
    labeller judge by ``task``'s hidden reward (the labeller at its label temperature)."""
    if name in ("oracle", "labeller") and (task is None or not task.has_reward):
        kind = "no task" if task is None else f"task {task.kind!r}"
        raise ValueError(f"judge {name!r} needs a task with a hidden reward r* ({kind} has none)")
    if name == "oracle":
        return OracleJudge(task)
    if name == "labeller":
        return LabellerJudge(task, task.label_temperature, seed)
    if name == "openai":
        from .openai_judge import OpenAIJudge  # lazy: only this path needs the client

        return OpenAIJudge.from_config(judge_cfg["openai"], seed=seed, workdir=workdir)
    raise ValueError(
        f"config key judge.use: unknown judge {name!r} (known: oracle, openai, labeller)"
    )
