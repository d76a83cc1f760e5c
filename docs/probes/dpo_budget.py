"""Lab probe (2026-12-05, not a pre-registered claim; docs/paths-task.md): is DPO's implicit
reward a weak ranker of the SFT's own samples only because it trains 1 epoch where the global
RM trains 8? Trains offline DPO for E epochs (the recipe otherwise unchanged) and prints its
held-out implicit accuracy and the gate's DPO-ranker metrics on the SFT's online samples, seed 0.

Run from a checkout whose ``results/`` holds a finished default run (with its control):
    PYTHONPATH=. python docs/probes/dpo_budget.py main|control EPOCHS
(EPOCHS 1 reads the run's own offline DPO; others train one into /tmp/probe/.)
"""

import os
import subprocess
import sys

import yaml

from allroads import diagnostics as d
from allroads.config import merge_overlay, stage_defaults, validate
from allroads.gate import gate_metrics
from allroads.io import read_jsonl
from allroads.launch import spec_json
from allroads.models import load_tokenizer
from allroads.pairs import append_eos
from allroads.reward_models import from_dirs
from allroads.sampling import encode_prompt
from allroads.tasks import get_task

which, epochs = sys.argv[1], int(sys.argv[2])
cfg = yaml.safe_load(open("config.yaml"))
R = "results"
if which == "control":
    merge_overlay(cfg, yaml.safe_load(open("config/toy-paths-control.yaml")))
    R = "results/first-hop"
cfg["control"] = None
validate(cfg)
sft, rm = f"{R}/models/toy-m/sft", f"{R}/models/toy-m/seed0/global_rm"
out = f"{R}/models/toy-m/seed0/dpo" if epochs == 1 else f"/tmp/probe/{which}-dpo{epochs}"
if not os.path.exists(out):  # the rule offline_dpo's spec (snakemake -n -p), epochs changed
    hp = {**stage_defaults("dpo"), **cfg["train"]["dpo"], "epochs": epochs}
    spec = spec_json(stage="dpo", init=sft, ref=sft, train=f"{R}/data/pft_train.jsonl", out=out,
                     seed=0, precision=cfg["precision"], nprocs=1, ref_temperature=1.0,
                     policy_temperature=1.0, hp=hp)  # fmt: skip
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".log", "w") as log:
        subprocess.run([sys.executable, "-m", "allroads.training", spec], check=True,
                       stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS="1"))  # fmt: skip
task = get_task(cfg["task"])
held = d.HeldOut.from_rows(read_jsonl(f"{R}/data/pft_val.jsonl"), task.reward)
m = d.held_out_metrics(
    held, rms={"rm": rm}, policies={"dpo": out}, sft=sft, precision=cfg["precision"]
)
train = read_jsonl(f"{R}/data/pft_train.jsonl")
tok = load_tokenizer(sft)
samples = read_jsonl(f"{R}/online/toy-m/seed0/sft.samples.jsonl")
if cfg["online"]["append_eos"]:
    samples = append_eos(samples, tok.eos_token_id)
m.update(
    gate_metrics(
        samples,
        {r["id"]: encode_prompt(tok, r["prompt"]) for r in train},
        {r["id"]: r["post"] for r in train},
        task.reward,
        {"dpo": lambda: from_dirs("dpo", [out, sft], beta=cfg["train"]["dpo"]["beta"])},
        cfg["online"]["truncated_score"],
    )
)
keys = ("rm_acc_labels", "dpo_implicit_acc", "gate_dpo_rstar_agree", "gate_dpo_bok_gain_share")
print(which, "epochs", epochs, {k: round(m[k], 3) for k in keys})
