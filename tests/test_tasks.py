"""The task interface (allroads.tasks): the registry matches the config schema, a task without
r* refuses what needs r*, and the facts toy's task object gives what its module gives."""

from pathlib import Path

import configs
import pytest
import yaml

from allroads import toytask
from allroads.io import read_jsonl
from allroads.judging import make_judge
from allroads.tasks import SPLITS, TASKS, TaskError, get_task

ROOT = Path(__file__).resolve().parent.parent
FACTS = configs.load(configs.FACTS)


def test_every_schema_kind_is_a_registered_task():
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    kinds = schema["properties"]["task"]["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(TASKS)
    for kind, cls in TASKS.items():
        assert cls.kind == kind
        assert (
            cls.options_key is None or cls.options_key in schema["properties"]["task"]["properties"]
        )


def test_an_unknown_kind_names_the_key():
    with pytest.raises(TaskError, match="task.kind: unknown task 'nope'"):
        get_task({"kind": "nope", "seed": 0})


def test_a_task_without_a_hidden_reward_refuses_r_star():
    task = get_task({"kind": "tldr", "seed": 0, "tldr": {}})
    assert not task.has_reward and task.label_temperature is None and task.tokenizer() is None
    assert task.check_pairs([]) is None and task.slips is None
    with pytest.raises(TaskError, match="no hidden reward"):
        task.reward("a post", " a summary")
    for judge in ("oracle", "labeller"):
        with pytest.raises(ValueError, match="task 'tldr' has none"):
            make_judge(judge, {}, seed=0, task=task)


def test_the_facts_task_writes_its_splits_and_scores_with_r_star(tmp_path):
    toy = dict(FACTS["task"]["toy"], splits=dict.fromkeys(SPLITS, 20), pretrain=10)
    for two_word in (False, True):
        cfg = dict(FACTS["task"], toy=toy, two_word=two_word)
        task = get_task(cfg)
        out = tmp_path / str(two_word)
        rows = task.write_splits(out, {})
        assert rows == toytask.build_splits(dict(toy, two_word=two_word), cfg["seed"])
        assert {s: read_jsonl(out / f"{s}.jsonl") for s in SPLITS} == rows
        r = rows["pft_train"][0]
        assert task.reward(r["post"], r["chosen"]) == toytask.true_reward(r["post"], r["chosen"])
        assert task.label_temperature == toy["label_temperature"]
        assert len(task.pretraining_corpus()) == 10
        kinds = {p["kind"] for p in task.check_pairs(rows["pft_val"])}
        assert kinds and kinds <= set(toytask.CHECKS)
        assert task.slip_kind(r["post"], r["chosen"], r["chosen"]) in task.slips
