"""The gap figure (allroads.gap, rules/gap.smk): strata of the knob, the per-stratum paired
gap with its bootstrap interval and per-seed means, r* read through the task, the target."""

import json
import re
import subprocess
import sys
from pathlib import Path

import configs
import numpy as np
import pandas as pd
import pytest
import yaml

from allroads import gap, pathtask
from allroads.io import DataError
from allroads.tasks import TaskError, get_task

ROOT = Path(__file__).resolve().parent.parent


def paths_config() -> dict:
    """The path task's config: the default."""
    return configs.load()


def test_strata_merge_sparse_values_low_to_high_and_the_tail_into_the_last():
    values = [2] * 30 + [3] * 10 + [4] * 20 + [5] * 5 + [6] * 3
    got = [(s.lo, s.hi, s.label) for s in gap.strata(values, 25)]
    assert got == [(2, 2, "2"), (3, 6, "≥3")]
    got = [(s.lo, s.hi, s.label) for s in gap.strata(values, 10)]
    assert got == [(2, 2, "2"), (3, 3, "3"), (4, 6, "≥4")]  # 5 and 6: 8 prompts
    assert [s.label for s in gap.strata([7, 8], 25)] == ["≥7"]  # too few: one stratum


def synthetic(noise: float = 0.0):
    """20 prompts at each distance 2, 3, 4 and 2 seeds: dpo scores 1, online-sft 1 + d/10 +
    seed/100 (+ prompt noise shared by both policies' seeds when ``noise``)."""
    rng = np.random.default_rng(0)
    stratum_of = {f"p{d}-{i}": d for d in (2, 3, 4) for i in range(20)}
    shift = {p: noise * rng.standard_normal() for p in stratum_of}
    records = []
    for p, d in stratum_of.items():
        for seed in (0, 1):
            base = 1.0 + shift[p]
            records.append(dict(size="s", seed=seed, policy="dpo", prompt_id=p, score=base))
            records.append(dict(size="s", seed=seed, policy="online-sft", prompt_id=p,
                                score=base + d / 10 + seed / 100 + noise * rng.standard_normal()))  # fmt: skip
    return records, stratum_of


def test_the_gap_per_stratum_is_the_paired_difference_with_per_seed_means():
    records, stratum_of = synthetic()
    comps = [["online-sft", "dpo"], ["online-dpo", "dpo2x"]]  # the second was not evaluated
    t = gap.gap_table(records, comps, stratum_of, min_prompts=20, resamples=200)
    assert list(t["stratum"]) == ["2", "3", "4"]
    assert set(t["policy"]) == {"online-sft"} and set(t["n_prompts"]) == {20}
    for r in t.to_dict("records"):
        d = int(r["stratum"]) / 10
        assert r["diff"] == pytest.approx(d + 0.005)
        assert (r["seed_0"], r["seed_1"]) == (pytest.approx(d), pytest.approx(d + 0.01))
        assert r["se_seeds"] == pytest.approx(0.005)
        assert r["ci_low"] == pytest.approx(d + 0.005) == r["ci_high"]  # no prompt spread
        assert r["mean_policy"] - r["mean_baseline"] == pytest.approx(r["diff"])
    pooled = gap.gap_table(records, comps, None, resamples=200)
    assert list(pooled["stratum"]) == ["all"] and pooled["n_prompts"].item() == 60
    assert pooled["diff"].item() == pytest.approx(0.305)


def test_the_interval_is_over_the_strata_prompts_and_covers_the_gap():
    records, stratum_of = synthetic(noise=0.3)
    t = gap.gap_table(records, [["online-sft", "dpo"]], stratum_of, min_prompts=20)
    assert ((t["ci_low"] < t["diff"]) & (t["diff"] < t["ci_high"])).all()
    # shared prompt noise cancels in the paired difference: the interval is the residual's
    assert ((t["ci_high"] - t["ci_low"]) < 0.6).all()
    md = gap.to_markdown(t, "d", {"online-sft": "Online", "dpo": "DPO"})
    assert "post-hoc strata" in md and "| task | s | 2 | 20 | Online − DPO |" in md


def test_r_star_and_the_stratum_come_from_the_task(tmp_path):
    task = get_task(paths_config()["task"])
    settings = task.settings()
    g = pathtask.graph_of(settings)
    s, t = next((s, t) for s in range(g.n) for t in range(g.n) if g.dist[s][t] == 3)
    post = pathtask.judge_post(settings, s, t)
    assert task.stratum(post) == 3
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "q", "post": post}) + "\n")
    samples = tmp_path / "dpo.samples.jsonl"
    completions = [f" n{t}", " n0 n1"]
    samples.write_text("".join(json.dumps({"prompt_id": "q", "completion": c}) + "\n"
                               for c in completions))  # fmt: skip
    posts, rows = gap.read_scores(task, str(prompts), [("s", 0, "dpo", str(samples))])
    assert posts == {"q": post}
    want = sum(pathtask.true_reward(post, c) for c in completions) / 2
    assert rows == [dict(size="s", seed=0, policy="dpo", prompt_id="q", score=want)]
    samples.write_text(json.dumps({"prompt_id": "other", "completion": " n1"}) + "\n")
    with pytest.raises(DataError, match=r"dpo.samples.jsonl: row 1: prompt_id 'other'"):
        gap.read_scores(task, str(prompts), [("s", 0, "dpo", str(samples))])


def test_a_task_without_strata_says_so():
    cfg = configs.load(configs.FACTS)
    with pytest.raises(TaskError, match="task.kind 'toy' has no strata"):
        get_task(cfg["task"]).stratum("any post")


def test_the_figure_is_drawn(tmp_path):
    records, stratum_of = synthetic(noise=0.3)
    t = gap.gap_table(records, [["online-sft", "dpo"]], stratum_of, min_prompts=20)
    c = gap.gap_table(records, [["online-sft", "dpo"]], None, run="control")
    from allroads import plots

    outs = [str(tmp_path / "gap.png"), str(tmp_path / "gap.pdf")]
    plots.gap_figure(pd.concat([t, c]), outs, "t", "d", gap.CAPTION)
    assert all(Path(o).stat().st_size > 0 for o in outs)


def smk(*args):
    p = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    return p.returncode, p.stdout + p.stderr


def job_counts(out: str) -> dict[str, int]:
    table = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_the_gap_target_resolves_for_the_path_task_and_is_not_in_all(tmp_path):
    cfg = dict(paths_config(), results=str(tmp_path / "r"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    rc, out = smk("-n", str(tmp_path / "r" / "figures" / "gap.png"), "--configfile",
                  str(tmp_path / "c.yaml"))  # fmt: skip
    assert rc == 0, out
    counts = job_counts(out)
    assert counts["gap"] == 1
    # the task's chain and the control's (first hop) for the comparisons' policies
    assert counts["sample_eval"] == 4 * len(cfg["seeds"])
    assert counts["control_sample_eval"] == 3 * len(cfg["control"]["seeds"])
    rc, out = smk("-n", "all", "--configfile", str(tmp_path / "c.yaml"))
    assert rc == 0, out
    assert "gap" not in job_counts(out)


def test_the_gap_target_of_a_task_without_strata_is_one_line(tmp_path):
    cfg = configs.load(configs.FACTS)
    cfg["results"] = str(tmp_path / "r")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    rc, out = smk("-n", str(tmp_path / "r" / "figures" / "gap.png"), "--configfile",
                  str(tmp_path / "c.yaml"))  # fmt: skip
    assert rc != 0
    assert "task.kind 'toy' has no strata (Task.stratum)" in out
    assert "Traceback" not in out
