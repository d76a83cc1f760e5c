"""Does the facts toy experiment learn? The pipeline's own functions on a small config like
config/toy-facts.yaml.

These tests fail when a stage stops learning (a loss stuck at ln 2, a reward model at chance, a
DPO whose implicit reward ranks nothing): the failure mode that makes every figure noise. The
thresholds are clear margins over chance, well under what the facts config measures (see
docs/toy-facts.md), so they hold on any seed but not on a broken pipeline.
"""

import configs
import pytest

from allroads import base_models, diagnostics, reward_models, tasks, toytask, training
from allroads.config import stage_defaults
from allroads.io import read_jsonl
from allroads.reward_models import GlobalRM
from allroads.sampling import HFSampler

DEFAULT = configs.load(configs.FACTS)  # the facts task

pytestmark = pytest.mark.slow


def _hp(stage):
    return {**stage_defaults(stage), **DEFAULT["train"][stage]}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """data -> base -> SFT -> global RM and offline DPO, smaller than the facts config."""
    out = tmp_path_factory.mktemp("science")
    toy = dict(DEFAULT["task"]["toy"], pretrain=3000)
    toy["splits"] = dict(sft_train=3000, sft_val=10, sft_test=200, pft_train=1000, pft_val=300)
    task = dict(DEFAULT["task"], toy=toy, n_eval_prompts=150)
    tasks.build(task, {}, out / "data")
    data = {s: read_jsonl(out / "data" / f"{s}.jsonl") for s in (*tasks.SPLITS, "eval_prompts")}
    base_hp = {**stage_defaults("base"), **DEFAULT["base"], "epochs": 2}
    base_models.materialize_base(
        DEFAULT["models"]["toy-s"],
        base_hp,
        str(out / "data" / "pretrain.jsonl"),
        str(out / "base"),
        tokenizer=tasks.get_task(task).tokenizer(),
    )
    sft_hp = {**stage_defaults("sft"), **DEFAULT["train"]["sft"], "epochs": 4}
    training.train_sft(str(out / "base"), data["sft_train"], sft_hp, 0, "fp32", str(out / "sft"))
    training.train_global_rm(
        str(out / "sft"), data["pft_train"], _hp("global_rm"), 0, "fp32",
        str(out / "rm"),
    )  # fmt: skip
    training.train_dpo(
        str(out / "sft"), data["pft_train"], _hp("dpo"), 0, "fp32", str(out / "dpo"),
        ref_dir=str(out / "sft"),
    )  # fmt: skip
    return out, data


def eval_rstar(model_dir, data) -> float:
    prompts = data["eval_prompts"]
    rows = HFSampler(str(model_dir)).sample(
        prompts, 1, DEFAULT["eval"]["temperature"], DEFAULT["task"]["max_new_tokens"], 0
    )
    rewards = [
        toytask.true_reward(p["post"], r["completion"]) for p, r in zip(prompts, rows, strict=True)
    ]
    return sum(rewards) / len(rewards)


def test_global_rm_beats_chance_on_held_out_pairs(run):
    out, data = run
    val = data["pft_val"]
    rm = GlobalRM(str(out / "rm"))  # scores prompt + completion + EOS, as TRL trained it
    prompts = [r["prompt"] for r in val]
    sc = rm.score_text(prompts, [r["chosen"] for r in val])
    sr = rm.score_text(prompts, [r["rejected"] for r in val])
    tc = [toytask.true_reward(r["post"], r["chosen"]) for r in val]
    tr = [toytask.true_reward(r["post"], r["rejected"]) for r in val]
    acc_labels = diagnostics.pair_accuracy(sc, sr)
    acc_rstar = diagnostics.agreement_with_truth(sc, sr, tc, tr)
    assert acc_rstar >= 0.62, (acc_labels, acc_rstar)  # chance is 0.5
    assert acc_labels >= 0.56, (acc_labels, acc_rstar)  # the labels themselves: ~0.75 of r*


def test_offline_dpo_implicit_reward_ranks_held_out_pairs(run):
    out, data = run
    val = data["pft_val"]
    prompts = [r["prompt"] for r in val]
    sides = ("chosen", "rejected")
    lp = {}
    for m in ("sft", "dpo"):
        logps = reward_models.text_logps(
            str(out / m), prompts, *([r[k] for r in val] for k in sides)
        )
        lp.update({(m, side): v for side, v in zip(sides, logps, strict=True)})
    margin = [
        (a - b) - (c - d)
        for a, b, c, d in zip(
            lp["dpo", "chosen"],
            lp["sft", "chosen"],
            lp["dpo", "rejected"],
            lp["sft", "rejected"],
            strict=True,
        )
    ]
    acc = sum(m > 0 for m in margin) / len(margin)
    assert acc >= 0.58, acc


def test_sft_learned_the_task(run):
    """SFT moves r* well above the pretrained copy model, and below the references."""
    out, data = run
    base, sft = eval_rstar(out / "base", data), eval_rstar(out / "sft", data)
    ref = sum(toytask.true_reward(p["post"], p["reference"]) for p in data["eval_prompts"]) / len(
        data["eval_prompts"]
    )
    assert sft > base + 0.5, (base, sft)
    assert sft < ref, (sft, ref)


def test_which_checks_the_rm_and_dpo_learned(run):
    """The minimal-pair diagnostics (rm_check_<kind>, dpo_check_<kind>) on the trained models:
    both learned r*'s most visible check, a dropped fact, above chance (0.5) by more than 3
    standard errors of 300 pairs (0.03 each); an untrained or broken model sits at 0.5."""
    out, data = run
    m = diagnostics.check_metrics(
        toytask.check_pairs(data["pft_val"]), {"rm": str(out / "rm")}, {"dpo": str(out / "dpo")},
        sft=str(out / "sft"),
    )  # fmt: skip
    assert set(m) == {f"{who}_check_{k}" for who in ("rm", "dpo") for k in toytask.CHECKS}
    assert m["rm_check_drop"] >= 0.6, m
    assert m["dpo_check_drop"] >= 0.6, m
