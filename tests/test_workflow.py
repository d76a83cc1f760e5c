"""The workflow as a user drives it: dry run of the default DAG, and a reduced end-to-end run."""

import copy
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from allroads import plan
from allroads.tasks import task_class
from allroads.warm import NOTE as WARM_NOTE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
TASK = task_class(DEFAULT["task"]["kind"])  # the default task (shortest paths)


def smk(*args, cwd=ROOT, timeout=900):
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return p.returncode, p.stdout + p.stderr


def kill_during_training(conf: Path, results: Path, timeout: float = 600) -> str:
    """Start the workflow, SIGKILL its process group once a training job is writing its
    checkpoint (an ``atomic_dir`` temp sibling exists under models/), return that output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(conf)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            tmps = [p for p in (results / "models").glob("*/seed*/.*.tmp") if p.is_dir()]
            if tmps:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                assert tmps[0].is_dir(), "the job finished before the kill: nothing was tested"
                # ".dpo.abc123.tmp" -> "dpo"
                return str(tmps[0].parent.relative_to(results) / tmps[0].name[1:].split(".")[0])
            time.sleep(0.1)
        raise AssertionError("no training job started before the workflow ended")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def job_counts(out: str) -> dict[str, int]:
    table = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_default_dag_dry_run(tmp_path):
    """Snakemake's dry run of the default config has, rule by rule, the jobs the plan
    enumerates (allroads.plan: every file the figures need, walked back to the checkpoints):
    two independent derivations of the DAG."""
    cfg = dict(DEFAULT, results=str(tmp_path / "r"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    rc, out = smk("-n", "--configfile", str(tmp_path / "c.yaml"))
    assert rc == 0, out
    counts = plan.validated(cfg).job_counts()
    assert job_counts(out) == counts
    # what the default config is for: Figures 3-10, Figure 5 from the control run, and the
    # pre-registered criteria from this run's diagnostics and the control run's
    assert {"table", "table_bon", "table_fig9", "control_table", "diagnose_variants"} <= set(counts)
    assert counts["table_prereg"] == 1 and "control_table_prereg" not in counts
    block = re.search(r"rule table_prereg:\n(.*?)\n\n", out, re.S).group(1)
    control = f"{tmp_path}/r/{cfg['control']['results']}/diagnostics/"
    assert control in block and f"{tmp_path}/r/diagnostics/" in block
    # wherever label_online runs (the chain, the variants' generators, the control run), it
    # writes every sample's score beside its pairs; the gate of diagnose reads the SFT's
    blocks = re.split(r"\n(?=rule \w+:\n)", out)
    for prefix in ("", "control_"):
        labels = [b for b in blocks if b.startswith(f"rule {prefix}label_online:")]
        assert len(labels) == counts[f"{prefix}label_online"]
        for b in labels:
            stem = re.search(r"output: (\S+)\.pairs\.jsonl", b).group(1)
            assert f"{stem}.scores.jsonl" in re.search(r"output: .*", b).group(0)
        diagnose = [b for b in blocks if b.startswith(f"rule {prefix}diagnose:")]
        assert len(diagnose) == len(cfg["seeds"])
        for b in diagnose:
            seed = re.search(r"seed=(\d+)", b).group(1)
            assert f"/online/toy-m/seed{seed}/sft.scores.jsonl" in re.search(r"input: .*", b)[0]


def test_figure5_is_the_control_run_from_the_shared_base(tmp_path):
    """Naming Figure 5's file builds the control task's chain, which starts from the default
    run's base model (built once, for both) and writes under <results>/<control.results>/."""
    cfg = dict(DEFAULT, results=str(tmp_path / "r"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    fig = tmp_path / "r" / cfg["control"]["results"] / "figures" / "fig5.oracle.png"
    rc, out = smk("-n", "-p", str(fig), "--configfile", str(tmp_path / "c.yaml"))
    assert rc == 0, out
    counts = plan.validated(cfg).job_counts()  # the control run's are control_*
    want = {k: v for k, v in counts.items() if k.startswith("control_") and "diagnos" not in k}
    # the figure's online samples and pairs are its online policy's generator's, one set each;
    # the control's diagnostics alone also rank the SFT's samples (the gate's rankers)
    for rule in ("control_sample_online", "control_label_online"):
        want[rule] = want["control_online_dpo"]
    assert job_counts(out) == {"data": 1, "base": 1, **want}
    sft = re.search(r"rule control_sft:\n(.*?)\n\n", out, re.S).group(1)
    control = f"{tmp_path}/r/{cfg['control']['results']}"
    assert f"input: {tmp_path}/r/models/toy-m/base, {control}/data/sft_train" in sft
    data = re.search(r"rule control_data:\n(.*?)\n\n", out, re.S).group(1)
    assert f"{control}/data/pft_train.jsonl" in data


def test_the_control_overlay_is_found_from_another_working_directory(tmp_path):
    """`snakemake -s <checkout>/Snakefile -d <elsewhere>`: config `control.overlay`
    (config/toy-paths-control.yaml) is read from the workflow's folder when the working
    directory has no such file."""
    cfg = dict(DEFAULT, results="r")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    fig5 = f"r/{cfg['control']['results']}/tables/fig5.oracle.csv"
    rc, out = smk("-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "-n", fig5,
                  "--configfile", str(tmp_path / "c.yaml"), cwd=tmp_path)  # fmt: skip
    assert rc == 0, out
    assert "control_sft" in job_counts(out)


def test_a_missing_control_overlay_is_one_line_naming_the_key(tmp_path):
    cfg = dict(DEFAULT, results=str(tmp_path / "r"), control={"overlay": "nope.yaml"})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    rc, out = smk("-n", "--configfile", str(tmp_path / "c.yaml"))
    assert rc != 0
    assert "config key control.overlay: cannot read nope.yaml" in out
    assert "Traceback" not in out


def test_each_sample_set_is_drawn_once(tmp_path):
    """Dry run of `all` on the default: every sampling job draws a distinct sample set
    (policy, prompt set, n, T), and the BoN sets are exactly one per (size, seed, generator):
    Figure 4 and Figure 10, every RM and every N share them."""
    cfg = dict(DEFAULT, results=str(tmp_path / "r"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    rc, out = smk("all", "-n", "--configfile", str(tmp_path / "c.yaml"))
    assert rc == 0, out
    bon_t = cfg["rm_study"]["bon"]["temperature"]
    bon_t = cfg["online"]["temperature"] if bon_t == "online" else bon_t
    what = {  # rule -> (prompt set, n, T), as rules/*.smk set them
        "sample_online": ("pft_train", cfg["online"]["n_samples"], cfg["online"]["temperature"]),
        "sample_eval": ("eval_prompts", 1, cfg["eval"]["temperature"]),
        "sample_bon": ("eval_prompts", max(cfg["rm_study"]["bon"]["n"]), bon_t),
    }
    keys = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", out):
        m = re.match(r"(?:local)?rule (\w+):\n", block)
        if m and m.group(1) in what:
            wc = dict(kv.split("=") for kv in re.search(r"wildcards: (.*)", block)[1].split(", "))
            policy = wc.get("gen", wc.get("policy"))
            keys.append((wc["size"], wc["seed"], policy, *what[m.group(1)]))
    assert len(keys) == len(set(keys)), "a sample set is drawn twice"
    counts = job_counts(out)
    # one per (size, seed, generator) whichever figures rank it: (1 size x 2 generators + 1
    # Figure 4-only size x SFT) x 3 seeds
    assert counts["sample_bon"] == plan.validated(cfg).job_counts()["sample_bon"] == 9
    assert sum(counts[r] for r in what) == len(keys)


@pytest.mark.parametrize(
    "target, jobs",
    [
        # SFT samples (shared) -> ROUGE-L pairs -> RM, DPO, DPO (2x) -> DPO samples -> online DPO;
        # SFT and the three policies sampled on the PFT val prompts and scored by ROUGE-L
        ("fig6.rouge", {"sample_online": 2, "variant_pairs": 1, "global_rm": 1, "offline_dpo": 2,
                        "label_online": 1, "online_dpo": 1, "sample_eval": 4, "score_rouge": 4}),
        # the default RM (no offline DPO); the SFT's samples on the PFT and the extra prompts
        ("fig7.oracle", {"extra_prompts": 1, "global_rm": 1, "sample_online": 2,
                         "label_online": 2, "online_dpo": 2, "sample_eval": 2, "judge": 2}),
        # SFT samples (shared) -> judged pairs -> RM, DPO -> online DPO on SFT's and DPO's samples
        ("fig8.oracle", {"sample_online": 2, "variant_pairs": 1, "global_rm": 1, "offline_dpo": 1,
                         "label_online": 2, "online_dpo": 2, "sample_eval": 3, "judge": 3}),
    ],
)  # fmt: skip
def test_each_figure_is_a_target_alone(tmp_path, target, jobs):
    """Naming one figure file builds it and only what it needs, on one seed (variant_seeds)."""
    cfg = dict(DEFAULT, results=str(tmp_path / "r"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    fig = str(tmp_path / "r" / "figures" / f"{target}.png")
    rc, out = smk("-n", fig, "--configfile", str(tmp_path / "c.yaml"))
    assert rc == 0, out
    shared = {"data": 1, "base": 1, "sft": 1, "table": 1, "figure": 1}
    assert job_counts(out) == {**shared, **jobs}


SMALL = copy.deepcopy(DEFAULT)
# --configfile replaces config.yaml: SMALL is a whole config (a copy of it), toy-xs its one model
SMALL.update(
    sizes=["toy-xs"],
    seeds=[0, 1],
    models={"toy-xs": {"arch": {"hidden_size": 32, "num_layers": 1, "num_heads": 2}}},
)
SMALL["task"]["n_eval_prompts"] = 24
SMALL["task"][TASK.options_key]["splits"] = dict(
    sft_train=160, sft_val=20, sft_test=40, pft_train=64, pft_val=20
)
SMALL["task"][TASK.options_key]["pretrain"] = 2000
SMALL["figures"] = ["fig3"]  # the variants' own end-to-end run: test_variants_end_to_end
SMALL["online"]["n_samples"] = 4
SMALL["rm_study"] = {"sizes": ["toy-xs"], "bon": {"n": [1, 2, 4], "temperature": "online"}}
SMALL["base"]["epochs"] = 1


@pytest.mark.slow
def test_reduced_run_end_to_end(tmp_path):
    from allroads.io import read_jsonl

    results = tmp_path / "results"
    # the first run starts every job in a fresh interpreter, the second (killed and resumed) forks
    # them from the warm server (allroads/warm.py): both give the same bytes (checked below)
    cfg = dict(SMALL, results=str(results), warm_jobs=False)
    conf = tmp_path / "small.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    rc, out = smk("--cores", "2", "--configfile", str(conf))
    assert rc == 0, out[-5000:]
    table = pd.read_csv(results / "tables/fig3.oracle.csv")
    assert list(table["policy"]) == ["sft", "dpo", "dpo2x", "online-sft", "online-dpo"]
    assert (table["n_seeds"] == 2).all() and (table["n_valid"] == 2 * 24).all()
    assert table["winrate"].between(0, 1).all() and table["true_reward"].notna().all()
    assert (results / "figures/fig3.oracle.png").stat().st_size > 1000
    # the diagnostics table: one value per (seed, metric); the comparison is step-matched
    diag = pd.read_csv(results / "tables/diagnostics.csv")
    m = {(r.seed, r.metric): r.value for r in diag.itertuples()}
    n_pft = SMALL["task"][TASK.options_key]["splits"]["pft_train"]
    for seed in (0, 1):
        assert m[seed, "steps_dpo"] == m[seed, "steps_online-sft"] == m[seed, "steps_online-dpo"]
        assert m[seed, "steps_dpo"] > 0 and m[seed, "steps_dpo2x"] == 2 * m[seed, "steps_dpo"]
        assert m[seed, "online_sft_pairs"] == m[seed, "online_dpo_pairs"] == n_pft  # ties kept
        for k in ("rm_acc_labels", "rm_acc_rstar", "dpo_implicit_acc", "online_sft_tie_share"):
            assert 0 <= m[seed, k] <= 1, k
        assert m[seed, "online_sft_bo25_rstar_oracle"] >= m[seed, "online_sft_bo25_rstar_rm"]
        # what the informative online pairs differ in: shares of one whole, and the RM's
        # agreement with r* is their share-weighted agreement per kind
        share = {k: m[seed, f"online_sft_differ_{k}"] for k in TASK.slips}
        assert sum(share.values()) == pytest.approx(1.0)
        assert m[seed, "online_sft_rm_rstar_agree"] == pytest.approx(
            sum(v * m[seed, f"online_sft_rm_rstar_agree_{k}"] for k, v in share.items() if v)
        )
        # the gate (allroads.gate): the global RM's scores label_online ranked the SFT's
        # samples by (its scores file: each prompt's first argmax/argmin are its pair), so the
        # same picks; offline DPO's implicit reward is the other ranker
        d = results / f"online/toy-xs/seed{seed}"
        drawn = {(r["prompt_id"], r["sample_idx"]): r for r in read_jsonl(d / "sft.samples.jsonl")}
        pairs, rows = read_jsonl(d / "sft.pairs.jsonl"), read_jsonl(d / "sft.scores.jsonl")
        assert [r["id"] for r in rows] == [p["id"] for p in pairs]
        for pair, row in zip(pairs, rows, strict=True):
            sc = row["scores"]
            assert len(sc) == SMALL["online"]["n_samples"]
            assert drawn[pair["id"], sc.index(max(sc))]["completion"] == pair["chosen"]
            assert drawn[pair["id"], sc.index(min(sc))]["completion"] == pair["rejected"]
        assert m[seed, "gate_rm_tie_share"] == m[seed, "online_sft_tie_share"]
        for k, online in (("rstar_agree", "rm_rstar_agree"), ("bok_rstar_pick", "bo25_rstar_rm"),
                          ("bok_rstar_oracle", "bo25_rstar_oracle")):  # fmt: skip
            want = pytest.approx(m[seed, f"online_sft_{online}"], nan_ok=True)
            assert m[seed, f"gate_rm_{k}"] == want, k
        for r in ("rm", "dpo"):
            assert 0 <= m[seed, f"gate_{r}_tie_share"] <= 1
            assert m[seed, f"gate_{r}_bok_rstar_oracle"] >= m[seed, f"gate_{r}_bok_rstar_pick"]
        assert m[seed, "gate_dpo_rstar_tie_share"] == m[seed, "gate_rm_rstar_tie_share"]
    md = (results / "tables/diagnostics.md").read_text()
    assert "| rm_acc_rstar |" in md and "| gate_dpo_bok_gain_share |" in md
    assert (results / "figures/fig3.oracle.pdf").read_bytes()[:4] == b"%PDF"
    for log in ["data.log", "sft/toy-xs.log", "judge/oracle-toy-xs-seed1-dpo.log"]:
        assert "done in" in (results / "logs" / log).read_text()
    # the RM study: Figure 9 (every RM kind on pft_val), Figure 10 (BoN against N), Figure 4
    fig9 = pd.read_csv(results / "tables/fig9.csv")
    assert list(fig9["rm"]) == ["global", "local", "dpo"] and (fig9["seeds"] == 2).all()
    assert (fig9["val_pairs"] == 20).all() and (fig9["loglik"] < 0).all()
    assert fig9[["acc_labels", "acc_rstar"]].stack().between(0, 1).all()
    for seed in (0, 1):  # the local RM's learning is in the diagnostics table
        assert 0 <= m[seed, "val_local_rm_acc_labels"] <= 1
        # one RM interface: Figure 9's global and DPO RMs are the diagnostics' own numbers
        assert m[seed, "val_global_rm_acc_labels"] == pytest.approx(m[seed, "rm_acc_labels"])
        assert m[seed, "val_dpo_rm_acc_labels"] == pytest.approx(m[seed, "dpo_implicit_acc"])
    fig10 = pd.read_csv(results / "tables/fig10.oracle.csv")
    assert len(fig10) == 2 * 3 * 3 and (fig10["n_valid"] == 2 * 24).all()  # gens x RMs x Ns
    one = fig10[fig10["n"] == 1].groupby("generator")["winrate"]
    assert (one.nunique() == 1).all()  # Best-of-1 is the first sample, whichever RM
    fig4 = pd.read_csv(results / "tables/fig4.oracle.csv")
    assert list(fig4[["size", "rm_size", "n"]].itertuples(index=False, name=None)) == [
        ("toy-xs", "toy-xs", 4)
    ]
    for fig in ("fig9", "fig10.oracle", "fig4.oracle"):
        assert (results / f"figures/{fig}.pdf").read_bytes()[:4] == b"%PDF"
        assert (results / f"figures/{fig}.png").stat().st_size > 1000

    # nothing left to do on a second run
    rc, out = smk("-n", "--configfile", str(conf))
    assert rc == 0 and "Nothing to be done" in out, out[-2000:]

    # a DPO hyperparameter change reruns only what depends on DPO
    cfg2 = copy.deepcopy(cfg)
    cfg2["train"]["dpo"]["beta"] = 0.2
    conf2 = tmp_path / "small2.yaml"
    conf2.write_text(yaml.safe_dump(cfg2))
    rc, out = smk("-n", "--configfile", str(conf2))
    counts = job_counts(out)
    assert "sft" not in counts and "global_rm" not in counts and "base" not in counts
    assert counts["offline_dpo"] == 4 and counts["online_dpo"] == 4
    assert counts["sample_online"] == 2  # only the DPO generator's samples (sft's are unchanged)

    # a second run from scratch in another folder, killed (SIGKILL, the whole process group) in
    # the middle of a training job and resumed with --rerun-incomplete: it completes, and the
    # same seed gives byte-identical data, samples and tables
    results2 = tmp_path / "results2"
    conf3 = tmp_path / "small3.yaml"
    conf3.write_text(yaml.safe_dump(dict(cfg, results=str(results2), warm_jobs=True)))
    killed_in = kill_during_training(conf3, results2)
    assert not (results2 / killed_in).exists(), (
        "a killed training job left a complete-looking output"
    )
    rc, out = smk("--unlock", "--configfile", str(conf3))
    assert rc == 0, out[-2000:]
    rc, out = smk("--cores", "2", "--rerun-incomplete", "--configfile", str(conf3))
    assert rc == 0, out[-3000:]
    for rel in ["tables/fig3.oracle.csv", "tables/fig3.oracle.per_seed.csv",
                "eval/toy-xs/seed1/online-dpo.samples.jsonl", "online/toy-xs/seed0/dpo.pairs.jsonl",
                "data/pft_train.jsonl", "data/eval_prompts.jsonl"]:  # fmt: skip
        assert (results2 / rel).read_bytes() == (results / rel).read_bytes(), rel
    warm = {run: [p.read_text().splitlines()[0].endswith(WARM_NOTE)
                   for p in (r / "logs/sample_eval").glob("*.log")]
            for run, r in (("cold", results), ("warm", results2))}  # fmt: skip
    assert warm["warm"] and all(warm["warm"]) and not any(warm["cold"]), warm

    # naming one figure file rebuilds only what it needs
    (results / "figures/fig3.oracle.png").unlink()
    # (the target goes before --configfile, which takes every path after it)
    rc, out = smk("-n", str(results / "figures/fig3.oracle.png"), "--configfile", str(conf))
    assert job_counts(out) == {"figure": 1}


@pytest.mark.slow
def test_variants_end_to_end(tmp_path):
    """Figures 6-8 on the reduced config, one seed: every figure's table, figure and the HTML
    report; the variants' data is what Appendix C.1 says (ROUGE-L pairs from the SFT's shared
    samples, two judged SFT samples per prompt, ~3x the prompts for prompt augmentation)."""
    from allroads.diagnostics import optimizer_steps
    from allroads.io import read_json, read_jsonl

    results = tmp_path / "results"
    cfg = copy.deepcopy(dict(SMALL, results=str(results), seeds=[0], variant_seeds=[0]))
    cfg["figures"] = ["fig3", "fig6", "fig7", "fig8"]
    n_pft = cfg["task"][TASK.options_key]["splits"]["pft_train"]
    cfg["variants"]["augment"]["extra_prompts"] = 2 * n_pft
    conf = tmp_path / "v.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    rc, out = smk("--cores", "2", "--configfile", str(conf))
    assert rc == 0, out[-5000:]
    fig6 = pd.read_csv(results / "tables/fig6.rouge.csv")
    assert list(fig6["policy"]) == ["rouge.sft", "rouge.dpo", "rouge.dpo2x", "rouge.online-dpo"]
    assert fig6["rouge_l"].between(0, 1).all() and (fig6["n_valid"] == 20).all()  # pft_val
    for fig in ("fig7", "fig8"):
        t = pd.read_csv(results / f"tables/{fig}.oracle.csv")
        assert (t["n_valid"] == cfg["task"]["n_eval_prompts"]).all(), fig
        assert (results / f"figures/{fig}.oracle.png").stat().st_size > 1000
    d = results / "online/toy-xs/seed0"
    # the ROUGE-L pairs rank the SFT's default samples: their chosen is the best of them
    sft = read_jsonl(d / "sft.samples.jsonl")
    rouge = read_jsonl(results / "pairs/toy-xs/seed0/rouge.jsonl")
    assert len(rouge) == n_pft and all(r["score_chosen"] >= r["score_rejected"] for r in rouge)
    texts = {(s["prompt_id"], s["completion"]) for s in sft}
    assert all((r["id"], r["chosen"]) in texts and (r["id"], r["rejected"]) in texts for r in rouge)
    judged = read_json(results / "pairs/toy-xs/seed0/judged.stats.json")
    assert judged["pairs"] == n_pft and judged["judged"] + judged["tied"] == n_pft
    diag = pd.read_csv(results / "tables/diagnostics.variants.csv")
    v = {r.metric: r.value for r in diag.itertuples()}
    assert 0 <= v["online_rouge.dpo_rm_rouge_agree"] <= 1 and v["pairs_judged_tie_share"] <= 1
    assert v["steps_judged.online-sft"] == v["steps_judged.dpo"] > 0  # one pair per prompt
    # the variants' own RMs and offline DPO on the held-out pairs, as the default chain's
    held_out = [f"{x}.global_rm_acc_{y}" for x in ("rouge", "judged") for y in ("labels", "rstar")]
    held_out += [f"{x}_implicit_acc" for x in ("rouge.dpo", "rouge.dpo2x", "judged.dpo")]
    assert all(0 <= v[k] <= 1 for k in held_out), {k: v.get(k) for k in held_out}
    # prompt augmentation: 3x the pairs, 3x the steps of plain online DPO
    aug = read_jsonl(d / "augment.sft.pairs.jsonl")
    assert len(aug) == 3 * n_pft == 3 * len(read_jsonl(d / "sft.pairs.jsonl"))
    m = results / "models/toy-xs/seed0"
    assert optimizer_steps(m / "augment.online-sft") >= 3 * optimizer_steps(m / "online-sft") - 2
    # the variants reuse the default checkpoints where theirs would be the same
    assert not (m / "augment.dpo").exists() and not (m / "judged.dpo2x").exists()
    assert not (m / "augment.sft").exists()
    assert not (d / "augment.dpo.samples.jsonl").exists()  # Figure 7 augments Online DPO (SFT)

    rc, out = smk("--report", str(tmp_path / "report.html"), "--configfile", str(conf))
    assert rc == 0, out[-3000:]
    html = (tmp_path / "report.html").read_text()
    for needle in ("Figure 6: ROUGE-L F1 as the reward", "Figure 7", "Figure 8", "Figure 3",
                   "The paper predicts", "This run: on toy-xs (1 seed), Online DPO (DPO)",
                   "fig6.rouge.html", "ROUGE-L F1 points"):  # fmt: skip
        assert needle in html, needle
    # the landing page lists the figures in the order of their numbers
    found = html[html.index("What this run found") :]
    assert found.index("Figure  3:") < found.index("Figure  6:") < found.index("Figure  8:")


def test_the_local_rm_ranker_reads_the_local_rm(tmp_path):
    """`online.ranker: local_rm`: online pairs are ranked by the (size, seed)'s local RM."""
    cfg = dict(DEFAULT, results=str(tmp_path / "r"), figures=["fig3"])
    cfg["online"] = dict(cfg["online"], ranker="local_rm")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    pairs = tmp_path / "r" / "online" / "toy-m" / "seed0" / "sft.pairs.jsonl"
    rc, out = smk("-n", str(pairs), "--configfile", str(tmp_path / "c.yaml"))
    assert rc == 0, out
    block = re.search(r"rule label_online:\n(.*?)\n\n", out, re.S).group(1)
    assert f"{tmp_path}/r/models/toy-m/seed0/local_rm" in block
    assert "global_rm" not in block and "local_rm" in job_counts(out)
