"""The task's data, in one record schema whatever the source: the toy task or hub TL;DR.

Writes ``sft_train, sft_val, sft_test, pft_train, pft_val`` and ``eval_prompts`` (a seeded
subsample of ``sft_test``: the prompts every policy is judged on) plus ``stats.json``.
"""

from __future__ import annotations

import random
from pathlib import Path

from . import toytask
from .io import read_jsonl, write_json, write_jsonl

SPLITS = ("sft_train", "sft_val", "sft_test", "pft_train", "pft_val")


def eval_subset(test_rows: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` test prompts chosen by ``seed``, in a stable order (all of them if fewer)."""
    idx = sorted(random.Random(seed).sample(range(len(test_rows)), min(n, len(test_rows))))
    return [test_rows[i] for i in idx]


def build(task_cfg: dict, models_cfg: dict, out_dir: str | Path) -> dict:
    out_dir = Path(out_dir)
    if task_cfg["kind"] == "toy":
        splits = toytask.build_splits(
            dict(task_cfg["toy"], two_word=task_cfg.get("two_word", False)), task_cfg["seed"]
        )
        for name in SPLITS:
            write_jsonl(out_dir / f"{name}.jsonl", splits[name])
        # the tiny base models' pretraining corpus: a disjoint stream from another seed
        pretrain = toytask.pretraining_corpus(
            dict(task_cfg["toy"], two_word=task_cfg.get("two_word", False)),
            task_cfg["toy"]["pretrain"],
            task_cfg["seed"] + 1_000_003,
        )
        write_jsonl(out_dir / "pretrain.jsonl", pretrain)
        stats = {"label_agreement_with_r*": toytask.label_agreement(splits["pft_train"])}
    else:
        from . import hub  # the real hub loaders; only the paper-scale path needs them
        from .models import load_tokenizer

        # queries are truncated by the tokenizer all sizes share (Pythia's)
        first = next(iter(models_cfg.values()))
        tokenizer = load_tokenizer(first["hub"])
        hub.build_tldr_splits(task_cfg, tokenizer, out_dir)
        splits = {name: read_jsonl(out_dir / f"{name}.jsonl") for name in SPLITS}
        write_jsonl(out_dir / "pretrain.jsonl", [])  # hub models come pretrained
        stats = {}
    evals = eval_subset(splits["sft_test"], task_cfg["n_eval_prompts"], task_cfg["seed"])
    write_jsonl(out_dir / "eval_prompts.jsonl", evals)
    stats.update({name: len(rows) for name, rows in splits.items()})
    stats["eval_prompts"] = len(evals)
    stats["pretrain"] = sum(1 for _ in open(out_dir / "pretrain.jsonl"))
    write_json(out_dir / "stats.json", stats)
    return stats
