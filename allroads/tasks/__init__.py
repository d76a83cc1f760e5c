"""Tasks behind one interface (:class:`allroads.tasks.base.Task`), registered by ``task.kind``
(:data:`TASKS`); :func:`get_task` builds the config's task, :func:`build` writes its data.

Today's tasks: ``toy`` (:mod:`allroads.tasks.facts`, the facts toy; ``task.two_word``: its
two-word control), ``paths`` (:mod:`allroads.tasks.paths`, shortest paths on a
fixed graph; ``task.paths.first_hop``: its first-hop control) and ``tldr`` (:mod:`allroads.tasks.tldr`, Reddit TL;DR from the hub).
"""

from .base import SPLITS, Task, TaskError
from .data import build, eval_subset
from .registry import TASKS, get_task, task_class

__all__ = ["SPLITS", "TASKS", "Task", "TaskError", "build", "eval_subset", "get_task", "task_class"]
