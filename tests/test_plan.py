"""The plan (allroads.plan), the figure registry (allroads.figures) and the policy-name parser
(allroads.variants.parse): one home each, and a new figure is one registry entry."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import configs
import pytest
import yaml

from allroads import figures, plan, variants
from allroads.plan.__main__ import main as plan_cli

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
SCHEMA = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())

# a figure that is not in the paper: SFT against DPO, one registry entry and nothing else
EXAMPLE = {
    "title": "Example: does DPO beat its SFT start?",
    "kind": "winrate",
    "policies": ["sft", "dpo"],
    "comparisons": [["dpo", "sft"]],
    "labels": {"sft": "SFT", "dpo": "DPO"},
    "needs": [],
    "seeds": "seeds",
    "caption": "Winrate of SFT and offline DPO against the reference.",
}


def dry_run(tmp_path: Path, cfg: dict, *args: str, pythonpath: str = "") -> str:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    env_path = ":".join(p for p in (pythonpath, str(ROOT)) if p)
    p = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(tmp_path / "c.yaml"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PYTHONPATH": env_path},
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout + p.stderr


def job_counts(out: str) -> dict[str, int]:
    table = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_a_new_figure_is_one_registry_entry(tmp_path, monkeypatch):
    """Adding an entry (here in the test, through sitecustomize in Snakemake's process; not in
    `all` of any shipped config) gives the figure its table, plot and evaluations: the plan
    lists its targets and Snakemake builds them with the generic rules, with no other change."""
    monkeypatch.setitem(figures.FIGURES, "figX", EXAMPLE)
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        f"from allroads import figures\nfigures.FIGURES['figX'] = {EXAMPLE!r}\n"
    )
    cfg = copy.deepcopy(DEFAULT)
    cfg.update(results=str(tmp_path / "r"), figures=["figX"], control=None)
    cfg["rm_study"]["figures"] = []
    p = plan.validated(cfg)
    table = f"{tmp_path}/r/tables/figX.oracle.csv"
    assert table in p.targets() and f"{tmp_path}/r/figures/figX.oracle.png" in p.targets()
    out = dry_run(tmp_path, cfg, "-p", pythonpath=str(shim))
    assert job_counts(out) == p.job_counts()
    assert {"table", "figure", "judge", "offline_dpo"} <= set(p.job_counts())
    block = re.search(r"rule table:\n(.*?)\n\n", out, re.S).group(1)
    assert f"output: {table}" in block and "wildcards: fig=figX, metric=oracle" in block


@pytest.mark.parametrize(
    "config",
    [
        "first-hop",  # the default's control run alone
        "two-word",  # the facts task's control run alone
        "facts",  # the facts task (config/toy-facts.yaml) with its two-word control
        "small",  # one size, two seeds, Figure 3 and the RM study on that size
        "fig9 by figures",  # an RM-study figure named in `figures`: one registry, either list
    ],
)
def test_the_plan_counts_the_jobs_snakemake_runs(tmp_path, config):
    """Plan and dry run agree rule by rule (the default and paper configs: test_workflow.py
    and test_paper_dag.py)."""
    if config == "small":
        cfg = copy.deepcopy(DEFAULT)
        cfg.update(sizes=["toy-m"], seeds=[0, 1], figures=["fig3"], control=None)
        cfg["rm_study"] = {"sizes": ["toy-m"], "bon": {"n": [1, 2, 4]}}
    elif config == "fig9 by figures":
        cfg = copy.deepcopy(DEFAULT)
        cfg.update(sizes=["toy-m"], seeds=[0, 1], figures=["fig3", "fig9"], control=None)
        cfg["rm_study"]["figures"] = []
    elif config == "first-hop":
        cfg = configs.load(configs.PATHS_CONTROL)
    elif config == "facts":
        cfg = configs.load(configs.FACTS)
    else:
        cfg = configs.load(configs.FACTS, configs.FACTS_CONTROL)
    cfg["results"] = str(tmp_path / "r")
    assert job_counts(dry_run(tmp_path, cfg)) == plan.validated(cfg).job_counts()


def test_policy_names_have_one_parser():
    n = variants.parse("judged.online-dpo")
    assert (n.variant, n.base, n.online, n.generator) == (
        "judged",
        "online-dpo",
        True,
        "judged.dpo",
    )
    assert str(n) == "judged.online-dpo" and n.sibling("global_rm") == "judged.global_rm"
    assert variants.parse("dpo2x") == (None, "dpo2x") and not variants.parse("sft").online
    with pytest.raises(ValueError, match="not an online policy"):
        _ = variants.parse("rouge.dpo").generator
    # the schema's policy names are the parser's
    assert SCHEMA["$defs"]["chain_policy"]["enum"] == list(variants.POLICIES)
    pattern = re.compile(variants.pattern(variants.POLICIES, ["rouge"]))
    assert pattern.fullmatch("rouge.online-dpo2x") and not pattern.fullmatch("augment.dpo")


def test_every_figure_has_a_kind_title_and_caption():
    for fig, e in figures.FIGURES.items():
        assert e["kind"] in figures.KINDS, fig
        assert e["title"].startswith("Figure ") and e["caption"], fig


def test_the_cli_prints_the_jobs_and_the_judge_bill(capsys):
    assert plan_cli(["--configfile", str(ROOT / "config" / "paper.yaml")]) == 0
    out = capsys.readouterr().out
    assert "jobs per rule (361 in all):" in out  # tests/test_paper_dag.py: the dry run's
    assert re.search(r"openai judge jobs per role \(evaluation: \d+", out)
    assert "fig4 [bon]" in out and "fig9 [rm_fit]" in out


def test_a_policys_evaluation_samples_have_one_path():
    """One plan method (Plan.eval_file) names a policy's evaluation samples for rule
    sample_eval's pattern, the inventory, rule diagnose's inputs and the gap figure: the files
    the gap figure and the diagnostics read are files the run builds (this run's and its
    control run's)."""
    from types import SimpleNamespace

    from allroads import gap

    p = plan.validated(dict(DEFAULT, results="r"))
    control = plan.Plan(p.control_config(str(ROOT), "config"), in_module=True)
    built = p.inventory()
    read = {f for r in gap.runs(p, control) for *_, f in r["files"]}
    assert {f.rsplit("/eval/", 1)[0] for f in read} == {p.R, control.R}  # both runs'
    assert read <= built["sample_eval"] | built["control_sample_eval"]
    wc = SimpleNamespace(size="toy-m", seed=1)
    assert set(p.eval_sample_files(wc)) <= built["sample_eval"]
    pattern = p.eval_file()  # the rule's: wildcards {size}, {seed}, {policy}
    assert pattern.format(size="toy-m", seed=1, policy="dpo") in p.eval_sample_files(wc)
