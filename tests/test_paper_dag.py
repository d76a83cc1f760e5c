"""Dry run of the paper-scale DAG under the Slurm profile (`snakemake --profile slurm all`):
exact job counts per rule, and what every GPU job would ask Slurm for.

The dry run goes to an empty results folder (``--config results=...``), so existing outputs in
the checkout do not change the counts. No cluster is needed (a dry run submits nothing).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from allroads import plan
from profiles import without_conda

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
PAPER = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())

SIZES = ["pythia-1.4b", "pythia-2.8b", "pythia-6.9b"]
# rule -> key of config/paper.yaml `resources:` (allroads.plan `Plan.res()`)
GPU_RULES = {
    "sft": "sft",
    "global_rm": "global_rm",
    "offline_dpo": "dpo",
    "online_dpo": "dpo",
    "sample_online": "sample",
    "sample_eval": "sample",
    "label_online": "score",
    "diagnose": "score",
    "diagnose_variants": "score",  # the variants' own RMs and offline DPO on pft_val (Figs. 6-8)
    "local_rm": "dpo",  # the RM study (rules/rm_study.smk)
    "sample_bon": "sample",
    "score_bon": "score",
    "rm_val": "score",
}
TRAINING = {"sft", "global_rm", "offline_dpo", "online_dpo", "local_rm"}
CPU_RULES = {
    "data", "base", "judge", "table", "figure", "table_diagnostics", "variant_pairs",
    "extra_prompts", "score_rouge", "judge_budget", "two_word_data",
}  # fmt: skip
CPU_RULES |= {"judge_bon", "table_fig9", "table_bon", "figure_rm_study"}  # the RM study


def base_rule(rule: str) -> str:
    """Figure 5's control run (rules/control.smk) is the same rules, renamed control_*."""
    return rule.removeprefix("control_")


def dry_run(tmp: Path, *extra: str) -> tuple[str, float]:
    cmd = [
        str(SNAKEMAKE),
        "all",
        "-n",
        "--profile",
        str(without_conda("slurm", tmp / "profile")),
        "--config",
        f"results={tmp}/paper",
        *extra,
    ]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    dt = time.perf_counter() - t0
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout + p.stderr, dt


def parse_jobs(out: str) -> list[dict]:
    """Each `rule X:` block of the dry-run log -> {rule, wildcards, resources}."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", out):
        m = re.match(r"(?:local)?rule (\w+):\n", block)
        if not m:
            continue
        job = {"rule": m.group(1), "wildcards": {}, "resources": {}}
        for line in block.splitlines():
            line = line.strip()
            for key in ("wildcards", "resources"):
                if line.startswith(f"{key}: "):
                    for kv in line[len(key) + 2 :].split(", "):
                        k, _, v = kv.partition("=")
                        job[key][k] = int(v) if re.fullmatch(r"-?\d+", v) else v
        jobs.append(job)
    return jobs


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    out, dt = dry_run(tmp_path_factory.mktemp("dag"))
    return parse_jobs(out), out, dt


# What each figure shows (config/paper.yaml `sizes`, `figure_scope`, rm_study.sizes; the
# authors' scripts, docs/paper-choices.md): Figures 3, 9, 10 at 1.4B and 2.8B, Figure 4's grid
# adds 6.9B, Figures 5-8 at 1.4B; 3 seeds everywhere.
FIG3_SIZES = ["pythia-1.4b", "pythia-2.8b"]
VARIANT_SIZES = ["pythia-1.4b"]


def test_exact_job_counts_per_rule(dag):
    """The paper DAG has, rule by rule, the jobs the plan enumerates (allroads.plan, from the
    figures back to the checkpoints; Figure 5's control run as control_*): two independent
    derivations of one DAG, 361 jobs."""
    jobs, out, _ = dag
    paper = plan.validated(dict(PAPER, results="results/paper"))
    expected = paper.job_counts()
    assert Counter(j["rule"] for j in jobs) == expected
    assert re.search(rf"^total\s+{sum(expected.values())}$", out, re.M)
    assert sum(expected.values()) == 361
    # what each figure shows, as the authors ran it (config figure_scope): Figures 3, 9, 10 at
    # 1.4B and 2.8B, Figure 4's grid adds 6.9B, Figures 5-8 at 1.4B; three seeds
    assert PAPER["sizes"] == FIG3_SIZES and len(PAPER["seeds"]) == 3
    assert all(
        PAPER["figure_scope"][f]["sizes"] == VARIANT_SIZES for f in ("fig5", "fig6", "fig7", "fig8")
    )
    # online DPO: 24 + 3 jobs (the count before per-figure scope: 54 + 9)
    assert expected["online_dpo"] + expected["control_online_dpo"] == 27
    # the rouge pairs per (1.4B, seed), ONE judged (gpt-4o) pair set shared by the seeds
    assert expected["variant_pairs"] == len(PAPER["seeds"]) + 1
    # one SFT per size shared by every seed (Section 3), one default RM per (size, seed)
    rms = [m for m in paper.inventory()["global_rm"] if m.endswith("/global_rm")]
    assert (expected["sft"], len(rms)) == (len(SIZES), len(SIZES) * len(PAPER["seeds"]))


def test_each_figure_shows_its_own_sizes_and_seeds(dag):
    """A figure's table reads the evaluations of exactly its sizes and seeds."""
    _, out, _ = dag
    want = {"fig3": FIG3_SIZES, "fig6": VARIANT_SIZES, "fig7": VARIANT_SIZES, "fig8": VARIANT_SIZES}
    for fig, sizes in want.items():
        [table] = [b for b in blocks_of(out, "table") if f"tables/{fig}." in b]
        grid = {re.search(r"/eval/([\w.-]+)/seed(\d+)/", f).groups() for f in field(table, "input")}
        assert grid == {(s, str(k)) for s in sizes for k in PAPER["seeds"]}, fig
    [table] = blocks_of(out, "control_table")
    grid = {re.search(r"/eval/([\w.-]+)/seed(\d+)/", f).groups() for f in field(table, "input")}
    assert grid == {(s, str(k)) for s in VARIANT_SIZES for k in PAPER["seeds"]}


def test_figure8_trains_every_seed_on_one_labelled_pair_set(dag):
    """One gpt-4o-labelled pair set per size (seed 0's SFT samples), shared by every seed's
    judged global RM and DPO, as the authors' one gpt-pair data set; each seed's own
    ROUGE-L pairs (no judge) stay per seed."""
    _, out, _ = dag
    judged = [b for b in blocks_of(out, "variant_pairs") if "variant=judged" in b]
    assert len(judged) == len(VARIANT_SIZES)
    [pairs] = field(judged[0], "output")[:1]
    assert pairs.endswith("/pairs/pythia-1.4b/seed0/judged.jsonl")
    users = [
        b for r in ("global_rm", "offline_dpo") for b in blocks_of(out, r)
        if field(b, "output")[0].rsplit("/", 1)[1].startswith("judged.")
    ]  # fmt: skip
    assert {re.search(r"seed(\d+)/judged\.", field(b, "output")[0]).group(1) for b in users} == {
        "0",
        "1",
        "2",
    }
    assert all(pairs in field(b, "input") for b in users)


def blocks_of(out: str, rule: str) -> list[str]:
    return [
        b for b in re.split(r"\n(?=(?:local)?rule \w+:\n)", out) if b.startswith(f"rule {rule}:\n")
    ]


def field(block: str, name: str) -> list[str]:
    return re.search(rf"^\s*{name}: (.*)$", block, re.M).group(1).split(", ")


def test_figure7_augments_the_sft_generator(dag):
    """Figure 7 as the authors ran it (REBEL generate_sft.sh --prompt_aug, online_dpo.sh
    --sft_aug): Online DPO (SFT) on the PFT prompts plus the SFT train prompts, against Online
    DPO (SFT); the extra pairs are the SFT's own samples on the extra prompts."""
    from allroads.figures import FIGURES

    assert FIGURES["fig7"]["comparisons"] == [["augment.online-sft", "online-sft"]]
    _, out, _ = dag
    [table] = [b for b in blocks_of(out, "table") if "tables/fig7." in b]
    inputs = field(table, "input")
    assert {re.search(r"/([\w.-]+)\.judge-", f).group(1) for f in inputs} == {
        "online-sft",
        "augment.online-sft",
    }
    samples = [b for b in blocks_of(out, "sample_online") if "gen=augment." in b]
    labels = [b for b in blocks_of(out, "label_online") if "gen=augment." in b]
    online = [b for b in blocks_of(out, "online_dpo") if "augment." in field(b, "output")[0]]
    assert samples and len(samples) == len(labels) == len(online)
    for b in samples:  # the shared SFT samples the extra prompts, nothing else
        size = re.search(r"size=([\w.-]+)", b).group(1)
        model, prompts = field(b, "input")
        assert model.endswith(f"/models/{size}/sft"), model
        assert prompts.endswith("/data/augment.prompts.jsonl")
        assert field(b, "output")[0].endswith("/augment.sft.samples.jsonl")
    for b in labels:  # ranked with the SFT's default samples on the PFT prompts, by the default RM
        d = re.search(r"output: (\S+)/augment\.sft\.pairs\.jsonl", b).group(1)
        ins = field(b, "input")
        assert f"{d}/sft.samples.jsonl" in ins and f"{d}/augment.sft.samples.jsonl" in ins
        assert ins[-1].endswith("/global_rm") and "augment" not in ins[-1].rsplit("/", 1)[1]
    for b in online:  # starts from, and regularizes to, the SFT
        init, ref, pairs = field(b, "input")
        assert init == ref and init.endswith("/sft") and pairs.endswith("/augment.sft.pairs.jsonl")


def test_label_online_writes_every_samples_score_beside_its_pairs(dag):
    """At paper scale too, every label_online job (the chain's generators, the variants' and
    Figure 5's control run's) writes its scores file beside its pairs, and each diagnose job
    reads the scores of its own (size, seed), which a label_online job writes."""
    _, out, _ = dag
    for prefix in ("", "control_"):
        labels = blocks_of(out, f"{prefix}label_online")
        assert labels
        written = set()
        for b in labels:
            outs = field(b, "output")
            [pairs] = [f for f in outs if f.endswith(".pairs.jsonl")]
            assert pairs.removesuffix(".pairs.jsonl") + ".scores.jsonl" in outs
            written |= set(outs)
        for b in blocks_of(out, f"{prefix}diagnose"):
            size, seed = re.search(r"size=([\w.-]+), seed=(\d+)", b).groups()
            scores = [f for f in field(b, "input") if f.endswith(".scores.jsonl")]
            assert scores and set(scores) <= written
            assert all(f"/online/{size}/seed{seed}/" in f for f in scores)


def job_spec(block: str) -> dict:
    """The JSON spec a training job's shell command passes to `python -m allroads.training`."""
    import json

    return json.loads(re.search(r"allroads\.training '(\{.*\})'", block).group(1))


def test_offline_dpo_on_sampled_pairs_is_tempered(dag):
    """Figures 6 and 8 (variants.<V>.temper_offline): offline DPO on pairs of SFT samples at
    T = 0.1 scales reference and policy logits by 1/T, as the authors' dpo_fix.py:221; offline
    DPO on the human pairs is untempered (T = 1)."""
    _, out, _ = dag
    seen = set()
    for b in blocks_of(out, "offline_dpo"):
        name = field(b, "output")[0].rsplit("/", 1)[1]
        spec = job_spec(b)
        want = 0.1 if name.split(".")[0] in ("rouge", "judged") else 1.0
        assert (spec["ref_temperature"], spec["policy_temperature"]) == (want, want), name
        seen.add(name)
    assert {"dpo", "dpo2x", "rouge.dpo", "rouge.dpo2x", "judged.dpo"} <= seen


def test_training_jobs_get_the_stage_settings(dag, tmp_path):
    """Weight decay reaches every stage's spec; the local RM runs train.dpo's settings
    (Table 4) unless train.local_rm sets its own (the authors' lr 3e-6, cosine)."""
    _, out, _ = dag
    for rule in ("sft", "global_rm", "offline_dpo", "online_dpo", "local_rm"):
        for b in blocks_of(out, rule):
            assert job_spec(b)["hp"]["weight_decay"] == 0.01, rule
    dpo = job_spec(blocks_of(out, "offline_dpo")[0])["hp"]
    for b in blocks_of(out, "local_rm"):
        hp = job_spec(b)["hp"]
        assert (hp["lr"], hp["schedule"]) == (dpo["lr"], dpo["schedule"]) == (3e-7, "linear")
    overlay = tmp_path / "local_rm.yaml"
    overlay.write_text("train: {local_rm: {lr: 3.0e-6, schedule: cosine}}\n")
    out2, _ = dry_run(tmp_path, "--configfile", str(ROOT / "config/paper.yaml"), str(overlay))
    local = [job_spec(b)["hp"] for b in blocks_of(out2, "local_rm")]
    assert local and all((hp["lr"], hp["schedule"]) == (3e-6, "cosine") for hp in local)
    assert all(hp["beta"] == pytest.approx(1 / 53) for hp in local)
    assert all(job_spec(b)["hp"]["lr"] == 3e-7 for b in blocks_of(out2, "offline_dpo"))


def test_figure5_starts_from_the_shared_bases(dag):
    """The control run's SFT starts from the main run's Pythia snapshots and writes under
    <results>/two-word/; its table is Figure 5's."""
    _, out, _ = dag
    blocks = [b for b in re.split(r"\n(?=(?:local)?rule \w+:\n)", out) if b.startswith("rule ")]
    sft = [b for b in blocks if b.startswith("rule control_sft:")]
    assert len(sft) == len(VARIANT_SIZES)  # Figure 5 at 1.4B
    for b in sft:
        size = re.search(r"wildcards: size=([\w.-]+)", b).group(1)
        assert re.search(rf"input: \S*/paper/models/{re.escape(size)}/base,", b), b[:400]
        assert re.search(rf"output: \S*/paper/two-word/models/{re.escape(size)}/sft$", b, re.M)
    table = next(b for b in blocks if b.startswith("rule control_table:"))
    assert "paper/two-word/tables/fig5.openai.csv" in table


def test_every_judge_call_waits_for_the_runs_bill(dag):
    """The whole run's judge cost (every role) is estimated, and checked against max_usd, by one
    job before any job that calls the judge: each judgment and each judged-pair job takes its
    output as input."""
    _, out, _ = dag
    blocks = re.split(r"\n(?=(?:local)?rule \w+:\n)", out)
    calls = [
        b for b in blocks if re.match(r"rule (?:control_)?(judge|judge_bon|variant_pairs):\n", b)
    ]
    judged = [b for b in calls if "variant=judged" in b or re.match("rule (control_)?judge", b)]
    # 42 evaluations (Figure 3: 5 policies x 6 runs; Figures 7, 8: 4 x 3), 15 of Best-of-N
    # picks (Figures 4, 10), 1 labelling (Figure 8's one pair set), 12 evaluations of Figure 5
    # (the control run, which waits on its own bill)
    assert len(judged) == 5 * 6 + 4 * 3 + 15 + 1 + 12
    # and the control's gpt-4o-written data (generation and labelling) waits on it too
    [tw] = [b for b in blocks if b.startswith("rule control_two_word_data:")]
    assert "two-word/judge_work/budget.json" in re.search(r"^\s*input: (.*)$", tw, re.M)[1]
    for b in calls:
        inputs = re.search(r"^\s*input: (.*)$", b, re.M).group(1)
        assert ("judge_work/budget.json" in inputs) == (b in judged), b[:300]
    assert len([b for b in blocks if b.startswith("rule judge_budget:")]) == 1
    assert len([b for b in blocks if b.startswith("rule control_judge_budget:")]) == 1


def test_every_size_and_seed_is_in_the_grid(dag):
    jobs, _, _ = dag
    sft = [j["wildcards"] for j in jobs if j["rule"] == "sft"]
    assert sorted(w["size"] for w in sft) == SIZES and not any("seed" in w for w in sft)
    rm = {
        (j["wildcards"]["size"], j["wildcards"]["seed"]) for j in jobs if j["rule"] == "global_rm"
    }
    assert rm == {(s, k) for s in SIZES for k in PAPER["seeds"]}


def expected_gpu_request(rule: str, size: str) -> dict:
    table = PAPER["resources"][GPU_RULES[rule]][size]
    train = rule in TRAINING
    return {
        "slurm_partition": "h100" if train else "a100",
        "gpu_model": "h100" if train else "a100",
        "nodes": 1,
        # 6.9B training: a full 8-GPU node (DeepSpeed ZeRO-3); everything else one GPU
        "gpu": 8 if (train and size == "pythia-6.9b") else 1,
        "mem_mb": table["mem_mb"],
        "runtime": table["runtime"],
        "cpus_per_task": table["cpus_per_task"],
    }


def test_gpu_rules_request_gpus_per_size(dag):
    jobs, _, _ = dag
    seen = set()
    for j in jobs:
        rule = base_rule(j["rule"])
        if rule not in GPU_RULES:
            continue
        want = expected_gpu_request(rule, j["wildcards"]["size"])
        got = {k: j["resources"].get(k) for k in want}
        assert got == want, (j["rule"], j["wildcards"])
        seen.add((j["rule"], j["wildcards"]["size"]))
    control = {"sft", "global_rm", "offline_dpo", "online_dpo", "sample_online", "sample_eval",
               "label_online", "diagnose"}  # fmt: skip
    fig4 = {"sft", "global_rm", "sample_bon", "score_bon"}  # Figure 4's 6.9B
    variants_only = {("diagnose_variants", "pythia-2.8b")}  # Figures 6-8: 1.4B
    assert seen == {(r, s) for r in GPU_RULES for s in FIG3_SIZES} - variants_only | {
        (r, "pythia-6.9b") for r in fig4
    } | {(f"control_{r}", s) for r in control for s in VARIANT_SIZES}


def test_training_jobs_show_their_launch_command(dag):
    """`-p` (the profile's printshellcmds) prints each training job's command: 6.9B jobs start
    one process per GPU through accelerate + DeepSpeed ZeRO-3, the others run in one process."""
    _, out, _ = dag
    blocks = re.split(r"\n(?=(?:local)?rule \w+:\n)", out)
    seen = Counter()
    for block in blocks:
        m = re.match(r"rule (\w+):\n", block)
        if not m or base_rule(m.group(1)) not in TRAINING:
            continue
        cmd = re.search(r"^Shell command: (.*)$", block, re.M).group(1)
        # the job's threads reach torch through the environment, not the (rerun-triggering) spec
        assert re.match(r"OMP_NUM_THREADS=\d+ ", cmd), cmd
        cmd = cmd.split(" ", 1)[1]
        size = re.search(r"wildcards: size=([\w.-]+)", block).group(1)
        if size == "pythia-6.9b":
            assert cmd.startswith(
                "accelerate launch --config_file config/accelerate/deepspeed_zero3.yaml "
                "--num_processes 8 --num_machines 1 --mixed_precision bf16 -m allroads.training "
            ), cmd
            assert '"nprocs":8' in cmd
        else:
            assert cmd.startswith("python -m allroads.training "), cmd
        seen[size] += 1
    assert set(seen) == set(SIZES)


def test_cpu_rules_stay_off_gpus(dag):
    jobs, _, _ = dag
    for j in jobs:
        if base_rule(j["rule"]) in CPU_RULES:
            assert j["resources"].get("slurm_partition") == "cpu", j
            assert not j["resources"].get("gpu"), j
            assert "gpu_model" not in j["resources"], j


class _Res(dict):
    __getattr__ = dict.__getitem__


@pytest.mark.parametrize(
    "rule,size,flags",
    [
        ("sft", "pythia-6.9b", ["-p h100", "--gpus=h100:8", "--nodes=1", "--cpus-per-task=64"]),
        ("offline_dpo", "pythia-1.4b", ["-p h100", "--gpus=h100:1", "--nodes=1"]),
        ("sample_bon", "pythia-6.9b", ["-p a100", "--gpus=a100:1", "--nodes=1"]),
        ("label_online", "pythia-2.8b", ["-p a100", "--gpus=a100:1"]),
    ],
)
def test_sbatch_line_the_plugin_would_submit(dag, rule, size, flags):
    """Feed the dry-run resources of one job to the slurm plugin's own sbatch builder."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    jobs, _, _ = dag
    job = next(j for j in jobs if j["rule"] == rule and j["wildcards"]["size"] == size)
    res = _Res(job["resources"])
    fake = SimpleNamespace(resources=res, threads=1, name=rule, is_group=lambda: False)
    params = {
        "run_uuid": "uuid",
        "slurm_logfile": "log",
        "comment_str": f"rule_{rule}",
        "account": "",
        "partition": f"-p {res['slurm_partition']}",
        "workdir": str(ROOT),
    }
    call = get_submit_command(fake, params) + set_gres_string(fake)
    for flag in flags:
        assert flag in call, call
    assert f"--mem {res['mem_mb']}" in call and f"-t {res['runtime']}" in call
