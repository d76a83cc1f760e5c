"""The task's data, in one record schema whatever the task (:mod:`allroads.tasks.base`).

Writes ``sft_train, sft_val, sft_test, pft_train, pft_val`` and ``eval_prompts`` (a seeded
subsample of ``sft_test``: the prompts every policy is judged on), ``pretrain`` (the tiny base
models' corpus; empty for hub models) and ``stats.json``.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..bradley_terry import label_agreement
from ..io import write_json, write_jsonl
from .registry import get_task


def eval_subset(test_rows: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` test prompts chosen by ``seed``, in a stable order (all of them if fewer)."""
    idx = sorted(random.Random(seed).sample(range(len(test_rows)), min(n, len(test_rows))))
    return [test_rows[i] for i in idx]


def build(task_cfg: dict, models_cfg: dict, out_dir: str | Path) -> dict:
    """Every data file of the task of ``task_cfg`` (the config's ``task``) under ``out_dir``;
    returns the stats written to ``stats.json``."""
    out_dir = Path(out_dir)
    task = get_task(task_cfg)
    splits = task.write_splits(out_dir, models_cfg)
    write_jsonl(out_dir / "pretrain.jsonl", task.pretraining_corpus())
    stats = {}
    if task.has_reward:
        stats["label_agreement_with_r*"] = label_agreement(task.reward, splits["pft_train"])
    evals = eval_subset(splits["sft_test"], task_cfg["n_eval_prompts"], task_cfg["seed"])
    write_jsonl(out_dir / "eval_prompts.jsonl", evals)
    stats.update({name: len(rows) for name, rows in splits.items()})
    stats["eval_prompts"] = len(evals)
    stats["pretrain"] = sum(1 for _ in open(out_dir / "pretrain.jsonl"))
    write_json(out_dir / "stats.json", stats)
    return stats
