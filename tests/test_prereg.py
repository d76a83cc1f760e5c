"""The pre-registered criteria (allroads.prereg; rule table_prereg): each row met, not met or
n/a, as the pre-registration reads, on diagnostics whose answer is known; thresholds from the
config's ``prereg`` block (the schema's defaults)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from allroads import plan, prereg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
T = plan.validated(DEFAULT).config["prereg"]  # the schema's defaults, filled in

POLICIES = ("sft", "dpo", "dpo2x", "online-sft", "online-dpo")


def seed_diag(gate: dict | None = None, rstar: dict | None = None) -> dict:
    """One (size, seed)'s diagnostics: a gate that passes every criterion with room (from the
    config's own thresholds) and r* per policy (default: all 0.5)."""
    out = {
        "gate_rm_tie_share": T["tie_share_max"] - 0.1,
        "gate_rm_rstar_agree": T["rm_agree_min"] + 0.1,
        "gate_rm_bok_gain_share": T["rm_bok_share_min"] + 0.1,
        "gate_dpo_rstar_agree": T["rm_agree_min"] - 0.1,
        "gate_dpo_bok_gain_share": T["rm_bok_share_min"] - 0.3,
        **{f"eval_rstar_{p}": 0.5 for p in POLICIES},
    }
    out.update(gate or {})
    out.update({f"eval_rstar_{p}": v for p, v in (rstar or {}).items()})
    return out


def run(seeds: list[dict]) -> dict:
    return {"toy-m": dict(enumerate(seeds))}


def find(rows: list[dict], name: str, seed="mean") -> dict:
    (row,) = [r for r in rows if r["criterion"].endswith(name) and r["seed"] == seed]
    return row


def test_a_passing_gate_and_effect_is_met_per_seed_and_on_the_mean():
    # online DPO (SFT) gains 0.10-0.12 over DPO and SFT: ~30 SE; online DPO (DPO) over DPO (2x)
    gains = [0.10, 0.12, 0.11]
    main = run([seed_diag(rstar={"online-sft": 0.5 + g, "online-dpo": 0.55}) for g in gains])
    # the control: the RM no better than DPO's implicit reward, online == offline
    control = run([seed_diag({"gate_dpo_rstar_agree": T["rm_agree_min"] + 0.1})] * 3)
    rows = prereg.evaluate(main, control, T)
    assert {r["criterion"] for r in rows} == {c.name for c in prereg.CRITERIA}
    assert all(r["status"] == prereg.MET for r in rows), prereg.to_markdown(rows)
    # the gate's own criteria per seed and on the mean; the SE tests on the mean only
    assert len(rows) == 5 * 4 + 5
    one = find(rows, "1. online DPO (SFT) − DPO, r*")
    assert one["mean"] == pytest.approx(0.11) and one["n"] == 3
    assert one["se"] == pytest.approx(pd.Series(gains).std() / 3**0.5)
    assert "0.110 ± 0.006 (3 seeds)" in one["value"]


def test_a_failing_gate_and_no_effect_are_not_met():
    main = run(
        [
            seed_diag({"gate_rm_tie_share": T["tie_share_max"] + 0.1}, {"online-sft": 0.6}),
            seed_diag({"gate_rm_rstar_agree": T["rm_agree_min"] - 0.2}, {"online-sft": 0.45}),
            seed_diag({"gate_dpo_bok_gain_share": 0.9}, {"online-sft": 0.52, "online-dpo": 0.4}),
        ]
    )
    # the control: the RM beats DPO's implicit reward by 0.2 on every seed; online > offline
    control = run([seed_diag(rstar={"online-dpo": 0.5 + g}) for g in (0.05, 0.06, 0.07)])
    rows = prereg.evaluate(main, control, T)
    status = {(r["criterion"], r["seed"]): r["status"] for r in rows}
    assert status["tie share", 0] == prereg.NOT_MET and status["tie share", 1] == prereg.MET
    assert status["RM agreement with r*", 1] == prereg.NOT_MET
    assert status["mechanism: RM best-of-K share − DPO's", 2] == prereg.NOT_MET
    # a mean over seeds can pass where one seed fails: both are shown
    assert status["tie share", "mean"] == prereg.MET
    # online DPO (SFT) − DPO: +0.1, −0.05, +0.02: above 0 but within 2 SE
    one = find(rows, "1. online DPO (SFT) − DPO, r*")
    assert one["mean"] > 0 and one["status"] == prereg.NOT_MET
    assert find(rows, "3. online DPO (DPO) − DPO (2x), r*")["status"] == prereg.NOT_MET
    assert find(rows, "control: RM agreement − DPO's")["status"] == prereg.NOT_MET
    assert find(rows, "4. control: online DPO (DPO) − DPO, r*")["status"] == prereg.NOT_MET


def test_the_threshold_is_the_configs():
    """A value just past the config's threshold flips the row; another config moves it."""
    at = T["rm_agree_min"]
    rows = prereg.evaluate(run([seed_diag({"gate_rm_rstar_agree": at - 0.01})]), None, T)
    assert find(rows, "RM agreement with r*", 0)["status"] == prereg.NOT_MET
    assert find(rows, "RM agreement with r*", 0)["threshold"] == f"≥ {at:g}"
    cfg = copy.deepcopy(DEFAULT)
    cfg["prereg"] = {"rm_agree_min": at - 0.02}
    looser = plan.validated(cfg).config["prereg"]
    assert looser["tie_share_max"] == T["tie_share_max"]  # the others: the schema's defaults
    rows = prereg.evaluate(run([seed_diag({"gate_rm_rstar_agree": at - 0.01})]), None, looser)
    assert find(rows, "RM agreement with r*", 0)["status"] == prereg.MET


def test_missing_inputs_are_na_with_the_reason():
    # one seed, no control, a task without r* (no eval_rstar_*, no gate)
    rows = prereg.evaluate(run([seed_diag(rstar={"online-dpo": 0.55})]), None, T)
    control = find(rows, "4. control: online DPO (DPO) − DPO, r*")
    assert control["status"] == prereg.NA and "no control run" in control["note"]
    one = find(rows, "2. online DPO (SFT) − SFT, r*")
    assert one["status"] == prereg.NA and "one seed" in one["note"] and one["n"] == 1
    # a test without SE still judges one seed's value
    assert find(rows, "3. online DPO (DPO) − DPO (2x), r*")["status"] == prereg.MET
    bare = {"toy-m": {0: {"rm_acc_labels": 0.7}, 1: {"rm_acc_labels": 0.8}}}
    rows = prereg.evaluate(bare, {"toy-s": bare["toy-m"]}, T)
    assert {r["status"] for r in rows} == {prereg.NA}
    assert (
        "no eval_rstar_online-sft − eval_rstar_dpo"
        in find(rows, "1. online DPO (SFT) − DPO, r*")["note"]
    )
    assert "no size toy-m" in find(rows, "control: RM agreement − DPO's")["note"]
    # a NaN share (no headroom on that seed) is left out of the mean, and said so
    nan = run([seed_diag({"gate_rm_bok_gain_share": float("nan")}), seed_diag(), seed_diag()])
    rows = prereg.evaluate(nan, None, T)
    share = find(rows, "RM best-of-K share of the oracle's gain")
    assert share["n"] == 2 and "left out: seeds [0]" in share["note"]
    assert find(rows, "RM best-of-K share of the oracle's gain", 0)["status"] == prereg.NA


def test_the_rule_writes_the_table_from_the_diagnostics_files(tmp_path):
    """Rule table_prereg, run by Snakemake on diagnostics files of this run and of the
    control (the rules that make them not run): csv, markdown and the report's page."""
    cfg = dict(DEFAULT, results=str(tmp_path / "r"))
    cfg["control"] = dict(cfg["control"], seeds=[0])  # one seed: its SE tests are n/a
    p = plan.validated(cfg)
    assert p.prereg and f"{p.R}/tables/prereg.md" in p.targets()
    gains = [0.10, 0.12, 0.11]
    for i, path in enumerate(p.prereg_inputs["main"]):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(seed_diag(rstar={"online-sft": 0.5 + gains[i]})))
    for path in p.prereg_inputs["control"]:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(seed_diag({"gate_dpo_rstar_agree": 0.9})))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    target = f"{p.R}/tables/prereg.md"
    cmd = [sys.executable, "-m", "snakemake", target, "--cores", "1", "--allowed-rules"]
    cmd += ["table_prereg", "--configfile", str(tmp_path / "c.yaml")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = pd.read_csv(f"{p.R}/tables/prereg.csv", keep_default_na=False)  # "n/a"
    assert list(table.columns) == prereg.COLUMNS
    one = table[table.criterion == "1. online DPO (SFT) − DPO, r*"].iloc[0]
    assert one.status == prereg.MET and one.n == len(p.seeds)
    # a control of one seed: its SE tests are n/a, said so
    four = table[table.criterion == "4. control: online DPO (DPO) − DPO, r*"].iloc[0]
    assert four.status == prereg.NA and "one seed" in four.note
    assert "| outcome | 1. online DPO (SFT) − DPO, r* |" in Path(target).read_text()
    assert "met" in Path(f"{p.R}/tables/prereg.html").read_text()
