"""The tasks by ``task.kind``: adding a task is one entry of :data:`TASKS`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Task, TaskError
from .facts import FactsTask
from .paths import PathsTask
from .tldr import TldrTask

TASKS: dict[str, type[Task]] = {c.kind: c for c in (FactsTask, PathsTask, TldrTask)}


def task_class(kind: str) -> type[Task]:
    """The task class of ``task.kind`` ``kind`` (what it has, before it is built)."""
    if kind not in TASKS:
        raise TaskError(f"config key task.kind: unknown task {kind!r} (known: {', '.join(TASKS)})")
    return TASKS[kind]


def get_task(task_cfg: Mapping[str, Any]) -> Task:
    """The task of the config's ``task`` section."""
    return task_class(task_cfg["kind"])(task_cfg)
